"""What a delivery outcome means for the loop: the one place where mail results (from the relay
and from provider events) turn into invitation, contact and item changes."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from vocloop.announcements import service as announcements
from vocloop.contacts.models import Contact
from vocloop.db import among, utcnow
from vocloop.delivery.events import UNSETTLED, ProviderEvent
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.mail.models import Message
from vocloop.surveys import service as surveys

# Events that mean the address must never be mailed again, and the suppression reason recorded.
SUPPRESSING = {"spamreport": "spam_report"}
DROP_REASONS_THAT_SUPPRESS = ("bounced address", "spam reporting address", "invalid")


class InvitationMoves:
    """Invitation statuses to set, gathered over a batch and written in one statement per status. A status
    only moves forward, so each invitation ends at the furthest one whatever the order; lowest first
    lets "sent" (with its time) land before what follows it, as it did one event at a time."""

    def __init__(self) -> None:
        self._ids_by_status: dict[str, set[int]] = defaultdict(set)

    def add(self, status: str, messages: list) -> None:
        self._ids_by_status[status].update(
            m.invitation_id for m in messages if m.kind == "survey" and m.invitation_id)

    def write(self) -> None:
        for status in sorted(self._ids_by_status, key=surveys.INVITATION_STATUS_RANK.__getitem__):
            if ids := self._ids_by_status[status]:
                surveys.mark_invitations(status, sorted(ids))


def _closing_loops(messages: list) -> list[Message]:
    """The Message objects of those that close loops (the relay hands over plain rows, read after its
    UPDATE, so these see the outcome just recorded; a Message given is itself)."""
    return [db.session.get(Message, m.id) for m in messages
            if (m.kind == "closing" and m.item_id) or m.kind == "announcement"]


def on_accepted(messages: list) -> None:
    """The relay's rows (or Message objects) the provider took."""
    moves = InvitationMoves()
    _accepted(messages, moves)
    moves.write()


def _accepted(messages: list, moves: InvitationMoves) -> None:
    moves.add("sent", messages)
    for message in _closing_loops(messages):
        if message.kind == "closing":
            items.record_closing_accepted(message)
        else:
            announcements.record_accepted(message)


def on_failed(messages: list) -> None:
    """The relay's rows (or Message objects) refused for good, or given up on."""
    moves = InvitationMoves()
    moves.add("failed", messages)
    moves.write()
    for message in _closing_loops(messages):
        if message.kind == "closing":
            items.record_closing_failed(message, f"The closing message could not be sent: {message.last_error}")
        elif message.kind == "announcement":
            announcements.record_failed(message, f"The announcement could not be sent: {message.last_error}")


# The invitation status each provider event proves.
INVITATION_STATUS_OF_EVENT = {"delivered": "delivered", "open": "opened", "click": "clicked", "bounce": "bounced",
                              "dropped": "dropped", "deferred": "deferred"}


def on_provider_events(changes: list[ProviderEvent]) -> None:
    """Apply a batch's new provider events (already recorded on their messages), in the order they
    happened, to the rest of the loop. The contacts are read in one query and the invitations written
    at the end, one statement per status: one of each per event took 3 of a 1,000-event batch's 4 s."""
    contacts = _contacts_of(change.message for change in changes)
    moves = InvitationMoves()
    for change in changes:
        _follow(change, contacts.get(change.message.contact_id), moves)
    moves.write()


def _contacts_of(messages) -> dict[int, Contact]:
    ids = sorted({message.contact_id for message in messages if message.contact_id})
    if not ids:
        return {}
    return {contact.id: contact
            for contact in db.session.scalars(select(Contact).where(among(db.session, Contact.id, ids)))}


def _follow(change: ProviderEvent, contact: Contact | None, moves: InvitationMoves) -> None:
    message, event, payload = change.message, change.event, change.payload
    if change.previous_status in UNSETTLED and change.status not in UNSETTLED:
        _accepted([message], moves)  # the relay died before recording it: the event settles it
    if invitation_status := INVITATION_STATUS_OF_EVENT.get(event):
        moves.add(invitation_status, [message])
    if contact is not None:
        _update_contact(contact, event, payload)
    bounced = event in ("bounce", "dropped", "spamreport") and change.status in ("bounced", "dropped", "spam_report")
    if bounced and message.kind == "closing" and message.item_id and change.previous_status != change.status:
        items.record_closing_failed(message, _why_not_reached("The closing message", message, event, payload),
                                    notify_owner=True, what_happened="the customer marked your closing message "
                                    "as spam" if event == "spamreport" else items.NOT_REACHED)
    elif bounced and message.kind == "announcement" and change.previous_status != change.status:
        announcements.record_failed(message, _why_not_reached("The announcement", message, event, payload),
                                    notify_owner=True)


def _why_not_reached(what: str, message: Message, event: str, payload: dict) -> str:
    """For the item's activity and the owner's notice. A spam report reopens the loop too: the customer
    got the message but told their mail provider they did not want it, which the owner should see
    (and answer some other way; they are unsubscribed and suppressed from now on)."""
    if event == "spamreport":
        return f"{message.to_email} marked {what[0].lower() + what[1:]} as spam"
    reason = payload.get("reason") or payload.get("response") or event
    return f"{what} to {message.to_email} {event}: {reason}"


def _update_contact(contact: Contact, event: str, payload: dict) -> None:
    if event in ("unsubscribe", "group_unsubscribe", "spamreport") and contact.unsubscribed_at is None:
        contact.unsubscribed_at = utcnow()
    if event == "bounce" and payload.get("type", "bounce") == "bounce":
        contact.suppressed_reason = contact.suppressed_reason or "bounce"
    elif event in SUPPRESSING:
        contact.suppressed_reason = SUPPRESSING[event]
    elif event == "dropped" and str(payload.get("reason", "")).lower().startswith(DROP_REASONS_THAT_SUPPRESS):
        contact.suppressed_reason = contact.suppressed_reason or "dropped"
