"""SendGrid's signed Event Webhook: only genuine, fresh events count, and each counts once."""

import json
import random
import time
import uuid

import pytest
from sqlalchemy import func, select

from tests.factories import answer, make_contact, make_invitation, make_survey, make_user
from tests.integration.test_routing import needs_postgresql
from tests.support.sendgrid_stub import EventSigner
from vocloop.contacts.models import Contact
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import get_backend, outbox
from vocloop.mail.models import MailEvent, Message
from vocloop.metrics.queries import closure
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

URL = "/webhooks/sendgrid/events"


@pytest.fixture
def signer(app):
    signer = EventSigner()
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key
    return signer


def post(client, signer, events, timestamp=None, body=None):
    raw = json.dumps(events).encode() if body is None else body
    headers = signer.sign(json.dumps(events).encode() if body is not None else raw, timestamp)
    return client.post(URL, data=raw, headers=headers)


def event(message, name, **extra):
    return {"event": name, "email": message.to_email, "timestamp": int(time.time()),
            "sg_event_id": uuid.uuid4().hex, "sg_message_id": f"{message.provider_message_id}.x0",
            "vocloop_message_id": str(message.id), "vocloop_key": message.idempotency_key, **extra}


def sent_survey(email="ann@customer.example"):
    contact = make_contact(email, name="Ann")
    surveys.send_invitations(make_survey(), [contact.id])
    [message_id] = outbox.take_queued_ids()
    deliver_messages([message_id])
    db.session.rollback()
    return db.session.get(Message, message_id)


def fresh(model, id_):
    db.session.rollback()
    return db.session.get(model, id_)


def test_a_valid_batch_moves_message_and_invitation_forward(app, client, signer):
    message = sent_survey()
    response = post(client, signer, [event(message, "delivered"), event(message, "open")])
    assert response.status_code == 200 and response.json["new"] == 2
    assert fresh(Message, message.id).status == "delivered"
    assert db.session.get(Invitation, message.invitation_id).status == "opened"


def test_a_large_sends_delivery_reports_in_one_batch_move_every_invitation(app, client, signer):
    """SendGrid batches its events: 1,001 "delivered" in one post (more than the thousand ids written per
    statement) leave every one of the 1,001 invitations delivered, so the response rate counts them all."""
    db.session.add_all(Contact(email=f"c{n}@customer.example") for n in range(1001))
    db.session.commit()
    surveys.send_invitations(make_survey(), list(db.session.scalars(select(Contact.id))))
    queued = outbox.take_queued_ids()
    for start in range(0, len(queued), 1000):  # the relay's jobs, each a request's worth
        deliver_messages(queued[start:start + 1000])
    db.session.rollback()
    messages = db.session.scalars(select(Message).where(Message.kind == "survey")).all()
    assert len(messages) == 1001 and all(message.status == "sent" for message in messages)
    assert post(client, signer, [event(message, "delivered") for message in messages]).json["new"] == 1001
    db.session.rollback()
    assert dict(db.session.execute(select(Invitation.status, func.count()).group_by(Invitation.status)).all()) \
        == {"delivered": 1001}


def test_a_tampered_body_is_refused_and_nothing_stored(app, client, signer):
    message = sent_survey()
    genuine = [event(message, "delivered")]
    forged = json.dumps([event(message, "bounce")]).encode()
    assert post(client, signer, genuine, body=forged).status_code == 403
    assert client.post(URL, data=forged, headers={"Content-Type": "application/json"}).status_code == 403
    bad_signature = {**signer.sign(forged), "X-Twilio-Email-Event-Webhook-Signature": "not base64!!"}
    assert client.post(URL, data=forged, headers=bad_signature).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 0
    assert fresh(Message, message.id).status == "sent"


def test_a_half_signed_request_a_malformed_timestamp_or_a_body_that_is_no_list_is_refused_saying_why(
        app, client, signer):
    """A signature without its timestamp, a timestamp without its signature or one that is no number, and a
    genuinely signed body that is not a list of events: each a 403 that says why (never a 500 SendGrid
    would retry for days), nothing stored."""
    message = sent_survey()
    body = json.dumps([event(message, "delivered")]).encode()
    headers = signer.sign(body)
    for half in ("X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"):
        response = client.post(URL, data=body, headers={k: v for k, v in headers.items() if k != half})
        assert response.status_code == 403 and response.json["detail"] == "missing signature headers"
    response = client.post(URL, data=body, headers={**headers, "X-Twilio-Email-Event-Webhook-Timestamp": "soon"})
    assert response.status_code == 403 and response.json["detail"] == "malformed timestamp"
    for not_a_list in (b"17", b'{"event": "delivered"}', b'"delivered"', b"null"):
        response = client.post(URL, data=not_a_list, headers=signer.sign(not_a_list))
        assert response.status_code == 403 and response.json["detail"] == "body is not a list of events"
    assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 0
    assert fresh(Message, message.id).status == "sent"


