"""The customer's whole story (promise 5): every earlier survey, answer, item, email to them (closing
messages, hand-overs and announcements) and reply from them, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from vocloop.contacts.models import Contact
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.mail.models import Message
from vocloop.responses.models import Response
from vocloop.surveys.kinds import get_kind
from vocloop.surveys.models import Invitation


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # invitation, response, item, message (closing or hand-over email), reply
    contact: Contact
    title: str
    detail: str = ""
    item_id: int | None = None
    sentiment: str | None = None


def customer_timeline(contact: Contact, limit: int = 200) -> list[TimelineEntry]:
    """This contact's history plus their colleagues' at the same account."""
    if contact.account_id:
        contact_ids = list(db.session.scalars(select(Contact.id).where(Contact.account_id == contact.account_id)))
    else:
        contact_ids = [contact.id]
    entries: list[TimelineEntry] = []
    for invitation in db.session.scalars(select(Invitation).where(Invitation.contact_id.in_(contact_ids))
                                         .order_by(Invitation.id.desc()).limit(limit)):
        entries.append(TimelineEntry(invitation.created_at, "invitation", invitation.contact,
                                     f"Survey “{invitation.survey.name}” sent", f"email {invitation.status}"))
    for response in db.session.scalars(select(Response).where(Response.contact_id.in_(contact_ids))
                                       .order_by(Response.id.desc()).limit(limit)):
        entries.append(TimelineEntry(response.answered_at, "response", response.contact,
                                     f"Answered {response.score}/{get_kind(response.survey.kind).high} to "
                                     f"“{response.survey.name}”",
                                     response.comment or "", sentiment=response.sentiment_label))
    for item in db.session.scalars(select(FeedbackItem).where(FeedbackItem.contact_id.in_(contact_ids))
                                   .order_by(FeedbackItem.id.desc()).limit(limit)):
        state = "loop closed" if item.loop_closed_at else item.status.replace("_", " ")
        entries.append(TimelineEntry(item.created_at, "item", item.contact, f"Item #{item.id} ({state})",
                                     f"owner {item.owner.name}, {item.priority}", item_id=item.id))
    for message in db.session.scalars(select(Message).where(Message.contact_id.in_(contact_ids),
                                                            Message.kind.in_(("closing", "handover", "announcement")))
                                      .order_by(Message.id.desc()).limit(limit)):
        contact_of = db.session.get(Contact, message.contact_id)
        if message.kind == "handover":
            entries.append(TimelineEntry(message.created_at, "message", contact_of,
                                         f"Hand-over email from {message.from_name}", message.subject,
                                         item_id=message.item_id))
        elif message.kind == "announcement":  # the outer loop: told what was done about what they raised
            entries.append(TimelineEntry(message.created_at, "message", contact_of,
                                         f"Announcement from {message.from_name} ({message.status})", message.subject))
        else:
            entries.append(TimelineEntry(message.created_at, "message", contact_of,
                                         f"Closing message from {message.from_name}",
                                         (message.text or "").split("\n\n--")[0], item_id=message.item_id))
    for event, item in db.session.execute(
            select(ItemEvent, FeedbackItem).join(FeedbackItem, FeedbackItem.id == ItemEvent.item_id)
            .where(FeedbackItem.contact_id.in_(contact_ids), ItemEvent.kind == "customer_replied")
            .order_by(ItemEvent.id.desc()).limit(limit)):
        sender = (event.data or {}).get("from") or ""
        other = f", from another address ({sender})" if (event.data or {}).get("from_another_address") else ""
        entries.append(TimelineEntry(event.created_at, "reply", item.contact, f"Replied about item #{item.id}{other}",
                                     event.body, item_id=item.id))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
