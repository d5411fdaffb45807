"""DESIGN.md's promises that the foundation already touches, pinned down."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.factories import answer, make_contact, make_invitation, make_survey, make_user
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.triage import triage_response
from vocloop.mail import outbox
from vocloop.responses.models import Response
from vocloop.routing.service import NoOwnerAvailable, create_rule
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation


def answered(client, drain, score=2, comment="The app crashed twice today", email="ann@customer.example",
             account=None):
    token = make_invitation(make_survey(), make_contact(email, account=account))
    assert answer(client, token, score, comment).status_code == 303
    drain()
    return db.session.scalar(select(Response).where(Response.contact.has(email=email)))


def items():
    db.session.rollback()
    return list(db.session.scalars(select(FeedbackItem)))


# Promise 1: someone always owns the moment.

def test_without_rules_the_fallback_owner_takes_the_item(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    answered(client, drain)
    [item] = items()
    assert item.owner_id == admin.id
    assert any("fallback" in event.body for event in item.events)


def test_the_configured_fallback_owner_wins_over_the_earliest_admin(app, client, drain):
    make_user("admin@example.com", role="admin")
    triager = make_user("triage@example.com", role="owner")
    assert app.config["FALLBACK_OWNER_EMAIL"] == "triage@example.com"
    answered(client, drain)
    assert items()[0].owner_id == triager.id


def test_without_the_configured_fallback_owner_the_earliest_active_admin_takes_the_item(app, client, drain):
    """The configured fallback owner has no account here: the item goes to the admin who has been here
    longest and is still active, not to an owner made earlier nor to an admin who left."""
    make_user("owner@example.com", role="owner")
    gone = make_user("gone@example.com", role="admin")
    earliest = make_user("first@example.com", role="admin")
    make_user("second@example.com", role="admin")
    gone.active = False
    earliest.name = "First admin"  # PostgreSQL now stores her row after the second admin's: still her
    db.session.commit()
    answered(client, drain)
    assert items()[0].owner_id == earliest.id


def test_a_rule_whose_owner_is_inactive_falls_through_to_the_next(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    gone = make_user("gone@example.com", role="owner")
    gone.active = False
    db.session.commit()
    create_rule(name="to a departed owner", action="user", user_id=gone.id, position=1)
    answered(client, drain)
    assert items()[0].owner_id == admin.id


def test_team_rules_share_items_round_robin(app, client, drain):
    make_user("admin@example.com", role="admin")
    first = make_user("one@example.com", team="Support")
    second = make_user("two@example.com", team="Support")
    team = first.teams[0]
    create_rule(name="all to Support", action="team", team_id=team.id)
    for index in range(4):
        answered(client, drain, email=f"c{index}@customer.example")
    owners = [item.owner_id for item in sorted(items(), key=lambda item: item.id)]
    assert owners == [first.id, second.id, first.id, second.id]


def test_account_owner_rule_routes_to_the_accounts_owner(app, client, drain):
    make_user("admin@example.com", role="admin")
    sam = make_user("sam@example.com")
    contact = make_contact("vip@bigco.example", account="BigCo")
    contact.account.owner_id = sam.id
    db.session.commit()
    create_rule(name="key accounts", action="account_owner", conditions={"account_ids": [contact.account_id]})
    token = make_invitation(make_survey(), contact)
    answer(client, token, 3, "Slow support")
    drain()
    assert items()[0].owner_id == sam.id


def test_with_nobody_to_own_it_the_response_waits_and_is_routed_once_someone_exists(app, client, drain):
    response = answered(client, drain)
    db.session.rollback()
    assert items() == [] and db.session.get(Response, response.id).processed_at is None
    with pytest.raises(NoOwnerAvailable):
        triage_response(response.id)
    db.session.rollback()
    admin = make_user("admin@example.com", role="admin")
    triage_response(response.id)
    assert [item.owner_id for item in items()] == [admin.id]


def test_the_database_refuses_an_item_without_an_owner(app, client, drain):
    make_user("admin@example.com", role="admin")
    [item] = [answered(client, drain)] and items()
    item.owner_id = None
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# Promise 2 and the one-item rule.

def test_triage_twice_still_makes_one_item_and_the_database_refuses_a_second(app, client, drain):
    make_user("admin@example.com", role="admin")
    response = answered(client, drain)
    triage_response(response.id)
    db.session.rollback()
    [item] = items()
    duplicate = FeedbackItem(response_id=response.id, contact_id=item.contact_id, survey_id=item.survey_id,
                             owner_id=item.owner_id, priority="P2", first_action_due_at=utcnow(),
                             close_due_at=utcnow())
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_retried_triage_tells_the_crm_once_and_an_answer_not_yet_counted_opens_nothing(app, client, drain):
    """Triage runs again when a worker dies after its commit, or runs for an answer still waiting to count
    (a mail scanner's click that no person has confirmed): neither tells the CRM again nor opens an item."""
    from vocloop.outbound.models import WebhookDelivery, WebhookEndpoint

    make_user("admin@example.com", role="admin")
    db.session.add(WebhookEndpoint(url="https://crm.example.com/hooks", events=["response.created", "item.created"],
                                   secret="whsec_x"))
    db.session.commit()
    response = answered(client, drain)
    assert triage_response(response.id) is None  # done before: nothing more
    client.get(f"/s/{make_invitation(make_survey(), make_contact('ben@customer.example'))}?score=2")  # a click only
    waiting = db.session.scalar(select(Response).where(Response.contact.has(email="ben@customer.example")))
    assert waiting.completed_at is None and waiting.processed_at is None
    assert triage_response(waiting.id) is None
    db.session.rollback()
    sent = db.session.execute(select(WebhookDelivery.event_type, func.count()).group_by(WebhookDelivery.event_type))
    assert dict(sent.all()) == {"response.created": 1, "item.created": 1}  # Ann's answer, once
    assert [item.response_id for item in items()] == [response.id]


def test_happy_score_without_comment_opens_no_item_but_is_classified(app, client, drain):
    make_user("admin@example.com", role="admin")
    response = answered(client, drain, score=10, comment="")
    db.session.rollback()
    response = db.session.get(Response, response.id)
    assert items() == [] and response.sentiment_label == "positive" and response.processed_at is not None


# Promise 3: nothing is sent twice.

def test_the_outbox_refuses_a_second_email_with_the_same_key(app):
    for _ in range(2):
        outbox.queue_message(key="survey:42", kind="survey", to_email="a@b.example", subject="s",
                             html="<p>x</p>", text="x")
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# Promise 4: don't ask without acting.

def test_no_survey_to_a_contact_with_an_open_item_in_quarantine_or_unsubscribed(app, client, drain, monkeypatch):
    make_user("admin@example.com", role="admin")
    answered(client, drain)  # ann now has an open item
    survey = make_survey("csat", name="Follow-up", quarantine_days=0)
    fresh = make_contact("fresh@customer.example")
    recent = make_contact("recent@customer.example")
    make_invitation(make_survey(name="Earlier", quarantine_days=0), recent)
    unsubscribed = make_contact("gone@customer.example")
    unsubscribed.unsubscribed_at = utcnow()
    also_gone = make_contact("also.gone@customer.example")
    also_gone.unsubscribed_at = utcnow()
    bounced = make_contact("bounced@customer.example")
    bounced.suppressed_reason = "bounce"
    db.session.commit()
    quarantined = make_survey("nps", name="Quarterly", quarantine_days=90)
    ann = db.session.scalar(select(Response)).contact_id
    audience = [ann, 999998, fresh.id, unsubscribed.id, also_gone.id, bounced.id, 999999]

    # The preview counts each reason over the whole audience, however many statements it takes.
    preview = {"eligible": 1, "open_item": 1, "unsubscribed": 2, "suppressed": 1, "not_found": 2}
    assert surveys.eligibility(survey, audience) == preview
    with monkeypatch.context() as small_statements:
        small_statements.setattr(surveys, "CHUNK", 2)
        assert surveys.eligibility(survey, audience) == preview

    outcome = surveys.send_invitations(survey, audience)
    assert [invitation.contact_id for invitation in outcome.invitations] == [fresh.id]
    # Fresh's invitation waits for its email, and its link lives for the survey's days from now.
    invitation = db.session.get(Invitation, outcome.invitations[0].id)
    assert invitation.status == "queued"
    assert invitation.expires_at - invitation.created_at == timedelta(days=survey.link_expiry_days)
    assert (outcome.invitations[0].status, outcome.invitations[0].expires_at) == ("queued", invitation.expires_at)
    assert dict(outcome.skipped) == {ann: "open_item", unsubscribed.id: "unsubscribed", also_gone.id: "unsubscribed",
                                     bounced.id: "suppressed (bounce)", 999998: "not_found", 999999: "not_found"}
    again = surveys.send_invitations(quarantined, [recent.id])
    assert again.skipped == [(recent.id, "quarantine")]
    outside = db.session.scalar(select(func.count()).select_from(Response))
    assert outside == 1


def test_a_loop_is_closed_only_once_the_provider_accepted_the_closing_message(app, client, drain):
    """Between closing an item with a message and the provider accepting it, the customer has heard
    nothing: the item is closed but not loop-closed, metrics do not count it, and the contact still
    has an open loop, so no new survey (nor reminder) goes to them. Acceptance changes all three."""
    from sqlalchemy import literal

    from tests.factories import api_token, login
    from vocloop.items import service as work
    from vocloop.items.open_loops import open_loop_of
    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail.models import Message
    from vocloop.metrics.queries import closure

    admin = make_user("admin@example.com", role="admin")
    ann = answered(client, drain).contact_id
    [item] = items()
    follow_up = make_survey("csat", name="Follow-up", quarantine_days=0)
    login(client, "admin@example.com")
    headers = api_token(admin)

    def seen():
        db.session.rollback()
        current = db.session.get(FeedbackItem, item.id)
        page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
        return dict(status=current.status, loop_closed_at=current.loop_closed_at,
                    badge="loop closed" if '<span class="badge">loop closed</span>' in page else "closed",
                    api=client.get(f"/api/v1/items/{item.id}", headers=headers).json["loop_closed"],
                    counted=closure(current.created_at - timedelta(days=1),
                                    current.created_at + timedelta(days=1))["loop_closed"],
                    eligibility=surveys.eligibility(follow_up, [ann]),
                    open_loop=db.session.scalar(select(open_loop_of(literal(ann)))))

    message = work.close_with_message(admin, item, "Hi Ann, we fixed the crash.")
    queued = outbox.take_queued_ids()  # the relay has not run: the email is still in the outbox
    pending = seen()
    assert db.session.get(Message, message.id).status == "pending"
    assert pending == dict(status="closed", loop_closed_at=None, badge="closed", api=False, counted=0,
                           eligibility={"eligible": 0, "open_item": 1}, open_loop=True)
    assert surveys.send_invitations(follow_up, [ann]).skipped == [(ann, "open_item")]

    deliver_messages(queued)  # the provider accepts it
    accepted = seen()
    assert db.session.get(Message, message.id).status == "sent"
    assert accepted["loop_closed_at"] is not None
    assert {key: value for key, value in accepted.items() if key != "loop_closed_at"} == dict(
        status="closed", badge="loop closed", api=True, counted=1, eligibility={"eligible": 1}, open_loop=False)
    assert [event.kind for event in db.session.get(FeedbackItem, item.id).events][-1] == "message_sent"


def test_a_closing_message_the_provider_refuses_leaves_the_loop_open_and_says_why(app, client, drain, sendgrid):
    """The owner closes an item with a message, and SendGrid refuses it for good (a bad address): the
    customer heard nothing, so the item is back in progress with its owner, not loop-closed, and its
    activity says the closing message could not be sent and why."""
    from tests.factories import login
    from vocloop.items import service as work
    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail.models import Message

    admin = make_user("admin@example.com", role="admin")
    answered(client, drain)
    [item] = items()
    message = work.close_with_message(admin, item, "Hi Ann, we fixed the crash.")
    queued = outbox.take_queued_ids()
    sendgrid.fail_next(400, message="The to email does not contain a valid address.")
    deliver_messages(queued)

    db.session.rollback()
    current = db.session.get(FeedbackItem, item.id)
    assert db.session.get(Message, message.id).status == "failed"
    assert (current.status, current.closed_at, current.loop_closed_at) == ("in_progress", None, None)
    login(client, "admin@example.com")
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "message failed" in page
    assert "The closing message could not be sent:" in page and "does not contain a valid address" in page


def test_a_closing_message_sendgrid_takes_on_its_retry_closes_the_loop_and_shows_no_old_error(app, client, drain,
                                                                                              sendgrid):
    """SendGrid was too busy for the closing message at first and took it on the retry: the loop is
    closed, and the item's page shows the message accepted, without the error of the first try."""
    from tests.factories import login
    from vocloop.items import service as work
    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail.models import Message

    admin = make_user("admin@example.com", role="admin")
    answered(client, drain)
    [item] = items()
    message = work.close_with_message(admin, item, "Hi Ann, we fixed the crash.")
    sendgrid.fail_next(503, message="Busy, try again shortly")
    assert deliver_messages(outbox.take_queued_ids())["retry"] == 1
    login(client, "admin@example.com")
    assert "Busy, try again shortly" in client.get(f"/inbox/items/{item.id}").get_data(as_text=True)

    db.session.rollback()
    db.session.get(Message, message.id).next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_messages([message.id])["sent"] == 1
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert '<span class="badge">loop closed</span>' in page and "<strong>sent</strong>" in page
    assert "Busy, try again shortly" not in page


def test_a_closing_message_sendgrid_never_takes_after_every_retry_reopens_the_item(app, client, drain, sendgrid):
    """SendGrid answers 503 to the closing message at every one of its attempts: when the relay gives
    up, the customer has heard nothing, so the item is back in progress with its owner and its
    activity says the message could not be sent, as for a refusal (it was left closed, never
    loop-closed, with no word to anyone)."""
    from tests.factories import login
    from vocloop.items import service as work
    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail.models import Message

    admin = make_user("admin@example.com", role="admin")
    answered(client, drain)
    [item] = items()
    message = work.close_with_message(admin, item, "Hi Ann, we fixed the crash.")
    outbox.take_queued_ids()
    sendgrid.fail_next(503, times=outbox.MAX_ATTEMPTS)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        db.session.get(Message, message.id).next_attempt_at = utcnow()
        db.session.commit()
        counts = deliver_messages([message.id])
        assert counts["failed" if attempt == outbox.MAX_ATTEMPTS else "retry"] == 1
        db.session.rollback()
        if attempt < outbox.MAX_ATTEMPTS:  # still trying: closed, waiting for the provider
            assert db.session.get(FeedbackItem, item.id).status == "closed"

    current = db.session.get(FeedbackItem, item.id)
    assert db.session.get(Message, message.id).status == "failed"
    assert (current.status, current.loop_closed_at) == ("in_progress", None)
    login(client, "admin@example.com")
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert f"The closing message could not be sent: gave up after {outbox.MAX_ATTEMPTS} attempts" in page


def test_a_retry_whose_own_job_was_lost_is_sent_by_the_next_sweep_seconds_after_it_fell_due(app, sendgrid, drain):
    """SendGrid was busy, so the email was put back for a retry with its own scheduled relay; Redis lost
    that job. The sweep sends it as soon as it is a few seconds overdue, not after the minute it
    gives a new email whose first job may still be on its way."""
    from vocloop.jobs.tasks import deliver_messages, sweep
    from vocloop.mail.models import Message

    contact = make_contact("ann@customer.example")
    surveys.send_invitations(make_survey(), [contact.id])
    [message_id] = outbox.take_queued_ids()
    sendgrid.fail_next(503)
    assert deliver_messages([message_id])["retry"] == 1
    outbox.take_retries()  # the job that would have sent it at its time: lost
    message = db.session.get(Message, message_id)
    message.next_attempt_at = utcnow() - timedelta(seconds=10)
    db.session.commit()
    sweep()
    drain()
    assert [email.to for email in sendgrid.emails()] == ["ann@customer.example"]


def test_an_email_to_the_owner_that_sendgrid_refuses_leaves_the_customers_closed_loop_alone(app, client, drain,
                                                                                            sendgrid):
    """Only the closing message decides whether the customer heard back: an email about the item to its
    owner that SendGrid refuses (their mailbox is gone) does not reopen the loop-closed item."""
    from vocloop import notifications
    from vocloop.items import service as work
    from vocloop.jobs.tasks import deliver_messages

    admin = make_user("admin@example.com", role="admin")
    answered(client, drain)
    [item] = items()
    work.close_with_message(admin, item, "Hi Ann, we fixed the crash.")
    deliver_messages(outbox.take_queued_ids())
    db.session.rollback()
    item = db.session.get(FeedbackItem, item.id)
    assert item.loop_closed_at is not None
    notifications.notify_user(admin, item, key="notice:test", subject=f"Item #{item.id}: a note", lines=["A note."])
    db.session.commit()
    sendgrid.fail_next(400, message="The to email does not contain a valid address.")
    assert deliver_messages(outbox.take_queued_ids())["failed"] == 1
    db.session.rollback()
    item = db.session.get(FeedbackItem, item.id)
    assert item.status == "closed" and item.loop_closed_at is not None
    assert "message_failed" not in [event.kind for event in item.events]


def test_quarantine_ends_after_its_days(app):
    contact = make_contact("ann@customer.example")
    survey = make_survey(quarantine_days=30)
    surveys.send_invitations(survey, [contact.id])
    from vocloop.surveys.models import Invitation
    invitation = db.session.scalar(select(Invitation))
    invitation.created_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert surveys.send_invitations(survey, [contact.id]).skipped == []


def test_with_redis_down_an_answer_is_stored_and_the_sweep_finishes_the_work(settings, schema, sendgrid):
    """Promise 2: the database first; a lost job is redone by the sweep once Redis is back."""
    from tests.conftest import IsolatedClient, reset_database
    from vocloop import create_app
    from vocloop.jobs.tasks import sweep

    redis_down = create_app({**settings, "REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_ENABLED": True})
    redis_down.test_client_class = IsolatedClient
    with redis_down.app_context():
        try:
            admin = make_user("admin@example.com", role="admin")
            token = make_invitation(make_survey(), make_contact("ann@customer.example"))
            assert answer(redis_down.test_client(), token, 2, "Still broken").status_code == 303
            db.session.rollback()
            response = db.session.scalar(select(Response))
            assert response.comment == "Still broken" and response.processed_at is None
            response.completed_at = utcnow() - timedelta(minutes=5)  # the job would have run by now
            db.session.commit()
            redis_down.config["JOBS_INLINE"] = True  # Redis is back: here, jobs run in this process
            sweep()
            db.session.rollback()
            assert [item.owner_id for item in items()] == [admin.id]
        finally:
            db.session.remove()
            reset_database()


def test_an_answer_whose_triage_was_lost_is_handled_by_the_sweep_once_its_own_job_had_a_minute(app, client, drain):
    from vocloop.jobs.tasks import sweep
    from vocloop.responses import service

    make_user("admin@example.com", role="admin")
    handled = answered(client, drain, email="ben@customer.example").id  # its job ran: it has its item
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    lost = service.submit_comment(token, "2", "Nobody called back")  # stored, and its job lost
    sweep()
    drain()
    assert [item.response_id for item in items()] == [handled]  # too fresh: its own job may still be on its way
    db.session.execute(update(Response).values(completed_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert service.unprocessed_response_ids(60, limit=1) == [lost]  # answers handled long ago never fill the batch
    sweep()
    drain()
    assert sorted(item.response_id for item in items()) == [handled, lost]


def test_mail_whose_job_was_lost_is_sent_by_the_sweep_exactly_once(app, sendgrid, drain):
    from vocloop.jobs.tasks import sweep
    from vocloop.mail.models import Message

    contact = make_contact("ann@customer.example")
    surveys.send_invitations(make_survey(), [contact.id])  # no job enqueued: as if Redis lost it
    [message_id] = outbox.take_queued_ids()
    sweep()
    drain()
    assert sendgrid.emails() == []  # too fresh: its own job may still be on its way
    message = db.session.get(Message, message_id)
    message.next_attempt_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    sweep()
    sweep()
    drain()
    assert [email.to for email in sendgrid.emails()] == ["ann@customer.example"]
