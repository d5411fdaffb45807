"""A relay killed (SIGKILL) in the middle of a dispatch, then a new one: every email exactly once.

The nasty moment is after SendGrid accepted a request and before the relay recorded it. The stub
answers that request late, the test kills the relay inside that window, and SendGrid's signed
"processed" events (posted by the stub to the app's webhook) settle those rows, so the next relay
does not send them again.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.conftest import ROOT
from tests.factories import make_survey
from tests.support.sendgrid_stub import EventSigner
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.mail.models import Message
from vocloop.surveys import service as surveys

CONTACTS = 2500


@pytest.fixture
def webhook_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/webhooks/sendgrid/events"
    server.shutdown()


def relay_process(settings, signer, log_path):
    env = {**os.environ, **{key: str(value) for key, value in settings.items()},
           "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key, "MAIL_LEASE_SECONDS": "2", "MAIL_SETTLE_SECONDS": "4"}
    env.pop("REDIS_URL", None)  # this process relays by itself
    with open(log_path, "a") as log:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "vocloop", "relay-mail"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def test_a_killed_relay_and_its_successor_send_every_invitation_exactly_once(
        app, settings, sendgrid, webhook_server, tmp_path):
    signer = EventSigner()
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key
    sendgrid.signer, sendgrid.event_url, sendgrid.respond_delay = signer, webhook_server, 3.0
    db.session.execute(Contact.__table__.insert(), [
        {"email": f"c{i}@bulk.example", "name": "", "attributes": {}, "created_at": utcnow()} for i in range(CONTACTS)])
    db.session.commit()
    surveys.send_invitations(make_survey(), list(db.session.scalars(select(Contact.id))))

    first = relay_process(settings, signer, tmp_path / "relay.log")
    deadline = time.monotonic() + 60
    while not sendgrid.requests:  # the first batch is accepted; its answer is 3 s away
        assert time.monotonic() < deadline and first.poll() is None, (tmp_path / "relay.log").read_text()
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    sendgrid.respond_delay = 0

    second = relay_process(settings, signer, tmp_path / "relay.log")
    assert second.wait(timeout=120) == 0, (tmp_path / "relay.log").read_text()
    # The rows the first relay was sending wait out lease and settle time; events already proved them sent.
    while True:
        db.session.rollback()
        left = db.session.scalar(select(func.count()).select_from(Message).where(Message.status != "sent"))
        if left == 0 or time.monotonic() - killed_at > 60:
            break
        subprocess.run([sys.executable, "-m", "flask", "--app", "vocloop", "relay-mail"], cwd=ROOT, check=True,
                       env={**os.environ, **{k: str(v) for k, v in settings.items() if k != "REDIS_URL"},
                            "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key, "MAIL_LEASE_SECONDS": "2",
                            "MAIL_SETTLE_SECONDS": "4"}, capture_output=True)
        time.sleep(1)
    recovered_in = time.monotonic() - killed_at
    received = Counter(email.to for email in sendgrid.emails())
    assert len(received) == CONTACTS and set(received.values()) == {1}, received.most_common(3)
    assert left == 0
    assert all(len(request["personalizations"]) <= 1000 for request in sendgrid.requests)
    print(f"recovered in {recovered_in:.1f}s after the kill; {len(sendgrid.requests)} requests")
