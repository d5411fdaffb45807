"""Queue emails as outbox rows, and relay them to the backend exactly once.

A row is claimed with a lease before it is sent, so two relays never send the same row;
a relay that dies mid-send leaves a lease that expires, and the row is picked up again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.mail import get_backend
from vocloop.mail.base import OutgoingEmail, PermanentMailError, TransientMailError
from vocloop.mail.models import Message

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
MAX_ATTEMPTS = 8


def queue_message(*, key: str, kind: str, to_email: str, to_name: str = "", subject: str,
                  html: str, text: str, **links) -> Message:
    """Add an outbox row to the current transaction; the caller commits it with its cause."""
    config = current_app.config
    message = Message(idempotency_key=key, kind=kind, to_email=to_email, to_name=to_name,
                      from_email=config["MAIL_FROM"], from_name=links.pop("from_name", None)
                      or config["MAIL_FROM_NAME"], subject=subject, html=html, text=text, **links)
    db.session.add(message)
    return message


def claim(message_id: int) -> bool:
    """Take the row for sending, atomically; False when it is not due or another relay has it."""
    now = utcnow()
    result = db.session.execute(
        update(Message)
        .where(Message.id == message_id, Message.next_attempt_at <= now,
               or_(Message.status == "pending",
                   (Message.status == "sending") & (Message.lease_until < now)))
        .values(status="sending", lease_until=now + timedelta(seconds=LEASE_SECONDS),
                attempts=Message.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


MessageHook = Callable[[Message], None]


def deliver(message_id: int, on_accepted: MessageHook | None = None,
            on_failed: MessageHook | None = None) -> Message | None:
    """Send one outbox row if it is due; the hooks run in the transaction that records the outcome."""
    if not claim(message_id):
        return None
    message = db.session.get(Message, message_id, populate_existing=True)
    email = OutgoingEmail(
        message_id=message.id, idempotency_key=message.idempotency_key, to_email=message.to_email,
        to_name=message.to_name, from_email=message.from_email, from_name=message.from_name,
        subject=message.subject, html=message.html, text=message.text,
        custom_args={"vocloop_message_id": str(message.id), "vocloop_key": message.idempotency_key},
    )
    try:
        provider_id = get_backend().send(email)
    except TransientMailError as exc:
        _schedule_retry(message, str(exc), exc.retry_after)
    except PermanentMailError as exc:
        message.status, message.last_error, message.lease_until = "failed", str(exc), None
    else:
        message.status, message.provider_message_id = "sent", provider_id
        message.sent_at, message.lease_until, message.last_error = utcnow(), None, None
    if message.status == "sent" and on_accepted:
        on_accepted(message)
    elif message.status == "failed" and on_failed:
        on_failed(message)
    db.session.commit()
    return message


def _schedule_retry(message: Message, error: str, retry_after: float | None) -> None:
    message.last_error, message.lease_until = error, None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = "failed"
        message.last_error = f"gave up after {message.attempts} attempts: {error}"
        return
    backoff = min(3600.0, 30.0 * 2 ** (message.attempts - 1)) * random.uniform(0.5, 1.5)
    delay = max(backoff, retry_after or 0)
    message.status, message.next_attempt_at = "pending", utcnow() + timedelta(seconds=delay)
    log.warning("mail %s deferred %.0fs: %s", message.id, delay, error)


def due_message_ids(limit: int = 1000, grace_seconds: int = 60) -> list[int]:
    """Rows the sweep should hand to a relay: pending and due for a while (the job that queued
    them was lost, or a retry is due), or sending with an expired lease (a relay died)."""
    now = utcnow()
    return list(db.session.scalars(
        select(Message.id)
        .where(or_((Message.status == "pending") & (Message.next_attempt_at <= now - timedelta(seconds=grace_seconds)),
                   (Message.status == "sending") & (Message.lease_until < now)))
        .order_by(Message.id).limit(limit)
    ))