def test_a_replayed_batch_older_than_five_minutes_is_refused(app, client, signer):
    message = sent_survey()
    stale = int(time.time()) - 301
    response = post(client, signer, [event(message, "delivered")], timestamp=stale)
    assert response.status_code == 403 and "replay" in response.json["detail"]
    assert post(client, signer, [event(message, "delivered")], timestamp=int(time.time()) + 400).status_code == 403
    assert fresh(Message, message.id).status == "sent"


def test_every_event_three_times_out_of_order_counts_once(app, client, signer):
    message = sent_survey()
    base = int(time.time()) - 60
    events = [event(message, name, timestamp=base + offset)
              for offset, name in enumerate(["processed", "delivered", "open", "click"])]
    copies = [dict(e) for e in events for _ in range(3)]
    random.Random(4).shuffle(copies)
    for start in range(0, len(copies), 4):
        assert post(client, signer, copies[start:start + 4]).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 4
    assert fresh(Message, message.id).status == "delivered"
    assert db.session.get(Invitation, message.invitation_id).status == "clicked"


def a_send_with_its_events(customers: int) -> tuple[list[Message], list[dict]]:
    """A survey sent to these customers, the first one's relay killed after it took the email; SendGrid's
    events for all of them: every fourth address defers then bounces, the others are delivered,
    opened and clicked (the dead relay's email "processed" first)."""
    contacts = [make_contact(f"c{index}-of-{customers}@customer.example") for index in range(customers)]
    surveys.send_invitations(make_survey(), [contact.id for contact in contacts])
    queued = outbox.take_queued_ids()
    db.session.rollback()
    first = db.session.scalar(select(Message.id).where(Message.contact_id == contacts[0].id))
    assert outbox.claim([first]) == [first]  # taken, then the relay was killed
    deliver_messages([id_ for id_ in queued if id_ != first])
    db.session.rollback()
    messages = list(db.session.scalars(select(Message).where(Message.id.in_(queued)).order_by(Message.contact_id)))
    base = int(time.time()) - 60
    events = []
    for index, message in enumerate(messages):
        names = (["deferred", "bounce"] if index % 4 == 3 else
                 ["processed", "delivered", "open", "click"] if index == 0 else ["delivered", "open", "click"])
        events += [event(message, name, timestamp=base + offset, **({"type": "bounce"} if name == "bounce" else {}))
                   for offset, name in enumerate(names)]
    return messages, events


def test_a_whole_sends_events_in_one_post_end_as_one_by_one_would_and_cost_a_few_statements(app, client, signer):
    """SendGrid posts up to a thousand events at once. Every email, invitation and contact ends where the
    events posted one at a time would leave it, and the post's statements do not grow with its events
    (one UPDATE and one read per event took 3 of a 1,000-event post's 4 s)."""
    from sqlalchemy import event as sqlalchemy_event

    statements = []

    def count(*_):
        statements.append(1)

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", count)
    try:
        taken = []
        for customers in (4, 12):
            messages, events = a_send_with_its_events(customers)
            statements.clear()
            assert post(client, signer, events).json["new"] == len(events)
            taken.append(len(statements))
            db.session.rollback()
            for index, message in enumerate(messages):
                invitation = db.session.get(Invitation, message.invitation_id)
                contact = db.session.get(Contact, message.contact_id)
                bounced = index % 4 == 3
                assert db.session.get(Message, message.id).status == ("bounced" if bounced else "delivered")
                assert invitation.status == ("bounced" if bounced else "clicked")
                assert invitation.sent_at is not None  # the dead relay's one too: "processed" settled it
                assert contact.suppressed_reason == ("bounce" if bounced else None)
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", count)
    assert taken[0] == taken[1], taken


