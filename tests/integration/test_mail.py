"""The outbox relay against a SendGrid-compatible server: batches, exactly once, retries, failures."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.conftest import reset_database
from tests.factories import PASSWORD, login, make_contact, make_survey, make_user
from tests.support.sendgrid_stub import EventSigner
from vocloop import create_app
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.jobs.tasks import deliver_messages, sweep
from vocloop.mail import outbox
from vocloop.mail.models import Message, MessageTemplate, QueuedMessage
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation


def queued_survey(email="ann@customer.example", name="Ann"):
    contact = make_contact(email, name=name)
    surveys.send_invitations(make_survey(), [contact.id])
    return outbox.take_queued_ids()[0]


def reload(message_id):
    db.session.rollback()
    return db.session.get(Message, message_id)


def many_contacts(count):
    """Contacts in bulk (the service path is tested elsewhere; here we want volume)."""
    db.session.execute(Contact.__table__.insert(), [
        {"email": f"c{i}@bulk.example", "name": f"Customer {i}", "attributes": {}, "created_at": utcnow()}
        for i in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(Contact.id).order_by(Contact.id)))


def test_a_survey_email_is_sent_once_even_when_delivery_runs_twice(app, sendgrid):
    message_id = queued_survey()
    assert deliver_messages([message_id]) == {"sent": 1, "retry": 0, "failed": 0}
    assert deliver_messages([message_id]) == {"sent": 0, "retry": 0, "failed": 0}
    [email] = sendgrid.emails()
    message = reload(message_id)
    assert message.status == "sent" and message.provider_message_id == email.message_id
    assert email.custom_args == {"vocloop_message_id": str(message_id), "vocloop_key": message.idempotency_key}
    assert db.session.scalar(select(Invitation.status)) == "sent"


def test_a_relay_job_sends_only_the_emails_it_was_given(app, sendgrid):
    """A large dispatch is shared out between workers a thousand emails per job; a job that took every
    due email would leave the other workers idle."""
    ann, bob = queued_survey(), queued_survey("bob@customer.example", name="Bob")
    assert deliver_messages([ann]) == {"sent": 1, "retry": 0, "failed": 0}
    assert [email.to for email in sendgrid.emails()] == ["ann@customer.example"] and reload(bob).status == "pending"


def test_emails_with_words_of_their_own_relayed_together_each_reach_only_their_own_recipient(app, sendgrid):
    """Closing messages and notices carry their own words, not a shared template: relayed by one job, each
    goes in a request of its own, so no customer gets another customer's message."""
    for name, words in (("ann", "Hi Ann, we fixed the crash."), ("bob", "Hi Bob, your refund is on its way.")):
        outbox.queue_message(key=f"test:{name}", kind="notification", to_email=f"{name}@customer.example",
                             to_name=name.title(), reply_to=f"reply+{name}@vocloop.example",
                             subject="About your feedback", html=f"<p>{words}</p>", text=words)
    db.session.commit()
    assert deliver_messages(outbox.take_queued_ids())["sent"] == 2
    # each addressed by name, and a reply goes where its sender asked (a closing message's item)
    assert {email.to: (email.to_name, email.reply_to, email.text) for email in sendgrid.emails()} == {
        "ann@customer.example": ("Ann", "reply+ann@vocloop.example", "Hi Ann, we fixed the crash."),
        "bob@customer.example": ("Bob", "reply+bob@vocloop.example", "Hi Bob, your refund is on its way.")}
    assert len(sendgrid.requests) == 2


