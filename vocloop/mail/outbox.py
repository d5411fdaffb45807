"""Queue emails as outbox rows, and relay them to the backend exactly once.

Rows are claimed with a lease before they are sent, so two relays never send the same row. If a
relay dies after the provider accepted a request but before it recorded that, the rows stay leased
past their lease; when the event webhook is configured, the provider's events settle them
(MAIL_SETTLE_SECONDS) before anything is re-sent, so a crash does not send twice. The relay's state
(due time, lease, attempts) is a narrow row of its own (QueuedMessage) until the message is settled:
taking a message rewrites that row, not the email's (issue #25).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable, Iterable
from datetime import timedelta
from itertools import groupby
from operator import itemgetter

from flask import current_app
from sqlalchemy import Text, bindparam, cast, delete, event, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from vocloop import post_commit
from vocloop.bulk import collector_paused
from vocloop.db import IdArray, among, insert_on_conflict, insert_rows, utcnow
from vocloop.extensions import db
from vocloop.mail import get_backend
from vocloop.mail.base import (
    Content,
    Envelope,
    PermanentMailError,
    Recipient,
    TransientMailError,
    apply_substitutions,
    single_line,
)
from vocloop.mail.models import Message, MessageTemplate, QueuedMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
_QUEUED = "vocloop.queued_messages"
_RETRIES = "vocloop.mail_retries"
MessagesHook = Callable[[list], None]


def queue_message(*, key: str, kind: str, to_email: str, to_name: str = "", subject: str, html: str, text: str,
                  reply_to: str | None = None, from_name: str | None = None, from_email: str | None = None,
                  headers: dict[str, str] | None = None, **links) -> Message:
    """Add an outbox row of words of its own (a closing message, a notice) to the current transaction; the
    caller commits it with its cause. Emails sharing one content go through queue_many, with a template."""
    config = current_app.config
    message = Message(idempotency_key=key, kind=kind, to_email=to_email, to_name=to_name,
                      from_email=from_email or config["MAIL_FROM"], from_name=from_name or config["MAIL_FROM_NAME"],
                      reply_to=reply_to, subject=subject, html=html, text=text, substitutions={}, headers=headers or {},
                      queued=QueuedMessage(), **links)
    db.session.add(message)
    post_commit.add(db.session, _QUEUED, [message])
    return message


def queue_many(rows: list[dict], template: MessageTemplate) -> list[int]:
    """Bulk form of queue_message for one template (a survey to thousands): written in bulk
    (db.insert_rows), many times faster than the ORM at this size; each row gives key, kind, to_email,
    to_name, substitutions, headers and its links (and may give from_name, from_email, reply_to).
    Their ids, in the order given."""
    if not rows:
        return []
    config = current_app.config
    now = utcnow()
    common = {"to_name": "", "reply_to": None, "substitutions": {}, "headers": {}, "contact_id": None,
              "invitation_id": None, "item_id": None, "subject": template.subject, "template_id": template.id,
              "status": "pending", "attempts": 0, "created_at": now}
    ids = insert_rows(db.session, Message.__table__, [
        {**common, **row, "from_name": row.get("from_name") or config["MAIL_FROM_NAME"],
         "from_email": row.get("from_email") or config["MAIL_FROM"]} for row in rows])
    _enqueue(ids, now)
    post_commit.add(db.session, _QUEUED, ids)
    return ids


def _enqueue(message_ids: list[int], due) -> None:
    """The relay's queue rows of these new messages, due at `due`: one statement on PostgreSQL."""
    table = QueuedMessage.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(insert(table), [{"message_id": message_id, "next_attempt_at": due, "attempts": 0}
                                           for message_id in message_ids])
        return
    db.session.execute(insert(table).from_select(
        ["message_id", "next_attempt_at", "attempts"],
        select(func.unnest(bindparam("ids", message_ids, type_=IdArray())),
               bindparam("due", due, type_=table.c.next_attempt_at.type), literal(0))))


def take_queued_ids() -> list[int]:
    """Ids of the rows queued by transactions of this session committed since the last call."""
    queued = post_commit.take(db.session, _QUEUED)
    return [item if isinstance(item, int) else item.id for item in queued
            if isinstance(item, int) or item.id is not None]


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session, previous_transaction) -> None:
    session.info.pop(_RETRIES, None)