def test_a_bounce_suppresses_the_contact_for_every_later_survey(app, client, signer):
    message = sent_survey()
    post(client, signer, [event(message, "bounce", type="bounce", reason="550 5.1.1 user unknown")])
    contact = fresh(Contact, message.contact_id)
    assert contact.suppressed_reason == "bounce" and fresh(Message, message.id).status == "bounced"
    assert db.session.get(Invitation, message.invitation_id).status == "bounced"
    later = surveys.send_invitations(make_survey("csat", quarantine_days=0), [contact.id])
    assert later.skipped == [(contact.id, "suppressed (bounce)")]


def test_a_blocked_bounce_does_not_suppress_the_contact_but_an_untyped_bounce_does(app, client, signer):
    """SendGrid's 'blocked' bounce is the receiving server refusing for now (a blocklist, a full quota):
    the address is good and later surveys still go to it. A bounce event without a type (the older
    format) is a hard bounce."""
    message, other = sent_survey(), sent_survey("bob@customer.example")
    post(client, signer, [event(message, "bounce", type="blocked", reason="421 try again later")])
    contact = fresh(Contact, message.contact_id)
    assert contact.suppressed_reason is None
    later = surveys.send_invitations(make_survey("csat", quarantine_days=0), [contact.id])
    assert later.skipped == [] and len(later.invitations) == 1

    post(client, signer, [event(other, "bounce", reason="550 5.1.1 user unknown")])
    assert fresh(Contact, other.contact_id).suppressed_reason == "bounce"


def test_a_spam_report_unsubscribes_and_suppresses(app, client, signer):
    message = sent_survey()
    post(client, signer, [event(message, "spamreport")])
    contact = fresh(Contact, message.contact_id)
    assert contact.suppressed_reason == "spam_report" and contact.unsubscribed_at is not None


def test_an_unsubscribe_event_is_honoured(app, client, signer):
    message = sent_survey()
    post(client, signer, [event(message, "group_unsubscribe", asm_group_id=1)])
    assert fresh(Contact, message.contact_id).unsubscribed_at is not None


def test_unsubscribing_through_sendgrids_own_link_stops_every_later_survey(app, client, signer):
    message = sent_survey()
    post(client, signer, [event(message, "unsubscribe")])
    contact = fresh(Contact, message.contact_id)
    assert contact.unsubscribed_at is not None
    later = surveys.send_invitations(make_survey("csat", quarantine_days=0), [contact.id])
    assert later.invitations == [] and later.skipped == [(contact.id, "unsubscribed")]


def closing_message_to_ann(client, drain) -> tuple[FeedbackItem, Message]:
    """Ann answered 2 ("Bad"); her item's owner wrote back "Hi Ann, fixed.": the item and the closing
    message, queued (not yet handed to SendGrid)."""
    from vocloop.items import service as items
    admin = make_user("admin@example.com", role="admin", name="Alex")
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 2, "Bad")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    return item, items.close_with_message(admin, item, "Hi Ann, fixed.")


def test_a_bounced_closing_message_reopens_the_item_and_tells_its_owner(app, client, signer, sendgrid, drain):
    item, closing = closing_message_to_ann(client, drain)
    deliver_messages(outbox.take_queued_ids())
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is not None
    closing = db.session.get(Message, closing.id)
    assert closure(item.created_at, item.created_at.replace(year=2100))["loop_closed"] == 1
    assert post(client, signer, [event(closing, "bounce", type="bounce", reason="mailbox full")]).status_code == 200
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is None and item.status == "in_progress"
    assert item.events[-1].kind == "message_bounced" and "mailbox full" in item.events[-1].body
    assert closure(item.created_at, item.created_at.replace(year=2100))["loop_closed"] == 0
    notices = [e.subject for e in sendgrid.emails() if e.to == "admin@example.com"]
    assert sum("did not reach the customer" in subject for subject in notices) == 1
    [notice] = [e for e in sendgrid.emails() if e.to == "admin@example.com" and "did not reach" in e.subject]
    assert ("The item is open again: try another way to reach the customer, or close it without a message and "
            "say why." in notice.text)


