"""SendGrid's Event Webhook: verify, deduplicate, and move each message's status forward only.

Events arrive in batches, out of order, and more than once. Each is stored once (its sg_event_id
is unique); a message's status only ever moves up the ladder below, so a late "processed" after
"delivered" changes nothing, and a bounce after delivery still counts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from vocloop.extensions import db
from vocloop.mail.models import MailEvent, Message, QueuedMessage

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 300
RETRIES = 3
STATUS_RANK = {"pending": 0, "sending": 1, "failed": 1, "sent": 2, "deferred": 3, "delivered": 4,
               "bounced": 5, "dropped": 5, "spam_report": 6}
# The message status an event proves; events not listed (open, click, unsubscribe) leave it alone.
EVENT_STATUS = {"processed": "sent", "deferred": "deferred", "delivered": "delivered", "bounce": "bounced",
                "dropped": "dropped", "spamreport": "spam_report"}
KNOWN_EVENTS = set(EVENT_STATUS) | {"open", "click", "unsubscribe", "group_unsubscribe", "group_resubscribe"}
# An email the customer opened or clicked was delivered: for one the relay still holds (its "processed" and
# "delivered" lost or late), that is the proof it needs not to send it a second time.
PROVES_DELIVERED = {"open", "click"}
UNSETTLED = ("pending", "sending", "failed")  # the relay still holds the message: no event has settled it


@dataclass(frozen=True)
class ProviderEvent:
    """A new event, already applied to its message, for the rest of the loop to follow: the message's
    status before and right after this event (later events of the batch may move it on)."""
    message: Message
    event: str
    payload: dict
    previous_status: str
    status: str


# Given a batch's new events that have a message, in the order they happened.
EventHook = Callable[[list[ProviderEvent]], None]


class InvalidWebhook(Exception):
    """The request is not a genuine, fresh SendGrid event batch; the message says why."""


def verify(raw_body: bytes, signature: str | None, timestamp: str | None, public_key: str,
           now: datetime) -> list[dict]:
    """Check the ECDSA signature over timestamp + body and the timestamp's age; the parsed events."""
    if not signature or not timestamp:
        raise InvalidWebhook("missing signature headers")
    if not timestamp.isdigit():
        raise InvalidWebhook("malformed timestamp")
    if abs(now.timestamp() - int(timestamp)) > MAX_AGE_SECONDS:
        raise InvalidWebhook("timestamp older than 5 minutes (replay?) or in the future")
    try:
        payload = raw_body.decode("utf-8")
        base64.b64decode(signature, validate=True)
    except (UnicodeDecodeError, binascii.Error):
        raise InvalidWebhook("malformed body or signature") from None
    verifier = EventWebhook()
    if not verifier.verify_signature(payload, signature, timestamp, verifier.convert_public_key_to_ecdsa(public_key)):
        raise InvalidWebhook("signature does not match")
    try:
        events = json.loads(payload)
    except ValueError:
        raise InvalidWebhook("body is not JSON") from None
    except RecursionError:
        raise InvalidWebhook("body is nested too deeply to be SendGrid's") from None
    if not isinstance(events, list):
        raise InvalidWebhook("body is not a list of events")
    return events


def record_events(events: list, on_change: EventHook | None = None) -> dict[str, int]:
    """Store each new event once and apply it; duplicates (webhook retries) count once.

    SendGrid posts batches concurrently, and a retried batch can land beside its first copy on
    another worker. _record takes the batch's messages' row locks first, in id order, so batches
    touching the same messages apply one after the other; what can still collide (the same unknown
    event twice, a contact shared by two messages) is retried with a fresh look at what is stored."""
    for attempt in range(RETRIES):
        try:
            return _record(events, on_change)
        except (IntegrityError, OperationalError) as exc:
            db.session.rollback()
            if attempt == RETRIES - 1 or not _lost_a_race(exc):
                raise
    return {}


def _lost_a_race(exc: Exception) -> bool:
    """A duplicate key or a deadlock against a concurrent batch: the batch is worth another go."""
    return isinstance(exc, IntegrityError) or getattr(getattr(exc, "orig", None), "sqlstate", None) in (
        "40P01", "40001")


# What a genuine event fits: its id in provider_event_id's column, its time between 1970 and 3000,
# the message id in an INTEGER column, and a payload the database stores as JSON (no NUL, no lone
# surrogate, no NaN, not nested deeper than SendGrid ever does). An event outside these is skipped
# alone; the batch's other events still count (it was a 500 for the whole batch).
MAX_EVENT_ID_CHARS = 200
LATEST_TIMESTAMP = 32_503_680_000  # 3000-01-01
MAX_MESSAGE_ID = 2**31 - 1
MAX_DEPTH = 16