def template_for(subject: str, html: str, text: str) -> MessageTemplate:
    """The stored template with exactly this content, created if new. Two sends of the same content at once
    make one template: the insert does nothing where the other's row is there (PostgreSQL waits for the
    other transaction to commit first), and the row is then read back, whichever transaction wrote it."""
    content_hash = hashlib.sha256("\x00".join((subject, html, text)).encode()).hexdigest()
    stored = select(MessageTemplate).where(MessageTemplate.content_hash == content_hash)
    template = db.session.scalar(stored)
    if template is None:
        db.session.execute(insert_on_conflict(db.session.get_bind().dialect.name)(MessageTemplate).values(
            content_hash=content_hash, subject=subject, html=html, text=text,
        ).on_conflict_do_nothing(index_elements=[MessageTemplate.content_hash]))
        template = db.session.scalar(stored)
    return template


def rendered(message: Message) -> Content:
    """The email as the customer receives it (substitutions applied)."""
    if message.template is None:
        return Content(message.subject, message.html or "", message.text or "")
    subs = message.substitutions or {}
    return Content(apply_substitutions(message.template.subject, subs),
                   apply_substitutions(message.template.html, subs), apply_substitutions(message.template.text, subs))


def _settle_seconds() -> int:
    config = current_app.config
    return config["MAIL_SETTLE_SECONDS"] if config.get("SENDGRID_WEBHOOK_PUBLIC_KEY") else 0


def _claimable(now):
    """Due and held by no relay, or held past the lease and the time events have to settle it."""
    stale_lease = now - timedelta(seconds=_settle_seconds())
    return or_(QueuedMessage.lease_until.is_(None) & (QueuedMessage.next_attempt_at <= now),
               QueuedMessage.lease_until < stale_lease)


# What the relay reads of each row it takes: enough to send it and to record the outcome, as plain rows
# (loading a thousand Message objects per request cost more than sending them); each row's substitutions
# and headers as their JSON text, decoded for the whole batch at once (see _personal).
RELAYED = (Message.id, Message.idempotency_key, Message.kind, Message.to_email, Message.to_name, Message.from_email,
           Message.from_name, Message.reply_to, Message.subject, Message.html, Message.text, Message.template_id,
           cast(Message.substitutions, Text).label("substitutions_json"),
           cast(Message.headers, Text).label("headers_json"), QueuedMessage.attempts, Message.contact_id,
           Message.invitation_id, Message.item_id)


def claim(message_ids: Iterable[int]) -> list[int]:
    """Take the due rows among these for sending, atomically; the ids actually taken."""
    return [row.id for row in _claim(message_ids, (Message.id,))]