def test_a_late_processed_event_after_a_bounce_does_not_close_the_loop_again(app, client, signer, drain):
    """SendGrid's events arrive out of order: the 'processed' of a closing message that then bounced
    can come after the bounce. The item stays back with its owner, not loop-closed."""
    item, closing = closing_message_to_ann(client, drain)
    deliver_messages(outbox.take_queued_ids())
    closing = fresh(Message, closing.id)
    post(client, signer, [event(closing, "bounce", type="bounce", reason="mailbox full")])
    post(client, signer, [event(closing, "processed")])
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is None and item.status == "in_progress"
    assert [e.kind for e in item.events][-2:] == ["message_sent", "message_bounced"]


@needs_postgresql  # two workers writing the same events at once
def test_a_batch_and_its_retry_written_at_once_store_each_event_once_and_both_get_an_answer(app, signer):
    """SendGrid retries a batch it thinks timed out while the first copy is still being written, on another
    worker. Events of mail vocloop did not send lock no email of ours, so the copies meet on the events'
    keys: the later one looks again and answers that all were duplicates, not a 500 (retried for days)."""
    import threading

    from sqlalchemy import event as sqlalchemy_event
    from sqlalchemy import text

    batch = [{"event": name, "email": "x@elsewhere.example", "timestamp": int(time.time()),
              "sg_event_id": uuid.uuid4().hex, "sg_message_id": "other-app.x0"} for name in ("delivered", "open")]
    raw = json.dumps(batch).encode()
    first_wrote, go_on, paused, answers = threading.Event(), threading.Event(), [], {}

    def hold_the_first_copy_before_its_commit(conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO mail_events") and not paused:
            paused.append(1)
            first_wrote.set()
            go_on.wait(20)

    def post_copy(name):
        answers[name] = app.test_client().post(URL, data=raw, headers=signer.sign(raw))

    def waiting_on_a_lock():
        with db.engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND datname = current_database()"))

    sqlalchemy_event.listen(db.engine, "after_cursor_execute", hold_the_first_copy_before_its_commit)
    try:
        first = threading.Thread(target=post_copy, args=("first",))
        first.start()
        assert first_wrote.wait(20)
        second = threading.Thread(target=post_copy, args=("second",))
        second.start()
        deadline = time.monotonic() + 20
        while not waiting_on_a_lock() and time.monotonic() < deadline:  # the retry waits on the first's keys
            time.sleep(0.05)
        go_on.set()
        first.join(30)
        second.join(30)
    finally:
        go_on.set()
        sqlalchemy_event.remove(db.engine, "after_cursor_execute", hold_the_first_copy_before_its_commit)
    assert {name: (r.status_code, r.json) for name, r in answers.items()} == {
        "first": (200, {"received": 2, "new": 2, "duplicate": 0, "ignored": 0}),
        "second": (200, {"received": 2, "new": 0, "duplicate": 2, "ignored": 0})}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MailEvent)) == 2

@needs_postgresql  # the webhook writes while the relay's request is out: two connections at once
def test_a_bounce_reported_while_the_relay_waits_for_sendgrid_leaves_the_item_with_its_owner(
        app, client, signer, sendgrid, drain, monkeypatch):
    """SendGrid can report a bounce before it answers the relay's request. The bounce is the outcome:
    the relay's "accepted" then changes neither the message nor the item, which stays back with its
    owner, told once, instead of ending loop-closed though Ann never got the email."""
    item, closing = closing_message_to_ann(client, drain)
    backend = get_backend()
    send = backend.send

    def bounced_before_the_answer(envelope):
        provider_id = send(envelope)
        bounce = {"event": "bounce", "type": "bounce", "reason": "mailbox full", "email": "ann@customer.example",
                  "timestamp": int(time.time()), "sg_event_id": uuid.uuid4().hex,
                  "sg_message_id": f"{provider_id}.x0", "vocloop_message_id": str(closing.id),
                  "vocloop_key": closing.idempotency_key}
        assert post(client, signer, [bounce]).status_code == 200
        return provider_id

    monkeypatch.setattr(backend, "send", bounced_before_the_answer)
    deliver_messages(outbox.take_queued_ids())
    drain()
    item = fresh(FeedbackItem, item.id)
    assert db.session.get(Message, closing.id).status == "bounced"
    assert item.loop_closed_at is None and item.status == "in_progress"
    assert [e.kind for e in item.events].count("message_bounced") == 1 and item.events[-1].kind == "message_bounced"
    assert closure(item.created_at, item.created_at.replace(year=2100))["loop_closed"] == 0
    notices = [e.subject for e in sendgrid.emails() if e.to == "admin@example.com"]
    assert sum("did not reach the customer" in subject for subject in notices) == 1


