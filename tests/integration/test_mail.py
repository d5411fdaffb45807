"""The outbox relay against a SendGrid-compatible server: exactly once, retries, clear failures."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import empty_tables
from tests.factories import PASSWORD, login, make_contact, make_survey, make_user
from vocloop import create_app
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.jobs.tasks import deliver_message, sweep
from vocloop.mail import outbox
from vocloop.mail.models import Message
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation


def queued_survey(email="ann@customer.example"):
    contact = make_contact(email, name="Ann")
    outcome = surveys.send_invitations(make_survey(), [contact.id])
    return outcome.message_ids[0]


def reload(message_id):
    db.session.rollback()
    return db.session.get(Message, message_id)


def test_a_survey_email_is_sent_once_even_when_delivery_runs_twice(app, sendgrid):
    message_id = queued_survey()
    assert deliver_message(message_id) == "sent"
    assert deliver_message(message_id) is None
    [email] = sendgrid.emails()
    message = reload(message_id)
    assert message.status == "sent" and message.provider_message_id == email.message_id
    assert email.custom_args == {"vocloop_message_id": str(message_id), "vocloop_key": message.idempotency_key}
    assert db.session.scalar(select(Invitation.status)) == "sent"


def test_a_5xx_is_retried_later_and_then_sent(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(500)
    deliver_message(message_id)
    message = reload(message_id)
    assert message.status == "pending" and message.attempts == 1 and "500" in message.last_error
    assert message.next_attempt_at > utcnow() + timedelta(seconds=10)
    assert sendgrid.emails() == []
    assert deliver_message(message_id) is None  # not due yet
    message.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_message(message_id) == "sent"
    assert len(sendgrid.emails()) == 1


def test_a_429_waits_until_the_rate_limit_resets(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(429, headers={"X-RateLimit-Reset": str(int(time.time()) + 900)})
    deliver_message(message_id)
    message = reload(message_id)
    assert message.status == "pending"
    assert message.next_attempt_at >= utcnow() + timedelta(seconds=850)


def test_a_4xx_fails_for_good_with_the_providers_error(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(400, message="The from address does not match a verified Sender Identity.")
    assert deliver_message(message_id) == "failed"
    message = reload(message_id)
    assert "verified Sender Identity" in message.last_error
    assert db.session.scalar(select(Invitation.status)) == "failed"


def test_retries_give_up_after_the_last_attempt(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(503, times=outbox.MAX_ATTEMPTS)
    for _ in range(outbox.MAX_ATTEMPTS):
        reload(message_id).next_attempt_at = utcnow()
        db.session.commit()
        deliver_message(message_id)
    message = reload(message_id)
    assert message.status == "failed" and message.last_error.startswith(f"gave up after {outbox.MAX_ATTEMPTS}")


def test_a_crashed_relay_leaves_a_lease_that_expires_and_the_sweep_sends_it(app, sendgrid, drain):
    message_id = queued_survey()
    assert outbox.claim(message_id)  # a relay took it, then died before sending
    assert deliver_message(message_id) is None  # the lease holds
    message = reload(message_id)
    message.lease_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    sweep()
    drain()
    assert reload(message_id).status == "sent" and len(sendgrid.emails()) == 1


@pytest.fixture
def local_mail_app(settings, schema, worker, sendgrid):
    """The embedded default's mail: no SendGrid key, jobs in-process."""
    sendgrid.reset()
    overrides = {**settings, "SENDGRID_API_KEY": None}
    overrides.pop("REDIS_URL", None)
    app = create_app(overrides)
    with app.app_context():
        yield app
        db.session.remove()
        empty_tables()


def test_without_a_sendgrid_key_mail_stays_in_the_local_outbox_page(local_mail_app, sendgrid):
    make_user("admin@example.com", role="admin")
    message_id = queued_survey()
    assert deliver_message(message_id) == "sent"
    assert reload(message_id).provider_message_id == f"local-{message_id}"
    assert sendgrid.emails() == []
    client = local_mail_app.test_client()
    login(client, "admin@example.com", PASSWORD)
    listing = client.get("/dev/outbox").get_data(as_text=True)
    assert "ann@customer.example" in listing and "A quick question from Acme" in listing
    page = client.get(f"/dev/outbox/{message_id}").get_data(as_text=True)
    assert "http://vocloop.test/s/" in page and "?score=10" in page
    html = client.get(f"/dev/outbox/{message_id}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert html.get_data(as_text=True).count("?score=") == 11


def test_the_dev_outbox_does_not_exist_in_production(settings, schema):
    production = {**settings, "VOCLOOP_ENV": "production", "SECRET_KEY": "p" * 40,
                  "VOCLOOP_BASE_URL": "https://feedback.example.com", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    client = create_app(production).test_client()
    assert client.get("/dev/outbox").status_code == 404
