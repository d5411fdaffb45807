"""Dispatch figure: 100,000 survey invitations to a local SendGrid-compatible server.

Times the whole dispatch as production does it: writing the invitations and their outbox rows
(eligibility checks, tokens, one rendering plus per-recipient substitutions), then relaying them
in requests of up to 1,000 personalizations through the real sendgrid client. It also measures
the local server's own bare accept rate (the same requests sent with no database work), so the
ratio shows how much of the time is ours.

    python benchmarks/dispatch.py [--contacts 100000] [--database-url URL]

Default database: PostgreSQL `vocloop_bench` on 127.0.0.1 (created and reset here). The last line
printed is one JSON object of the figures. Goal: dispatch_seconds under 60 on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_stub() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.support.sendgrid_stub"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def stub_stats(url: str) -> dict:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
    connection.request("GET", "/_stats")
    return json.loads(connection.getresponse().read())


def bare_accept_rate(url: str, requests: int = 20, per_request: int = 1000) -> float:
    """Recipients per second the local server accepts when we do nothing else."""
    body = json.dumps({
        "from": {"email": "feedback@example.com"}, "subject": "s",
        "content": [{"type": "text/plain", "value": "x" * 800}, {"type": "text/html", "value": "<p>x</p>" * 300}],
        "personalizations": [{"to": [{"email": f"bare{i}@bench.example"}],
                              "substitutions": {"-vl_token-": "t" * 32, "-vl_greeting_html-": "Hi,"},
                              "custom_args": {"vocloop_message_id": str(i)}} for i in range(per_request)],
    }).encode()
    parsed = urlparse(url)
    started = time.perf_counter()
    for _ in range(requests):
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
        connection.request("POST", "/v3/mail/send", body, {"Authorization": "Bearer SG.test-key",
                                                            "Content-Type": "application/json"})
        assert connection.getresponse().status == 202
        connection.close()
    return requests * per_request / (time.perf_counter() - started)


def reset_database(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        parsed = urlparse(url)
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {parsed.path.lstrip('/')} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {parsed.path.lstrip('/')}")
    elif url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get(
        "VOCLOOP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vocloop_bench"))
    args = parser.parse_args()

    stub, stub_url = start_stub()
    try:
        bare = bare_accept_rate(stub_url)
        reset_database(args.database_url)
        from flask_migrate import upgrade
        from sqlalchemy import func, select

        from vocloop import create_app
        from vocloop.contacts.models import Contact
        from vocloop.db import utcnow
        from vocloop.extensions import db
        from vocloop.jobs.tasks import deliver_messages
        from vocloop.mail import outbox
        from vocloop.mail.models import Message
        from vocloop.surveys import service as surveys

        app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": args.database_url, "REDIS_URL": None,
                          "SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_HOST": stub_url,
                          "VOCLOOP_BASE_URL": "https://feedback.example.com"})
        with app.app_context():
            upgrade()
            db.session.execute(Contact.__table__.insert(), [
                {"email": f"customer{i}@bench.example", "name": f"Customer {i}", "attributes": {},
                 "created_at": utcnow()} for i in range(args.contacts)])
            db.session.commit()
            contact_ids = list(db.session.scalars(select(Contact.id)))
            survey = surveys.create_survey(name="Benchmark NPS", kind="nps", company="Acme")
            before = stub_stats(stub_url)

            started = time.perf_counter()
            outcome = surveys.send_invitations(survey, contact_ids)
            message_ids = outbox.take_queued_ids()
            written = time.perf_counter()
            for start in range(0, len(message_ids), app.config["MAIL_BATCH_SIZE"]):
                deliver_messages(message_ids[start:start + app.config["MAIL_BATCH_SIZE"]])
            finished = time.perf_counter()

            after = stub_stats(stub_url)
            sent = db.session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent"))
        recipients = after["recipients"] - before["recipients"]
        figures = {
            "contacts": args.contacts,
            "database": args.database_url.split(":")[0],
            "invitations": len(outcome.invitations),
            "write_seconds": round(written - started, 2),
            "relay_seconds": round(finished - written, 2),
            "dispatch_seconds": round(finished - started, 2),
            "requests": after["requests"] - before["requests"],
            "recipients_accepted": recipients,
            "rows_sent": sent,
            "recipients_per_s": round(recipients / (finished - started)),
            "relay_recipients_per_s": round(recipients / (finished - written)),
            "bare_server_recipients_per_s": round(bare),
            "ratio_to_bare_server": round(recipients / (finished - started) / bare, 3),
        }
    finally:
        stub.terminate()
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