def test_a_closing_message_whose_relay_died_is_settled_by_sendgrids_delivered_event(app, client, signer, drain):
    """The relay handed the closing message to SendGrid and died before writing down the answer
    (the row is still 'sending'): SendGrid's 'delivered' event is proof enough, and the loop closes,
    once."""
    item, closing = closing_message_to_ann(client, drain)
    assert outbox.claim(outbox.take_queued_ids()) == [closing.id]  # taken, then the relay was killed
    closing = fresh(Message, closing.id)
    assert closing.status == "pending" and closing.lease_until is not None  # held by the dead relay
    assert fresh(FeedbackItem, item.id).loop_closed_at is None
    post(client, signer, [event(closing, "delivered")])
    post(client, signer, [event(closing, "open")])
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.status == "closed" and item.loop_closed_at is not None
    assert [e.kind for e in item.events].count("message_sent") == 1
    assert closure(item.created_at, item.created_at.replace(year=2100))["loop_closed"] == 1


def test_a_closing_message_the_customer_opened_is_not_sent_again_though_its_other_events_were_lost(
        app, client, signer, sendgrid, drain):
    """The relay handed the closing message to SendGrid and died; SendGrid's 'processed' and 'delivered'
    never came (lost, or still on their way) but Ann's 'open' did: she has it. The loop closes once and
    the relay, back after the lease, does not send it a second time."""
    from datetime import timedelta

    from vocloop.db import utcnow

    item, closing = closing_message_to_ann(client, drain)
    assert outbox.claim(outbox.take_queued_ids()) == [closing.id]  # taken, then the relay was killed
    before = sum(email.to == "ann@customer.example" for email in sendgrid.emails())
    assert post(client, signer, [event(fresh(Message, closing.id), "open")]).status_code == 200
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is not None and fresh(Message, closing.id).status == "delivered"
    from sqlalchemy import update

    from vocloop.mail.models import QueuedMessage
    db.session.execute(update(QueuedMessage).where(QueuedMessage.message_id == closing.id)  # the dead relay's
                       .values(lease_until=utcnow() - timedelta(hours=1)))  # lease long run out
    db.session.commit()
    deliver_messages([closing.id])  # a relay looks again
    assert sum(email.to == "ann@customer.example" for email in sendgrid.emails()) == before
    assert [e.kind for e in fresh(FeedbackItem, item.id).events].count("message_sent") == 1


def test_a_closing_message_sendgrid_took_but_answered_too_late_for_is_settled_by_its_event(
        app, client, signer, sendgrid, drain):
    """SendGrid took the closing message but answered after the relay stopped waiting, so the relay
    put it back for a retry. SendGrid's 'delivered' event then proves the customer has it: the loop
    closes, and the retry does not send it a second time."""
    item, closing = closing_message_to_ann(client, drain)

    def to_ann():
        return sum(email.to == "ann@customer.example" for email in sendgrid.emails())

    app.config["SENDGRID_TIMEOUT_SECONDS"] = 0.25  # SendGrid answers 2 s late: the relay stops waiting
    app.extensions.pop("vocloop.mail_backend", None)
    sendgrid.respond_delay = 2
    assert deliver_messages(outbox.take_queued_ids())["retry"] == 1
    sendgrid.respond_delay = 0
    closing = fresh(Message, closing.id)
    assert closing.status == "pending" and to_ann() == 1
    post(client, signer, [event(closing, "delivered")])
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.status == "closed" and item.loop_closed_at is not None
    assert fresh(Message, closing.id).next_attempt_at is None  # settled: no retry is left to fall due
    deliver_messages([closing.id])
    assert to_ann() == 1


def relay_gives_up_though_sendgrid_takes_it(app, sendgrid, closing: Message) -> Message:
    """SendGrid is busy for seven tries and takes the eighth after the relay stopped waiting: the relay
    gives up (the message failed, its item back with its owner) though Ann will get the email."""
    from vocloop.db import utcnow

    outbox.take_queued_ids()
    app.config["SENDGRID_TIMEOUT_SECONDS"] = 0.25  # SendGrid answers 2 s late: the relay stops waiting
    app.extensions.pop("vocloop.mail_backend", None)
    sendgrid.fail_next(503, times=outbox.MAX_ATTEMPTS - 1)
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        sendgrid.respond_delay = 2 if attempt == outbox.MAX_ATTEMPTS else 0
        db.session.get(Message, closing.id).next_attempt_at = utcnow()
        db.session.commit()
        deliver_messages([closing.id])
        db.session.rollback()
    sendgrid.respond_delay = 0
    closing = fresh(Message, closing.id)
    item = fresh(FeedbackItem, closing.item_id)
    assert closing.status == "failed" and item.loop_closed_at is None and item.status == "in_progress"
    return closing


