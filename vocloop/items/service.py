"""Working an item: notes, status, hand-over, and closing the loop with a message to the customer."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select

from vocloop.accounts.models import User
from vocloop.db import utcnow
from vocloop.errors import Conflict, Forbidden, Invalid, NotFound
from vocloop.extensions import db
from vocloop.items import permissions, sla_clock
from vocloop.items.closing import render_closing
from vocloop.items.customer_mail import personal_sender, tell_customer_of_handover
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.mail import outbox
from vocloop.mail.models import Message
from vocloop.mail.reply_address import reply_address
from vocloop.notifications import notify_owner_of, notify_user
from vocloop.outbound import service as webhooks
from vocloop.routing import sla
from vocloop.routing.calendar import business_seconds_between
from vocloop.values import OPEN_STATUSES

WORK_STATUSES = OPEN_STATUSES  # the statuses an owner moves an item between
CLOSE_REASONS = ("spam", "duplicate", "no_contact_possible", "no_action_needed")
# Every close_reason an item can carry: with a message (its own, or an announcement), or without one.
CLOSED_WITH_MESSAGE = ("closing_message", "announcement")
ALL_CLOSE_REASONS = CLOSED_WITH_MESSAGE + CLOSE_REASONS
MAX_TEXT = 10_000
# A line that is only "…" (or "..."): a template's place for the owner's own words, left unfilled
# (a browser posts its lines ending in CR LF).
UNFILLED = re.compile(r"^[ \t]*(?:…|\.\.\.)[ \t]*\r?$", re.MULTILINE)
NOT_YOURS = "You can see this item, but only its owner, their team's lead or an admin can act on it."


def get_item_for(user: User, item_id: int) -> FeedbackItem:
    """The item if this user may see it; NotFound otherwise, so ids leak nothing."""
    item = db.session.get(FeedbackItem, item_id)
    if item is None or not permissions.can_view(user, item):
        raise NotFound("No such item.")
    return item


def _require_work(user: User, item: FeedbackItem) -> None:
    _lock(item)
    if not permissions.can_work(user, item):
        raise Forbidden(NOT_YOURS)
    if not item.is_open:
        raise Conflict("This item is closed.")


def _lock(item: FeedbackItem) -> None:
    """Read the item again under a row lock before deciding anything about it (PostgreSQL; SQLite writes
    one at a time): two closes of one item at once, a double-clicked Send or a colleague's "spam" beside
    a closing message, both passed the "still open?" check and both closed it (a 500 on the outbox key,
    or an email sent for an item closed as spam). Now the second waits, sees it closed, and gets a 409."""
    db.session.refresh(item, with_for_update=True)


def _text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"{what} cannot be empty.")
    if len(value) > MAX_TEXT:
        raise Invalid(f"{what} is longer than {MAX_TEXT} characters.")
    return value


def _said(status: str) -> str:
    """A status as the timeline says it to a person ("in progress"; its data keeps the value)."""
    return status.replace("_", " ")


def _acted(item: FeedbackItem, user: User, closing: bool = False) -> None:
    """The owner's first action stops the first-action SLA clock and moves a new item along (unless
    the action closes it)."""
    if item.first_action_at is None and user.id == item.owner_id:
        record_first_action(item, utcnow())
    if item.status == "open" and not closing:  # on the timeline like any status change (page and API alike)
        db.session.add(ItemEvent(item_id=item.id, kind="status", actor_id=user.id,
                                 body="Status open → in progress.", data={"to": "in_progress", "why": "acted"}))
        item.status = "in_progress"


def business_seconds(start: datetime, end: datetime) -> int:
    """Working seconds between two moments on the SLA business calendar."""
    return round(business_seconds_between(start, end, sla.business_calendar()))


def record_first_action(item: FeedbackItem, when: datetime) -> None:
    """The current clock's first action; the time to first action (a metric) is fixed the first time."""
    item.first_action_at = when
    if item.seconds_to_first_action is None:
        item.seconds_to_first_action = round((when - item.created_at).total_seconds())
        item.business_seconds_to_first_action = business_seconds(item.created_at, when)


def record_loop_closed(item: FeedbackItem, when: datetime) -> None:
    """The closing message reached the provider: the loop is closed, and its times are fixed."""
    item.loop_closed_at, item.loop_closed_in_sla = when, when <= item.close_due_at
    item.seconds_to_close = round((when - item.created_at).total_seconds())
    item.business_seconds_to_close = business_seconds(item.created_at, when)


MENTION = re.compile(r"(?<![\w@])@([a-z0-9._+-]+)", re.IGNORECASE)


