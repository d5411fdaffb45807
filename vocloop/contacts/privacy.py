"""Data protection: everything stored about one contact, erasing it, and keeping free text no
longer than COMMENT_RETENTION_DAYS. Erasure keeps the numbers (scores, sentiment labels, item
states and dates) so metrics stay reproducible, and removes what identifies or quotes the person."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.mail.models import InboundEmail, MailEvent, Message
from vocloop.mail.outbox import rendered
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

ERASED = "[erased]"


def export_contact(contact: Contact) -> dict:
    """A JSON-ready record of everything vocloop stores about this person."""
    def when(value):
        return value.isoformat() if value else None

    items = list(db.session.scalars(select(FeedbackItem).where(FeedbackItem.contact_id == contact.id)))
    messages = list(db.session.scalars(select(Message).where(Message.contact_id == contact.id)))
    item_ids = [item.id for item in items]
    return {
        "exported_at": utcnow().isoformat(),
        "contact": {"id": contact.id, "email": contact.email, "name": contact.name, "external_id": contact.external_id,
                    "account": contact.account.name if contact.account else None, "attributes": contact.attributes,
                    "unsubscribed_at": when(contact.unsubscribed_at), "suppressed_reason": contact.suppressed_reason,
                    "created_at": when(contact.created_at)},
        "invitations": [{"id": i.id, "survey": i.survey.name, "status": i.status, "sent_at": when(i.sent_at),
                         "answered_at": when(i.answered_at), "created_at": when(i.created_at)}
                        for i in db.session.scalars(select(Invitation).where(Invitation.contact_id == contact.id))],
        "responses": [{"id": r.id, "survey": r.survey.name, "score": r.score, "comment": r.comment,
                       "answered_at": when(r.answered_at), "sentiment": r.sentiment_label, "polarity": r.polarity,
                       "topics": r.topics}
                      for r in db.session.scalars(select(Response).where(Response.contact_id == contact.id))],
        "items": [{"id": item.id, "status": item.status, "priority": item.priority, "owner": item.owner.name,
                   "created_at": when(item.created_at), "closed_at": when(item.closed_at),
                   "timeline": [{"kind": e.kind, "body": e.body, "at": when(e.created_at)} for e in item.events]}
                  for item in items],
        "emails": [{"id": m.id, "kind": m.kind, "status": m.status, "subject": rendered(m).subject,
                    "text": rendered(m).text, "sent_at": when(m.sent_at)} for m in messages],
        "replies": [{"id": r.id, "subject": r.subject, "body": r.body, "received_at": when(r.created_at)}
                    for r in db.session.scalars(select(InboundEmail).where(InboundEmail.item_id.in_(item_ids)))]
        if item_ids else [],
    }


def erase_contact(contact: Contact) -> dict[str, int]:
    """Anonymize the person everywhere, committed (page, API and CLI share this one write); counts of what
    was touched."""
    message_ids = list(db.session.scalars(select(Message.id).where(Message.contact_id == contact.id)))
    item_ids = list(db.session.scalars(select(FeedbackItem.id).where(FeedbackItem.contact_id == contact.id)))
    contact.email, contact.name = f"erased-{contact.id}@erased.invalid", ""
    contact.external_id, contact.attributes = None, {}
    contact.unsubscribed_at = contact.unsubscribed_at or utcnow()
    contact.suppressed_reason = "erased"
    counts = {"responses": db.session.execute(update(Response).where(Response.contact_id == contact.id)
                                              .values(comment=None)).rowcount}
    if message_ids:
        counts["emails"] = db.session.execute(update(Message).where(Message.id.in_(message_ids)).values(
            to_email=contact.email, to_name="", html=None, text=None, substitutions={}, headers={},
            template_id=None, subject=ERASED)).rowcount
        db.session.execute(update(MailEvent).where(MailEvent.message_id.in_(message_ids))
                           .values(email="", payload={}))
    if item_ids:
        # Timelines quote the customer (replies, closing messages) and describe them (notes).
        counts["timeline_entries"] = db.session.execute(update(ItemEvent).where(
            ItemEvent.item_id.in_(item_ids), ItemEvent.body != "").values(body=ERASED, data={})).rowcount
        counts["replies"] = db.session.execute(update(InboundEmail).where(InboundEmail.item_id.in_(item_ids))
                                               .values(from_email="", subject=ERASED, body=ERASED)).rowcount
    db.session.commit()
    return counts


def apply_comment_retention(days: int) -> dict[str, int]:
    """Erase customers' free text older than `days` (comments, replies); scores and labels stay."""
    cutoff = utcnow() - timedelta(days=days)
    counts = {
        "comments": db.session.execute(update(Response).where(Response.answered_at < cutoff,
                                                              Response.comment.is_not(None))
                                       .values(comment=None)).rowcount,
        "replies": db.session.execute(update(InboundEmail).where(InboundEmail.created_at < cutoff,
                                                                 InboundEmail.body != ERASED)
                                      .values(body=ERASED)).rowcount,
        "reply_entries": db.session.execute(update(ItemEvent).where(
            ItemEvent.created_at < cutoff, ItemEvent.kind == "customer_replied", ItemEvent.body != ERASED)
            .values(body=ERASED)).rowcount,
    }
    db.session.commit()
    return counts