def test_a_closing_message_the_relay_gave_up_on_though_sendgrid_took_it_closes_the_loop_when_delivered(
        app, client, signer, sendgrid, drain):
    """The relay gave up on Ann's closing message and the item went back to Alex; nobody touched it since.
    SendGrid's 'delivered' event then proves Ann has it: the loop closes at that time, the item is closed
    again as Alex closed it (out of his open items, no second message to write), the activity says why,
    and the email reads delivered, accepted, with no error from the give-up."""
    from tests.factories import login

    item, closing = closing_message_to_ann(client, drain)
    closing = relay_gives_up_though_sendgrid_takes_it(app, sendgrid, closing)
    login(client, "admin@example.com")
    assert f"/inbox/items/{item.id}" in client.get("/inbox/?tab=mine").get_data(as_text=True)  # back with Alex

    delivered_at = int(time.time()) - 30
    assert post(client, signer, [event(closing, "delivered", timestamp=delivered_at)]).status_code == 200
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at.timestamp() == delivered_at
    assert item.status == "closed" and item.close_reason == "closing_message" and item.closed_at == closing.created_at
    assert closure(item.created_at, item.created_at.replace(year=2100))["loop_closed"] == 1
    assert [e.kind for e in item.events][-2:] == ["message_failed", "message_sent"]
    assert "reached the customer after all" in item.events[-1].body and "closed again" in item.events[-1].body
    assert f"/inbox/items/{item.id}" not in client.get("/inbox/?tab=mine").get_data(as_text=True)
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "<strong>delivered after all</strong>" in page  # the activity's entry, above "closing message failed"
    assert "<strong>delivered</strong> · to ann@customer.example" in page and " · accepted " in page
    assert '<p class="error">gave up' not in page
    assert not [e for e in sendgrid.emails() if "after all" in e.subject]  # nothing for Alex to do


def test_a_closing_message_delivered_after_the_owner_moved_on_leaves_the_item_open_and_tells_the_owner(
        app, client, signer, sendgrid, drain):
    """The relay gave up on Ann's closing message; Alex noted he would call her instead. When SendGrid's
    events prove Ann got the email after all, the loop counts closed but the item stays in Alex's hands,
    and he is told once by email, so he does not write to Ann a second time without knowing."""
    from vocloop.items import service as items

    item, closing = closing_message_to_ann(client, drain)
    closing = relay_gives_up_though_sendgrid_takes_it(app, sendgrid, closing)
    items.add_note(item.owner, fresh(FeedbackItem, item.id), "Calling Ann tomorrow instead.")
    db.session.commit()

    assert post(client, signer, [event(closing, "delivered"), event(closing, "open")]).status_code == 200
    drain()
    deliver_messages(outbox.take_queued_ids())
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is not None and item.status == "in_progress" and item.closed_at is None
    assert "reached the customer after all" in item.events[-1].body and "stays open" in item.events[-1].body
    assert [e.to for e in sendgrid.emails() if "reached the customer after all" in e.subject] == ["admin@example.com"]


def test_a_survey_email_sendgrid_drops_does_not_count_as_reaching_the_customer(app, client, signer):
    """SendGrid drops a survey email (the address unsubscribed through SendGrid itself): the survey's
    page no longer counts it as reached, so the response rate is not diluted by it."""
    from tests.factories import login
    make_user("admin@example.com", role="admin")
    message = sent_survey()
    survey_page = f"/surveys/{db.session.get(Invitation, message.invitation_id).survey_id}"
    login(client, "admin@example.com")
    page = client.get(survey_page).get_data(as_text=True)
    assert "1 invited, 1 reached, 0 answered" in page
    post(client, signer, [event(message, "dropped", reason="Unsubscribed Address")])
    assert db.session.get(Invitation, message.invitation_id).status == "dropped"
    assert fresh(Contact, message.contact_id).suppressed_reason is None  # the address itself is fine
    page = client.get(survey_page).get_data(as_text=True)
    assert "1 invited, 0 reached, 0 answered" in page