def _usable(event) -> bool:
    if not isinstance(event, dict) or event.get("event") not in KNOWN_EVENTS:
        return False
    event_id, timestamp, message_id = event.get("sg_event_id"), event.get("timestamp"), event.get("vocloop_message_id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_CHARS:
        return False
    if type(timestamp) is not int or not 0 <= timestamp < LATEST_TIMESTAMP:
        return False
    if message_id is not None and not (isinstance(message_id, str) and 0 < len(message_id) <= 10
                                       and message_id.isascii() and message_id.isdigit()
                                       and int(message_id) <= MAX_MESSAGE_ID):
        return False
    if not isinstance(event.get("sg_message_id", ""), str) or len(event.get("sg_message_id", "")) > 200:
        return False
    return _storable(event)


def _storable(value) -> bool:
    """JSON the database takes as it is: strings without NUL that encode as UTF-8, finite numbers,
    at most MAX_DEPTH levels. Walked without recursion, however deep the value."""
    stack = [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or not value.isascii() and not _utf8(value):
                return False
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return False
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return False
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None:
                    stack.append((key, depth + 1))
                stack.append((item, depth + 1))
    return True


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _record(events: list, on_change: EventHook | None) -> dict[str, int]:
    usable = [event for event in events if _usable(event)]
    message_ids = {_message_id(event) for event in usable} - {None}
    # Locked before reading which events are known: a concurrent copy of this batch has then committed.
    # The relay's queue rows first, as the relay locks them (mail/outbox.py): a relay then skips these
    # messages until their events are applied, instead of sending again what the provider has.
    if message_ids:
        db.session.execute(select(QueuedMessage.message_id).where(QueuedMessage.message_id.in_(message_ids))
                           .order_by(QueuedMessage.message_id).with_for_update())
    messages = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(message_ids))
                                                    .order_by(Message.id).with_for_update())} \
        if message_ids else {}
    ids = {event["sg_event_id"] for event in usable}
    known = set(db.session.scalars(select(MailEvent.provider_event_id)
                                   .where(MailEvent.provider_event_id.in_(ids)))) if ids else set()
    fresh, seen = [], set(known)
    for event in sorted(usable, key=lambda e: e["timestamp"]):
        if event["sg_event_id"] in seen:
            continue
        seen.add(event["sg_event_id"])
        fresh.append(event)
    # Stored in one bulk INSERT, in a fixed order: two batches holding the same unknown events wait on
    # each other in the same order instead of deadlocking.
    if fresh:
        db.session.execute(insert(MailEvent), [
            {"provider_event_id": event["sg_event_id"], "message_id": message.id if message else None,
             "event": event["event"], "email": str(event.get("email", ""))[:320],
             "occurred_at": datetime.fromtimestamp(event["timestamp"], UTC), "payload": event}
            for event, message in sorted(((event, messages.get(_message_id(event))) for event in fresh),
                                         key=lambda pair: pair[0]["sg_event_id"])])
    settled, changes = set(), []
    for event in fresh:
        message = messages.get(_message_id(event))
        if message is None:
            continue
        previous = message.status
        if _apply(message, event, datetime.fromtimestamp(event["timestamp"], UTC)):
            settled.add(message.id)
        changes.append(ProviderEvent(message, event["event"], event, previous, message.status))
    if on_change and changes:
        on_change(changes)
    if settled:  # the provider has them: off the relay's queue, so no relay sends them again
        db.session.execute(delete(QueuedMessage).where(QueuedMessage.message_id.in_(sorted(settled))))
    db.session.commit()
    return {"received": len(events), "new": len(fresh), "duplicate": len(usable) - len(fresh),
            "ignored": len(events) - len(usable)}


def _message_id(event: dict) -> int | None:
    value = event.get("vocloop_message_id")
    return int(value) if value is not None else None  # _usable checked it is ASCII digits in range


def _apply(message: Message, event: dict, occurred: datetime) -> bool:
    """Whether this event settled a message the relay still had (pending, or failed)."""
    previous = message.status
    status = EVENT_STATUS.get(event["event"])
    if status is None and event["event"] in PROVES_DELIVERED and previous in UNSETTLED:
        status = "delivered"
    settled = False
    if status and STATUS_RANK[status] > STATUS_RANK[previous]:
        message.status = status
        if previous in UNSETTLED:  # the provider proves it accepted the message
            settled = True
            message.sent_at = message.sent_at or occurred
            message.last_error = None
            message.provider_message_id = message.provider_message_id or str(
                event.get("sg_message_id", "")).split(".")[0] or None
    message.event_at = occurred
    return settled
