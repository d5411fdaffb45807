"""SendGrid's events for a whole send, every one delivered three times, out of order, in batches
posted at once to both gunicorn workers: message and invitation states, suppressions and the
survey's reach are what a single, orderly delivery would have made them."""

from __future__ import annotations

import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from tests.faults.conftest import wait_for
from tests.faults.test_mail_faults import seed, send_through_api, settled
from vocloop.contacts.models import Contact
from vocloop.extensions import db
from vocloop.mail.models import MailEvent, Message
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

CUSTOMERS = 400
BOUNCING = range(0, CUSTOMERS, 10)  # every 10th address bounces after a deferral


def events_of(message, index: int, base: int) -> list[dict]:
    names = ["deferred", "bounce"] if index in BOUNCING else ["delivered", "open", "click"]
    return [{"event": name, "email": message.to_email, "timestamp": base + offset, "sg_event_id": uuid.uuid4().hex,
             "sg_message_id": f"{message.provider_message_id}.filter0", "vocloop_message_id": str(message.id),
             "vocloop_key": message.idempotency_key, **({"type": "bounce", "reason": "550 5.1.1 user unknown"}
                                                        if name == "bounce" else {})}
            for offset, name in enumerate(names)]


def test_every_event_three_times_out_of_order_from_concurrent_posts_counts_once(app, stack):
    survey_id, ids, token = seed(CUSTOMERS, "storm")
    send_through_api(stack, survey_id, ids, token)
    wait_for(lambda: settled("storm", CUSTOMERS), 120, "the send", every=0.5)
    messages = list(db.session.scalars(select(Message).where(Message.to_email.like("storm%")).order_by(Message.id)))
    base = int(time.time()) - 120
    events = [event for index, message in enumerate(messages) for event in events_of(message, index, base)]
    copies = [dict(event) for event in events for _ in range(3)]
    random.Random(10).shuffle(copies)
    batches = [copies[start:start + 30] for start in range(0, len(copies), 30)]

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # eight posts in flight: both workers, all their threads
        statuses = list(pool.map(stack.stub.post_events, batches))
    assert set(statuses) == {200}, statuses
    print(f"\nevent storm: {len(copies)} events ({len(events)} distinct) in {len(batches)} posts, "
          f"{time.monotonic() - started:.1f} s")

    db.session.rollback()
    message_ids = [message.id for message in messages]
    stored = db.session.scalar(select(func.count()).select_from(MailEvent).where(MailEvent.message_id.in_(message_ids)))
    assert stored == len(events) + CUSTOMERS  # each once, beside the stub's own "processed" per email
    bounced = {messages[index].id for index in BOUNCING}
    states = dict(db.session.execute(select(Message.id, Message.status).where(Message.id.in_(message_ids))).all())
    assert {id_ for id_, status in states.items() if status == "bounced"} == bounced
    assert {status for id_, status in states.items() if id_ not in bounced} == {"delivered"}
    invitation_states = dict(db.session.execute(select(Invitation.contact_id, Invitation.status)
                                                .where(Invitation.survey_id == survey_id)).all())
    bouncing_contacts = {ids[index] for index in BOUNCING}
    assert {contact for contact, status in invitation_states.items() if status == "bounced"} == bouncing_contacts
    assert {status for contact, status in invitation_states.items() if contact not in bouncing_contacts} \
        == {"clicked"}
    assert set(db.session.scalars(select(Contact.id).where(Contact.id.in_(ids), Contact.suppressed_reason.is_not(
        None)))) == bouncing_contacts
    stats = surveys.survey_stats()[survey_id]
    assert (stats["invited"], stats["reached"]) == (CUSTOMERS, CUSTOMERS - len(BOUNCING))
