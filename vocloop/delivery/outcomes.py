"""What a delivery outcome means for the loop: the one place where mail results (from the relay
and from provider events) turn into invitation, contact and item changes."""

from __future__ import annotations

from vocloop.announcements import service as announcements
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.mail.models import Message
from vocloop.surveys import service as surveys

# Events that mean the address must never be mailed again, and the suppression reason recorded.
SUPPRESSING = {"spamreport": "spam_report"}
DROP_REASONS_THAT_SUPPRESS = ("bounced address", "spam reporting address", "invalid")


def _invitation_ids(messages: list) -> list[int]:
    return [m.invitation_id for m in messages if m.kind == "survey" and m.invitation_id]


def _closing_loops(messages: list) -> list[Message]:
    """The Message objects of those that close loops (the relay hands over plain rows, read after its
    UPDATE, so these see the outcome just recorded; a Message given is itself)."""
    return [db.session.get(Message, m.id) for m in messages
            if (m.kind == "closing" and m.item_id) or m.kind == "announcement"]


def on_accepted(messages: list) -> None:
    """The relay's rows (or Message objects) the provider took."""
    if invitation_ids := _invitation_ids(messages):
        surveys.mark_invitations("sent", invitation_ids)
    for message in _closing_loops(messages):
        if message.kind == "closing":
            items.record_closing_accepted(message)
        else:
            announcements.record_accepted(message)


def on_failed(messages: list) -> None:
    """The relay's rows (or Message objects) refused for good, or given up on."""
    if invitation_ids := _invitation_ids(messages):
        surveys.mark_invitations("failed", invitation_ids)
    for message in _closing_loops(messages):
        if message.kind == "closing":
            items.record_closing_failed(message, f"The closing message could not be sent: {message.last_error}")
        elif message.kind == "announcement":
            announcements.record_failed(message, f"The announcement could not be sent: {message.last_error}")


def on_provider_event(message: Message, event: str, payload: dict, previous_status: str) -> None:
    """Apply one new provider event (already recorded on the message) to the rest of the loop."""
    if previous_status in ("pending", "sending", "failed") and message.status not in (
            "pending", "sending", "failed"):
        on_accepted([message])  # the relay died before recording it: the event settles it
    if message.kind == "survey" and message.invitation_id:
        invitation_status = {"delivered": "delivered", "open": "opened", "click": "clicked", "bounce": "bounced",
                             "dropped": "dropped", "deferred": "deferred"}.get(event)
        if invitation_status:
            surveys.mark_invitations(invitation_status, [message.invitation_id])
    contact = db.session.get(Contact, message.contact_id) if message.contact_id else None
    if contact is not None:
        _update_contact(contact, event, payload)
    bounced = event in ("bounce", "dropped", "spamreport") and message.status in ("bounced", "dropped", "spam_report")
    if bounced and message.kind == "closing" and message.item_id and previous_status != message.status:
        items.record_closing_failed(message, _why_not_reached("The closing message", message, event, payload),
                                    notify_owner=True, what_happened="the customer marked your closing message "
                                    "as spam" if event == "spamreport" else items.NOT_REACHED)
    elif bounced and message.kind == "announcement" and previous_status != message.status:
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