def mentioned_users(body: str) -> list[User]:
    """@name in a note: the active users whose email starts with name@ (dana for dana@example.com)."""
    handles = {handle.lower().rstrip(".") for handle in MENTION.findall(body)}
    if not handles:
        return []
    users = db.session.scalars(select(User).where(User.active.is_(True)))
    return [user for user in users if user.email.split("@")[0] in handles]


def add_note(user: User, item: FeedbackItem, body: str) -> ItemEvent:
    """A note on the timeline; everyone @mentioned who may see the item is told by email."""
    _require_work(user, item)
    event = ItemEvent(item_id=item.id, kind="note", actor_id=user.id, body=_text(body, "A note"))
    db.session.add(event)
    _acted(item, user)
    db.session.flush()
    for person in mentioned_users(event.body):
        if person.id != user.id and permissions.can_view(person, item):
            notify_user(person, item, key=f"notice:mention:{event.id}:{person.id}",
                        subject=f"{user.name} mentioned you on item #{item.id}", lines=[event.body])
    db.session.commit()
    return event


def set_status(user: User, item: FeedbackItem, status: str) -> None:
    _require_work(user, item)
    if status not in WORK_STATUSES:
        raise Invalid(f"status must be one of {', '.join(WORK_STATUSES)}; close the item to close it")
    if status != item.status:
        now = utcnow()
        db.session.add(ItemEvent(item_id=item.id, kind="status", actor_id=user.id,
                                 body=f"Status {_said(item.status)} → {_said(status)}.", data={"to": status}))
        if item.first_action_at is None and user.id == item.owner_id:
            record_first_action(item, now)
        if status == sla_clock.PAUSING_STATUS:
            sla_clock.pause(item, now, user.id)
        else:
            sla_clock.resume(item, now, user.id)
        item.status = status
    db.session.commit()


def reassign(user: User, item: FeedbackItem, new_owner_id: int, note: str, tell_customer: bool = False) -> None:
    """A hand-over always carries a note, so the new owner does not start from nothing; optionally
    the customer is told who their new contact is, so they need not explain themselves again."""
    _lock(item)
    if not permissions.can_reassign(user, item):
        raise Forbidden(NOT_YOURS)
    if not item.is_open:
        raise Conflict("This item is closed.")
    note = _text(note, "A hand-over note")
    new_owner = db.session.get(User, new_owner_id)
    if new_owner is None or not new_owner.active:
        raise Invalid("The new owner must be an active user.")
    if not permissions.can_hand_over_to(user, new_owner):
        raise Forbidden("Owners can hand over to a teammate, a lead or an admin.")
    if new_owner.id == item.owner_id:
        raise Invalid("This user already owns the item.")
    previous = item.owner
    item.owner_id = new_owner.id
    item.team_id = permissions.team_after_hand_over(item.team_id, new_owner)
    event = ItemEvent(item_id=item.id, kind="reassigned", actor_id=user.id, body=note,
                      data={"from_owner_id": previous.id, "to_owner_id": new_owner.id,
                            "customer_told": tell_customer and item.contact.suppressed_reason is None})
    db.session.add(event)
    db.session.flush()
    webhooks.emit("item.assigned", {**webhooks.item_data(item), "previous_owner_id": previous.id,
                                    "handover_note": note})
    if event.data["customer_told"]:
        tell_customer_of_handover(item, event, previous, new_owner)
    db.session.commit()


def close_with_message(user: User, item: FeedbackItem, body: str) -> Message:
    """Close the loop: queue the closing email; the item is loop-closed once the provider accepts it."""
    _require_work(user, item)
    body = _text(body, "The closing message")
    if UNFILLED.search(body):
        raise Invalid("The message still has a line to fill in (a line of only “…”): write what was done there, "
                      "or remove the line.")
    contact = item.contact
    if not contact.can_be_emailed and contact.suppressed_reason:
        raise Conflict(f"This contact's address is suppressed ({contact.suppressed_reason}); "
                       "close the item without a message instead.")
    sequence = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.item_id == item.id, Message.kind == "closing")) + 1
    email = render_closing(item, user, body)
    sender = personal_sender(item, user)
    message = outbox.queue_message(
        key=f"closing:{item.id}:{sequence}", kind="closing", to_email=contact.email, to_name=contact.name,
        subject=email["subject"], html=email["html"], text=email["text"], contact_id=contact.id, item_id=item.id,
        from_name=sender.name, from_email=sender.email, reply_to=reply_address(item.id) or sender.reply_to,
    )
    item.closing_draft = None
    _acted(item, user, closing=True)
    now = utcnow()
    sla_clock.resume(item, now, user.id)  # the time it waited on the customer does not count against it
    item.status, item.closed_at, item.close_reason = "closed", now, "closing_message"
    db.session.flush()
    db.session.add(ItemEvent(item_id=item.id, kind="closed", actor_id=user.id, body=body,
                             data={"message_id": message.id}))
    webhooks.emit("item.closed", webhooks.item_data(item))
    db.session.commit()
    return message