def test_two_sends_of_the_same_content_at_once_share_one_template(app):
    """A send stores its rendering once (a template); when another send of the same content stores it
    between this one's look and its write, this one takes that row instead of failing or making a second."""
    from sqlalchemy import event

    raced = []

    def the_other_send_first(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGE_TEMPLATES") and not raced:
            raced.append(statement)
            with db.engine.connect() as other:  # its own connection and transaction, committed first
                other.execute(MessageTemplate.__table__.insert().values(
                    content_hash=context.compiled_parameters[0]["content_hash"], subject="Your feedback",
                    html="<p>Hi</p>", text="Hi", created_at=utcnow()))
                other.commit()

    event.listen(db.engine, "before_cursor_execute", the_other_send_first)
    try:
        template = outbox.template_for("Your feedback", "<p>Hi</p>", "Hi")
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", the_other_send_first)
    assert raced  # the other send did come in between
    assert template is not None and (template.subject, template.text) == ("Your feedback", "Hi")
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 1
    assert outbox.template_for("Your feedback", "<p>Hi</p>", "Hi").id == template.id


def test_each_recipient_gets_their_own_link_greeting_and_unsubscribe_headers(app, sendgrid):
    ids = [make_contact("ann@customer.example", name="Ann <b>").id, make_contact("bob@customer.example").id]
    surveys.send_invitations(make_survey(), ids)
    deliver_messages(outbox.take_queued_ids())
    [request] = sendgrid.requests
    assert len(request["personalizations"]) == 2
    ann, bob = sorted(sendgrid.emails(), key=lambda email: email.to)
    assert "Hi Ann &lt;b&gt;," in ann.html and "Hi Ann <b>," in ann.text and "Hello," in bob.text
    assert ann.to_name == "Ann <b>"  # addressed by name in her mail client
    assert ann.html.count("/s/") == 12 and "-vl_" not in ann.html + ann.text + bob.html
    ann_link = ann.headers["List-Unsubscribe"].strip("<>")
    assert ann_link.endswith("/unsubscribe") and ann_link.split("/s/")[1] in ann.html
    assert ann_link != bob.headers["List-Unsubscribe"].strip("<>")
    assert ann.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 1


def test_2500_invitations_go_out_in_three_requests(app, sendgrid, drain):
    survey = make_survey()
    outcome = surveys.send_invitations(survey, many_contacts(2500))
    assert len(outcome.invitations) == 2500
    from vocloop.jobs.tasks import enqueue_queued_work
    enqueue_queued_work()
    drain()
    assert sorted(len(r["personalizations"]) for r in sendgrid.requests) == [500, 1000, 1000]
    assert len({email.to for email in sendgrid.emails()}) == 2500
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent")) == 2500


def test_a_5xx_is_retried_later_and_then_sent(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(500)
    assert deliver_messages([message_id])["retry"] == 1
    message = reload(message_id)
    assert message.status == "pending" and message.attempts == 1 and "500" in message.last_error
    assert message.next_attempt_at > utcnow() + timedelta(seconds=10)
    assert sendgrid.emails() == []
    assert deliver_messages([message_id])["sent"] == 0  # not due yet
    message.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_messages([message_id])["sent"] == 1
    assert len(sendgrid.emails()) == 1


def test_a_sent_email_records_its_attempts_and_leaves_the_backlog(app, sendgrid):
    """The relay's running state (due time, lease, attempts) lives until the email is settled; then the
    message keeps how many attempts it took and nothing is left for a relay or the backlog figure."""
    from vocloop.ops.status import read_status

    message_id = queued_survey()
    sendgrid.fail_next(500)
    deliver_messages([message_id])
    assert read_status().outbox_pending == 1
    message = reload(message_id)
    message.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_messages([message_id])["sent"] == 1
    message = reload(message_id)
    assert (message.status, message.attempts, message.next_attempt_at, message.lease_until) == ("sent", 2, None, None)
    assert outbox.due_message_ids(grace_seconds=0) == [] and outbox.claim([message_id]) == []
    with pytest.raises(ValueError, match="settled"):  # a sent email cannot be made due again by mistake
        message.next_attempt_at = utcnow()
    with pytest.raises(ValueError, match="settled"):
        message.lease_until = None
    assert read_status().outbox_pending == 0


def test_a_retry_is_scheduled_through_rq_at_its_due_time_not_left_to_the_sweep(app, sendgrid):
    if app.config["JOBS_INLINE"]:
        pytest.skip("rq's scheduler is the Redis set-up's; in-process, the periodic sweep retries")
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from vocloop.jobs.queue import redis_connection

    message_id = queued_survey()
    sendgrid.fail_next(503)
    deliver_messages([message_id])
    due = reload(message_id).next_attempt_at
    registry = ScheduledJobRegistry(queue=Queue("mail", connection=redis_connection()))
    [job_id] = registry.get_job_ids()
    scheduled = registry.get_scheduled_time(job_id)
    assert timedelta(0) <= scheduled - due <= timedelta(seconds=1)  # never early, at most a second late
    assert Queue("mail", connection=redis_connection()).fetch_job(job_id).args == ([message_id],)


def test_backoff_grows_with_each_attempt_and_is_jittered(app, sendgrid):
    message_id = queued_survey()
    delays = []
    for _ in range(4):
        sendgrid.fail_next(503)
        before = utcnow()
        deliver_messages([message_id])
        message = reload(message_id)
        delays.append((message.next_attempt_at - before).total_seconds())
        message.next_attempt_at = utcnow()
        db.session.commit()
    assert all(15 <= delay <= 45 * 2 ** n for n, delay in enumerate(delays))
    assert delays[3] > delays[0]


def test_a_429_waits_until_the_rate_limit_resets(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(429, headers={"X-RateLimit-Reset": str(int(time.time()) + 900)})
    deliver_messages([message_id])
    message = reload(message_id)
    assert message.status == "pending"
    assert message.next_attempt_at >= utcnow() + timedelta(seconds=850)


def test_a_4xx_fails_for_good_with_the_providers_error(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(400, message="The from address does not match a verified Sender Identity.")
    assert deliver_messages([message_id])["failed"] == 1
    message = reload(message_id)
    assert "verified Sender Identity" in message.last_error
    assert db.session.scalar(select(Invitation.status)) == "failed"


def test_one_refused_address_does_not_sink_the_rest_of_its_batch(app, sendgrid):
    ids = [make_contact(email).id for email in ("ann@customer.example", "invalid.bob@customer.example",
                                                "cy@customer.example", "invalid.dee@customer.example")]
    surveys.send_invitations(make_survey(), ids)
    counts = deliver_messages(outbox.take_queued_ids())
    assert counts == {"sent": 2, "retry": 0, "failed": 2}
    assert sorted(email.to for email in sendgrid.emails()) == ["ann@customer.example", "cy@customer.example"]
    failed = db.session.scalars(select(Message).where(Message.status == "failed").order_by(Message.id)).all()
    assert [message.to_email for message in failed] == ["invalid.bob@customer.example", "invalid.dee@customer.example"]
    assert all("valid address" in message.last_error for message in failed)
    invitations = {invitation.contact.email: invitation.status for invitation in db.session.scalars(select(Invitation))}
    assert invitations == {"ann@customer.example": "sent", "invalid.bob@customer.example": "failed",
                           "cy@customer.example": "sent", "invalid.dee@customer.example": "failed"}


def test_in_a_batch_of_two_a_refused_address_does_not_sink_the_other(app, sendgrid):
    ids = [make_contact(email).id for email in ("ann@customer.example", "invalid.bob@customer.example")]
    surveys.send_invitations(make_survey(), ids)
    assert deliver_messages(outbox.take_queued_ids()) == {"sent": 1, "retry": 0, "failed": 1}
    assert [email.to for email in sendgrid.emails()] == ["ann@customer.example"]


def test_retries_give_up_after_the_last_attempt(app, sendgrid):
    message_id = queued_survey()
    sendgrid.fail_next(503, times=outbox.MAX_ATTEMPTS)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        reload(message_id).next_attempt_at = utcnow()
        db.session.commit()
        counts = deliver_messages([message_id])
        assert counts == ({"sent": 0, "retry": 0, "failed": 1} if attempt == outbox.MAX_ATTEMPTS
                          else {"sent": 0, "retry": 1, "failed": 0})  # the last one is not also retried
    message = reload(message_id)
    assert message.status == "failed" and message.last_error.startswith(f"gave up after {outbox.MAX_ATTEMPTS}")


def test_a_dispatch_sendgrid_is_too_busy_for_is_counted_email_by_email_across_its_requests(app, sendgrid):
    """What `flask relay-mail` and the relay job report: every email deferred, then every one given up
    on, however many requests the dispatch took (here two of two emails and one)."""
    app.config["MAIL_BATCH_SIZE"] = 2
    ids = [make_contact(f"{name}@customer.example").id for name in ("ann", "bob", "cy")]
    surveys.send_invitations(make_survey(), ids)
    message_ids = outbox.take_queued_ids()
    sendgrid.fail_next(503, times=2 * outbox.MAX_ATTEMPTS)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        db.session.execute(update(QueuedMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
        last = attempt == outbox.MAX_ATTEMPTS
        assert deliver_messages(message_ids) == {"sent": 0, "retry": 0 if last else 3, "failed": 3 if last else 0}
    assert len(sendgrid.rejected) == 2 * outbox.MAX_ATTEMPTS and sendgrid.emails() == []


def test_a_crashed_relay_leaves_a_lease_that_expires_and_the_sweep_sends_it(app, sendgrid, drain, monkeypatch):
    message_id = queued_survey()
    assert outbox.claim([message_id]) == [message_id]  # a relay took it, then died before sending
    assert deliver_messages([message_id])["sent"] == 0  # the lease holds
    bob = queued_survey("bob@customer.example", name="Bob")  # another relay sends Bob's: only Bob's is sent
    assert deliver_messages([bob])["sent"] == 1 and reload(message_id).status == "pending"
    assert outbox.due_message_ids() == []
    lease_over = utcnow() + timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    with monkeypatch.context() as clock:
        clock.setattr(outbox, "utcnow", lambda: lease_over)  # MAIL_LEASE_SECONDS later: the lease has run out
        assert outbox.due_message_ids() == [message_id]
    message = reload(message_id)
    message.lease_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    sweep()
    drain()
    assert reload(message_id).status == "sent"
    assert sorted(email.to for email in sendgrid.emails()) == ["ann@customer.example", "bob@customer.example"]


def test_with_sendgrids_events_a_relay_that_died_mid_send_is_given_the_settle_time_before_a_resend(app, sendgrid,
                                                                                                 drain):
    """With the event webhook set up, a relay that died while sending may have handed the email to SendGrid
    already, and SendGrid's events would say so: the row waits out MAIL_SETTLE_SECONDS past its lease before
    the sweep or a relay sends it again, so the customer does not get it twice."""
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = EventSigner().public_key
    message_id = queued_survey()
    assert outbox.claim([message_id]) == [message_id]  # a relay took it, then died
    message = reload(message_id)
    message.lease_until = utcnow() - timedelta(seconds=1)  # the lease is over, the settle time is not
    db.session.commit()
    assert outbox.due_message_ids() == [] and deliver_messages([message_id])["sent"] == 0
    sweep()
    drain()
    assert reload(message_id).status == "pending" and sendgrid.emails() == []

    message = reload(message_id)
    message.lease_until = utcnow() - timedelta(seconds=app.config["MAIL_SETTLE_SECONDS"] + 1)  # no event came
    db.session.commit()
    assert outbox.due_message_ids() == [message_id]
    sweep()
    drain()
    assert reload(message_id).status == "sent" and len(sendgrid.emails()) == 1


def test_the_sendgrid_client_talks_to_the_configured_host_with_the_key(app, sendgrid):
    message_id = queued_survey()
    sendgrid.api_key = "SG.another-key"
    try:
        deliver_messages([message_id])
    finally:
        sendgrid.api_key = "SG.test-key"
    assert sendgrid.rejected and sendgrid.rejected[0][0] == 401
    assert reload(message_id).status == "failed"


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
        reset_database()


def test_without_a_sendgrid_key_mail_stays_in_the_local_outbox_page(local_mail_app, sendgrid):
    make_user("admin@example.com", role="admin")
    message_id = queued_survey(name="Ann")
    assert deliver_messages([message_id])["sent"] == 1
    assert reload(message_id).provider_message_id == f"local-{message_id}"
    assert sendgrid.emails() == []
    client = local_mail_app.test_client()
    login(client, "admin@example.com", PASSWORD)
    listing = client.get("/dev/outbox").get_data(as_text=True)
    assert "ann@customer.example" in listing and "A quick question from Acme" in listing
    page = client.get(f"/dev/outbox/{message_id}").get_data(as_text=True)
    assert "http://vocloop.test/s/" in page and "?score=10" in page and "Hi Ann," in page
    assert "-vl_" not in page
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in page  # the headers a mail client acts on
    html = client.get(f"/dev/outbox/{message_id}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    body = html.get_data(as_text=True)
    assert body.count("?score=") == 11 and '<base target="_blank">' in body


def test_the_dev_outbox_does_not_exist_in_production(settings, schema):
    production = {**settings, "VOCLOOP_ENV": "production", "SECRET_KEY": "p" * 40,
                  "VOCLOOP_BASE_URL": "https://feedback.example.com", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    client = create_app(production).test_client()
    assert client.get("/dev/outbox").status_code == 404