def test_a_closing_message_sendgrid_drops_reopens_the_item_and_tells_its_owner(app, client, signer, sendgrid, drain):
    item, closing = closing_message_to_ann(client, drain)
    deliver_messages(outbox.take_queued_ids())
    closing = fresh(Message, closing.id)
    post(client, signer, [event(closing, "dropped", reason="Bounced Address")])
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is None and item.status == "in_progress"
    assert item.events[-1].kind == "message_bounced" and "dropped: Bounced Address" in item.events[-1].body
    ann = fresh(Contact, closing.contact_id)  # SendGrid dropped it as an address that bounced before
    assert ann.suppressed_reason == "dropped"
    assert surveys.send_invitations(make_survey("csat", quarantine_days=0), [ann.id]).skipped == [
        (ann.id, "suppressed (dropped)")]
    notices = [e.subject for e in sendgrid.emails() if e.to == "admin@example.com"]
    assert sum("did not reach the customer" in subject for subject in notices) == 1


def test_a_closing_message_the_customer_marks_as_spam_reopens_the_item_and_says_so(app, client, signer, sendgrid,
                                                                                     drain):
    """The customer got the closing message but reported it as spam: the loop is not closed for them (the
    owner sees it in words and by email, and answers some other way), and they get no more surveys."""
    item, closing = closing_message_to_ann(client, drain)
    deliver_messages(outbox.take_queued_ids())
    closing = fresh(Message, closing.id)
    post(client, signer, [event(closing, "delivered")])
    assert fresh(FeedbackItem, item.id).loop_closed_at is not None
    post(client, signer, [event(closing, "spamreport")])
    drain()
    item = fresh(FeedbackItem, item.id)
    assert item.loop_closed_at is None and item.status == "in_progress"
    assert item.events[-1].body == "ann@customer.example marked the closing message as spam"
    assert fresh(Contact, closing.contact_id).suppressed_reason == "spam_report"
    notices = [e.subject for e in sendgrid.emails() if e.to == "admin@example.com"]
    assert f"Item #{item.id}: the customer marked your closing message as spam" in notices


def test_erasing_a_customer_leaves_their_address_in_none_of_sendgrids_events(app, client, signer):
    """SendGrid's events name the customer (the address, a bounce's words): each is kept with the email it
    concerns, so that erasing the customer blanks them too."""
    from vocloop.contacts.privacy import erase_contact

    message = sent_survey()
    post(client, signer, [event(message, "delivered"), event(message, "deferred",
                                                             response="452 ann@customer.example over quota")])
    assert {e.message_id for e in db.session.scalars(select(MailEvent))} == {message.id}
    erase_contact(fresh(Contact, message.contact_id))
    stored = [(e.email, e.payload) for e in db.session.scalars(select(MailEvent))]
    assert stored == [("", {}), ("", {})]


def test_events_for_unknown_messages_are_kept_but_change_nothing(app, client, signer):
    events = [{"event": "delivered", "email": "x@y.example", "timestamp": int(time.time()),
               "sg_event_id": "e1", "vocloop_message_id": "424242"},
              {"event": "nonsense", "sg_event_id": "e2", "timestamp": 1}, "not an object"]
    response = post(client, signer, events)
    assert response.status_code == 200 and response.json == {"received": 3, "new": 1, "duplicate": 0,
                                                              "ignored": 2}


def test_events_for_mail_vocloop_did_not_send_are_kept_and_change_nothing(app, client, signer):
    """Another app sending through the same SendGrid account: its events carry no vocloop_message_id.
    They are stored once, like any event, and move no message of ours; ours in the same batch still count."""
    message = sent_survey()
    theirs = {"event": "bounce", "email": message.to_email, "timestamp": int(time.time()) - 10,
              "sg_event_id": uuid.uuid4().hex, "sg_message_id": "other-app.x0", "type": "bounce"}
    response = post(client, signer, [theirs, theirs, event(message, "delivered")])
    assert response.json == {"received": 3, "new": 2, "duplicate": 1, "ignored": 0}
    stored = {e.provider_event_id: e.message_id for e in db.session.scalars(select(MailEvent))}
    assert stored[theirs["sg_event_id"]] is None and len(stored) == 2
    assert fresh(Message, message.id).status == "delivered"
    assert fresh(Contact, message.contact_id).suppressed_reason is None