def close_by_announcement(user: User, item: FeedbackItem, message: Message) -> None:
    """Closed by an announcement to everyone who raised its topic (announcements/service.py): like a
    closing message, loop-closed only once the provider accepts that email."""
    _acted(item, user, closing=True)
    now = utcnow()
    sla_clock.resume(item, now, user.id)  # as for a closing message: waiting on the customer does not count
    item.status, item.closed_at, item.close_reason = "closed", now, "announcement"
    db.session.add(ItemEvent(item_id=item.id, kind="closed", actor_id=user.id, body="Closed by an announcement.",
                             data={"message_id": message.id, "announcement": True}))


def close_without_message(user: User, item: FeedbackItem, reason: str, note: str = "") -> None:
    """Allowed (spam, duplicate, ...) but recorded with its reason, and never counted as loop-closed."""
    _require_work(user, item)
    if reason not in CLOSE_REASONS:
        raise Invalid(f"reason must be one of {', '.join(CLOSE_REASONS)}")
    _acted(item, user, closing=True)
    now = utcnow()
    sla_clock.resume(item, now, user.id)
    item.status, item.closed_at, item.close_reason = "closed", now, reason
    db.session.add(ItemEvent(item_id=item.id, kind="closed", actor_id=user.id, body=note.strip()[:MAX_TEXT],
                             data={"reason": reason}))
    webhooks.emit("item.closed", webhooks.item_data(item))
    db.session.commit()


def emails_of(item: FeedbackItem) -> list[Message]:
    """The closing messages sent to the customer for this item, newest first, with their status."""
    return list(db.session.scalars(select(Message).where(Message.item_id == item.id, Message.kind == "closing")
                                   .order_by(Message.id.desc())))


def record_closing_accepted(message: Message) -> None:
    """Called in the relay's transaction when the provider accepted a closing email (or, for one the relay
    gave up on, when the provider's events prove it took it after all)."""
    item = db.session.get(FeedbackItem, message.item_id)
    if item is None or item.loop_closed_at is not None:
        return
    if not record_reached_after_all(item, message, "The closing message", "closing_message"):
        record_loop_closed(item, message.sent_at)
        db.session.add(ItemEvent(item_id=item.id, kind="message_sent", body="Closing message accepted "
                                 "by the mail provider.", data={"message_id": message.id}))


# Entries the clock writes by itself: an item they alone followed has not moved on since.
_CLOCK_ENTRIES = ("sla_warning", "sla_first_action_missed", "sla_breached")


def record_reached_after_all(item: FeedbackItem, message: Message, what: str, close_reason: str) -> bool:
    """A message that closed this item, which the relay gave up on (so the item went back to its owner),
    proves delivered after all (the provider took one of the tries that timed out). The loop is closed
    at that time. Whether any move was made since the give-up decides the rest: none, and the item is
    closed again as its owner closed it; some (a note, a reply, a hand-over), and it stays open, its owner
    told by email so the customer is not written to twice. False when this message never failed here
    (an item still closed as the message closed it: the relay's every acceptance, without a query)."""
    if not item.is_open and item.close_reason == close_reason:
        return False
    failure = next((event for event in db.session.scalars(
        select(ItemEvent).where(ItemEvent.item_id == item.id, ItemEvent.kind == "message_failed")
        .order_by(ItemEvent.id.desc())) if (event.data or {}).get("message_id") == message.id), None)
    if failure is None:
        return False
    record_loop_closed(item, message.sent_at or utcnow())
    moved_on = db.session.scalar(select(func.count()).select_from(ItemEvent).where(
        ItemEvent.item_id == item.id, ItemEvent.id > failure.id, ItemEvent.kind.not_in(_CLOCK_ENTRIES)))
    said = (f"{what} reached the customer after all: the mail provider confirmed it after vocloop had given up "
            "sending it.")
    if item.is_open and not moved_on:
        item.status, item.closed_at, item.close_reason = "closed", message.created_at, close_reason
        said += " The item is closed again."
    elif item.is_open:
        said += " The item stays open, as it has moved on since; close it when nothing is left to do."
        notify_owner_of(item, key=f"notice:reached-after-all:{message.id}",
                        subject=f"Item #{item.id}: {what[0].lower() + what[1:]} reached the customer after all",
                        lines=[said, "Check before you write to the customer again: they have the message."])
    db.session.add(ItemEvent(item_id=item.id, kind="message_sent", body=said,
                             data={"message_id": message.id, "after_all": True}))
    return True