def _claim(message_ids: Iterable[int], columns: tuple) -> list:
    """Claim (the leases committed before anything is sent), then read the claimed rows still pending
    (the provider's events may have settled one meanwhile), in id order."""
    ids = list(message_ids)
    if not ids:
        return []
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    # Rows another transaction holds (a relay taking them, events settling them) are skipped, not waited for.
    free = (select(QueuedMessage.message_id).where(among(db.session, QueuedMessage.message_id, ids), _claimable(now))
            .order_by(QueuedMessage.message_id).with_for_update(skip_locked=True))
    taken = db.session.scalars(
        update(QueuedMessage).where(QueuedMessage.message_id.in_(free))
        .values(lease_until=lease, attempts=QueuedMessage.attempts + 1)
        .returning(QueuedMessage.message_id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    if not taken:
        return []
    # The status is checked here rather than in SQL: the id list alone leads PostgreSQL to the primary key,
    # whatever its statistics (stale after a large send) believe of 'pending'.
    read = db.session.execute(
        select(Message.status, *columns).select_from(Message)
        .join(QueuedMessage, QueuedMessage.message_id == Message.id)
        .where(among(db.session, Message.id, taken)).order_by(Message.id)).all()
    rows = [row for row in read if row.status == "pending"]
    if len(rows) < len(taken):  # settled by events and still queued: off the queue, never sent again
        _dequeue(set(taken) - {row.id for row in rows})
        db.session.commit()
    return rows


@collector_paused()
def deliver(message_ids: Iterable[int], on_accepted: MessagesHook | None = None,
            on_failed: MessagesHook | None = None) -> dict[str, int]:
    """Send the due rows among these, batching rows that share a template; counts by outcome.
    The hooks get the relayed rows (RELAYED's columns) and run in the transaction that records the outcome."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    rows = _claim(message_ids, RELAYED)
    if not rows:
        return counts
    personal = _personal(rows)
    template_ids = {row.template_id for row in rows if row.template_id}
    templates = {template.id: Content(single_line(template.subject), template.html, template.text)
                 for template in db.session.execute(select(MessageTemplate.id, MessageTemplate.subject,
                                                           MessageTemplate.html, MessageTemplate.text)
                                                    .where(MessageTemplate.id.in_(template_ids)))}
    batch_size = current_app.config["MAIL_BATCH_SIZE"]
    keyed = sorted(((_batch_key(row), row) for row in rows), key=itemgetter(0))  # each row's key built once
    for _, pairs in groupby(keyed, key=itemgetter(0)):
        group = [row for _, row in pairs]
        for start in range(0, len(group), batch_size):
            _send_batch(group[start:start + batch_size], templates, personal, counts, on_accepted, on_failed)
    return counts


def _personal(rows: list) -> dict[int, tuple[dict, dict]]:
    """Each row's (substitutions, headers), decoded in one pass over the batch's JSON (two decodes per
    row cost more than the rest of reading it)."""
    decoded = json.loads("[" + ",".join(f"[{row.substitutions_json or 'null'},{row.headers_json or 'null'}]"
                                        for row in rows) + "]")
    return {row.id: (substitutions or {}, headers or {}) for row, (substitutions, headers) in zip(rows, decoded,
                                                                                                  strict=True)}


def _batch_key(row):
    """Rows that can share one request: same template (or none: alone), same sender and reply-to."""
    return (row.template_id or 0, 0 if row.template_id else row.id, row.from_email, row.from_name, row.reply_to or "")


def _envelope(batch: list, templates: dict[int, Content], personal: dict[int, tuple[dict, dict]]) -> Envelope:
    first = batch[0]
    content = templates[first.template_id] if first.template_id \
        else Content(single_line(first.subject), first.html or "", first.text or "")
    return Envelope(
        from_email=first.from_email, from_name=single_line(first.from_name), reply_to=first.reply_to,
        content=content,
        recipients=[Recipient(message_id=row.id, email=row.to_email, name=single_line(row.to_name),
                              substitutions=personal[row.id][0],
                              headers={name: single_line(value) for name, value in personal[row.id][1].items()},
                              custom_args={"vocloop_message_id": str(row.id), "vocloop_key": row.idempotency_key})
                    for row in batch])


def _send_batch(batch: list, templates: dict[int, Content], personal: dict, counts: dict, on_accepted,
                on_failed) -> None:
    try:
        provider_id = get_backend().send(_envelope(batch, templates, personal))
    except TransientMailError as exc:
        # One pause for the whole batch, so it is retried as one request again, not split by jitter.
        given_up = [row for row in batch if row.attempts >= MAX_ATTEMPTS]
        retried = [row for row in batch if row.attempts < MAX_ATTEMPTS]
        if retried:
            _schedule_retry(retried, str(exc), _retry_pause(max(row.attempts for row in batch), exc.retry_after))
        settled = [row for row in given_up if _record_failure(row, f"gave up after {row.attempts} attempts: {exc}")]
        counts["retry"] += len(retried)
        counts["failed"] += len(given_up)
        if settled and on_failed:  # the last attempt: as final as a refusal for the loop
            on_failed(settled)
        db.session.commit()
        return
    except PermanentMailError as exc:
        if len(batch) > 1:  # one bad address must not sink a thousand good ones: try each alone
            log.warning("batch of %d refused (%s); sending each alone", len(batch), exc)
            for row in batch:
                _send_batch([row], templates, personal, counts, on_accepted, on_failed)
            return
        settled = _record_failure(batch[0], str(exc))
        counts["failed"] += 1
        if settled and on_failed:
            on_failed(batch)
        db.session.commit()
        return
    settled = _settle(batch, status="sent", provider_message_id=provider_id or None, sent_at=utcnow(),
                      last_error=None)
    counts["sent"] += len(batch)
    if on_accepted:  # only where the relay's word is the outcome: a bounce reported meanwhile stands
        on_accepted([row for row in batch if row.id in settled])
    db.session.commit()


def _record_failure(row, error: str) -> bool:
    """Whether the failure is the message's outcome (its provider's events had not settled it)."""
    return bool(_settle([row], status="failed", last_error=error))


def _settle(rows: list, **values) -> set[int]:
    """Take these relayed rows off the queue, and record an outcome on their messages still pending, with
    the attempts made; the ids of the messages it recorded it on."""
    _dequeue([row.id for row in rows])
    return _write_pending(rows, **values)


# Lock order, for every writer of both tables (the relay, the events webhook): a message's queue row
# before the message, queue rows in id order. The provider's events for a batch arrive while the relay
# records it: two writers locking the same rows in different orders deadlock, and a claim must not
# take rows whose events are being applied (it skips rows others hold). A pending message always has
# its queue row, so whoever holds that row is the only writer of the message.


def _write_pending(rows: list, **values) -> set[int]:
    """These values, and each row's attempts, on those of the rows' messages still pending (the
    provider's events may have settled one, and their word stands); their queue rows are held. The
    ids of the messages written."""
    written: set[int] = set()
    for attempts, group in groupby(sorted(rows, key=_attempts), key=_attempts):  # one group, as a rule
        written.update(db.session.scalars(
            update(Message).where(among(db.session, Message.id, [row.id for row in group]),
                                  Message.status == "pending")
            .values(attempts=attempts, **values).returning(Message.id)
            .execution_options(synchronize_session=False)))
    return written


def _attempts(row) -> int:
    return row.attempts


def _dequeue(message_ids) -> None:
    db.session.execute(delete(QueuedMessage).where(QueuedMessage.message_id.in_(_queued_in_id_order(message_ids)))
                       .execution_options(synchronize_session=False))


def _queued_in_id_order(message_ids):
    return (select(QueuedMessage.message_id).where(among(db.session, QueuedMessage.message_id, list(message_ids)))
            .order_by(QueuedMessage.message_id).with_for_update())


def _retry_pause(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff from MAIL_RETRY_BASE_SECONDS with jitter, at least the provider's reset time."""
    base = current_app.config.get("MAIL_RETRY_BASE_SECONDS", 30)
    backoff = min(3600.0, base * 2 ** (max(attempts, 1) - 1)) * random.uniform(0.5, 1.5)
    return max(backoff, retry_after or 0)


def _schedule_retry(rows: list, error: str, delay: float) -> None:
    due = utcnow() + timedelta(seconds=delay)
    message_ids = [row.id for row in rows]
    db.session.execute(update(QueuedMessage).where(QueuedMessage.message_id.in_(_queued_in_id_order(message_ids)))
                       .values(next_attempt_at=due, lease_until=None).execution_options(synchronize_session=False))
    _write_pending(rows, last_error=error)
    db.session.info.setdefault(_RETRIES, []).extend((message_id, due) for message_id in message_ids)
    log.warning("mail %s deferred %.0fs: %s", ", ".join(map(str, message_ids[:3])) +
                (f" and {len(message_ids) - 3} more" if len(message_ids) > 3 else ""), delay, error)


def take_retries() -> dict:
    """Rows this session deferred since the last call, grouped by when they are due (to the second):
    the job schedules a relay at that time, so a retry does not wait for the sweep."""
    due: dict = {}
    for message_id, when in db.session.info.pop(_RETRIES, []):  # rounded up: never run before it is due
        due.setdefault((when + timedelta(seconds=1)).replace(microsecond=0), []).append(message_id)
    return due


def due_message_ids(limit: int = 10_000, grace_seconds: int = 60, retry_grace_seconds: int = 5) -> list[int]:
    """Rows the sweep should hand to a relay: new rows pending for a while (the job that queued them
    was lost; a long dispatch's queue may hold them for a minute), retries a few seconds past due
    (their scheduled job did not run: Redis was down, or rq's scheduler lock sat with a killed
    worker), or rows sending past lease and settle time (a relay died)."""
    now = utcnow()
    stale_lease = now - timedelta(seconds=_settle_seconds())
    free = QueuedMessage.lease_until.is_(None)
    return list(db.session.scalars(
        select(QueuedMessage.message_id).where(or_(
            free & (QueuedMessage.next_attempt_at <= now - timedelta(seconds=grace_seconds)),
            free & (QueuedMessage.attempts > 0)
            & (QueuedMessage.next_attempt_at <= now - timedelta(seconds=retry_grace_seconds)),
            QueuedMessage.lease_until < stale_lease))
        .order_by(QueuedMessage.message_id).limit(limit)))