def test_without_a_configured_key_the_endpoint_is_off(app, client):
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = None
    assert client.post(URL, data="[]").status_code == 404




def test_one_odd_event_in_a_signed_batch_is_skipped_and_the_others_count(app, client, signer):
    """Each of these was a 500 for the whole batch (SendGrid then retried it for days)."""
    message = sent_survey()
    deep: object = "x"
    for _ in range(400):
        deep = {"a": [deep]}
    odd = [
        event(message, "open", timestamp=10**12),  # beyond any date the database keeps
        event(message, "open", timestamp=-10**12),
        event(message, "open", vocloop_message_id="9" * 30),  # beyond an INTEGER column
        event(message, "open", vocloop_message_id="0" * 5000),
        event(message, "open", vocloop_message_id="٥"),  # a digit, but not an ASCII one
        event(message, "open", sg_message_id="m" * 5000),
        event(message, "open", sg_event_id="e" * 5000),  # longer than the column
        event(message, "open", sg_event_id="nul\x00id"),
        event(message, "open", sg_event_id=""),  # no id: its retries could not be told from other events
        event(message, "open", useragent="nul \x00 inside"),
        event(message, "open", useragent="lone \ud800 surrogate"),
        event(message, "open", nested=deep),
        event(message, "open", **{"nul\x00key": "x"}),  # the same in a field's name
        event(message, "open", **{"lone \ud800 key": "x"}),
    ]
    good = event(message, "delivered")
    for position in (0, len(odd)):  # the good event first and last
        batch = odd[:position] + [good] + odd[position:]
        response = post(client, signer, batch)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.json["ignored"] == len(odd)
    assert fresh(Message, message.id).status == "delivered"
    assert [e.provider_event_id for e in db.session.scalars(select(MailEvent))] == [good["sg_event_id"]]


def test_events_in_any_language_count_and_only_numbers_no_database_keeps_are_skipped(app, client, signer):
    """A bounce reason in French, a customer's address with an accent, a fraction in a field: the events
    count like any other. Only NaN and the infinities (which a JSON parser takes but PostgreSQL's JSON
    refuses: a 500 for the whole batch there) are skipped, alone."""
    message = sent_survey("zoë@müller.example")
    odd = [event(message, "open", weight=float("nan")), event(message, "open", weight=float("inf")),
           event(message, "open", weight=float("-inf"))]
    good = [event(message, "deferred", response="Boîte pleine, réessayez plus tard", weight=0.5),
            event(message, "delivered", response="250 2.0.0 Ok: délivré à zoë@müller.example")]
    response = post(client, signer, [odd[0], good[0], odd[1], good[1], odd[2]])
    assert response.status_code == 200
    assert response.json == {"received": 5, "new": 2, "duplicate": 0, "ignored": 3}
    assert fresh(Message, message.id).status == "delivered"
    stored = {e.provider_event_id: e for e in db.session.scalars(select(MailEvent))}
    assert sorted(stored) == sorted(e["sg_event_id"] for e in good)
    assert stored[good[0]["sg_event_id"]].payload["response"] == "Boîte pleine, réessayez plus tard"
    assert stored[good[1]["sg_event_id"]].email == "zoë@müller.example"


def test_an_event_nested_as_deep_as_the_limit_counts_and_one_level_deeper_is_skipped(app, client, signer):
    """MAX_DEPTH levels of objects and lists, the event itself the first: stored; one more: skipped alone."""
    from vocloop.delivery.events import MAX_DEPTH

    def nested(levels):
        value = "x"
        for _ in range(levels):
            value = [value]
        return value

    message = sent_survey()
    at_the_limit, deeper = event(message, "open", nested=nested(MAX_DEPTH - 1)), event(
        message, "click", nested=nested(MAX_DEPTH))
    assert post(client, signer, [at_the_limit, deeper]).json == {"received": 2, "new": 1, "duplicate": 0,
                                                                 "ignored": 1}
    assert [e.provider_event_id for e in db.session.scalars(select(MailEvent))] == [at_the_limit["sg_event_id"]]


def test_a_batch_nested_too_deeply_to_parse_is_refused_not_a_500(app, client, signer):
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post(URL, data=body, headers=signer.sign(body))
    assert response.status_code == 403 and "nested too deeply" in response.get_data(as_text=True)