NOT_REACHED = "your closing message did not reach the customer"  # the owner's notice, unless said otherwise


def record_closing_failed(message: Message, explanation: str, notify_owner: bool = False,
                          what_happened: str = NOT_REACHED) -> None:
    """The closing email was refused or bounced (or reported as spam): the loop is not closed. Reopen the
    item so its owner sees it, and (for a bounce or a spam report, which come later) tell them by email."""
    item = db.session.get(FeedbackItem, message.item_id)
    if item is not None:
        reopen_after_failed_message(item, message, explanation, notify_owner, what_happened)


def reopen_after_failed_message(item: FeedbackItem, message: Message, explanation: str,
                                notify_owner: bool = False,
                                what_happened: str = NOT_REACHED) -> None:
    """The message that closed this item (its closing message, or an announcement) did not reach the
    customer: the loop is not closed, and the item is back in its owner's hands."""
    item.status, item.closed_at, item.close_reason, item.loop_closed_at = "in_progress", None, None, None
    item.loop_closed_in_sla = None
    item.seconds_to_close = item.business_seconds_to_close = None
    kind = "message_bounced" if notify_owner else "message_failed"
    db.session.add(ItemEvent(item_id=item.id, kind=kind, body=explanation, data={"message_id": message.id}))
    if notify_owner:
        notify_owner_of(item, key=f"notice:closing-failed:{message.id}",
                        subject=f"Item #{item.id}: {what_happened}",
                        lines=[explanation, "The item is open again: try another way to reach the customer, "
                               "or close it without a message and say why."])


def reopen(item: FeedbackItem, why: str) -> None:
    """A closed item back in its owner's hands (the customer answered), with a timeline entry;
    nothing to do when it is open. It stays loop-closed: the closing message did reach them. It gets
    new due times from now, and the entry says what the old clock missed (items/sla_clock.py)."""
    if not item.is_open:
        item.status, item.closed_at, item.close_reason = "in_progress", None, None
        item.reopen_count += 1
        earlier = sla_clock.restart(item, utcnow())
        missed = " The earlier closing-message deadline was missed." if "sla_breached_at" in earlier else ""
        db.session.add(ItemEvent(
            item_id=item.id, kind="reopened", data={"earlier": earlier},
            body=f"{why} New due times: first action by {item.first_action_due_at:%Y-%m-%d %H:%M} UTC, closing "
                 f"message by {item.close_due_at:%Y-%m-%d %H:%M} UTC.{missed}"))
        webhooks.emit("item.reopened", {**webhooks.item_data(item), "why": why})


def record_customer_reply(item: FeedbackItem, body: str, from_email: str) -> ItemEvent:
    """A reply to the closing message: on the timeline, and the item back in the owner's hands.
    A reply from an address other than the contact's (a colleague, a forward, their other mailbox)
    still lands, since it came to this item's signed reply address and nothing must be lost, but
    flagged as from another address on the timeline and in the owner's notice, never silently."""
    other = _from_another_address(item, from_email)
    event = ItemEvent(item_id=item.id, kind="customer_replied", body=body[:MAX_TEXT],
                      data={"from": from_email[:320], **({"from_another_address": True} if other else {})})
    db.session.add(event)
    if item.status == sla_clock.PAUSING_STATUS:  # the customer's move came: back to the owner, clock running
        db.session.add(ItemEvent(item_id=item.id, kind="status", body="Status waiting → in progress (the customer "
                                 "replied).", data={"to": "in_progress", "why": "customer_replied"}))
        sla_clock.resume(item, utcnow())
        item.status = "in_progress"
    reopen(item, f"Reopened by a reply from another address ({from_email[:320]})." if other
           else "Reopened by the customer's reply.")
    db.session.flush()  # the event's id keys the notice: one per reply, however close together
    who = item.contact.name or item.contact.email
    subject = (f"Item #{item.id}: a reply from another address ({from_email[:320] or 'unknown'}), not {who}"
               if other else f"Item #{item.id}: {who} replied")
    lines = ([f"This reply came from {from_email[:320] or 'an unknown address'}, not from the customer's "
              f"address {item.contact.email}. Check who wrote it before you answer."] if other else [])
    notify_owner_of(item, key=f"notice:reply:{event.id}", subject=subject, lines=[*lines, body[:2000]])
    return event


def _from_another_address(item: FeedbackItem, from_email: str) -> bool:
    return (from_email or "").strip().lower() != (item.contact.email or "").strip().lower()
