"""Verified closure: the closing email asks "Did this resolve your concern?" with two one-click
links. The answer is kept on the item; "no" reopens it and tells its owner."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired

from vocloop.db import utcnow
from vocloop.errors import Gone, NotFound
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.service import notify_owner_of, reopen
from vocloop.items.verdict_links import MAX_AGE_SECONDS, serializer

VERDICTS = {"yes": "resolved", "no": "not_resolved"}


def item_for(token: str) -> FeedbackItem:
    try:
        item_id = serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except SignatureExpired:
        raise Gone("This link has expired.") from None
    except BadSignature:
        raise NotFound("This link is not valid.") from None
    item = db.session.get(FeedbackItem, item_id) if isinstance(item_id, int) else None
    if item is None:
        raise NotFound("This link is not valid.")
    return item


def record_verdict(token: str, answer: str) -> FeedbackItem:
    """One click records it; clicking the other link later changes it (the latest answer counts)."""
    if answer not in VERDICTS:
        raise NotFound("This link is not valid.")
    item = item_for(token)
    verdict = VERDICTS[answer]
    if item.customer_verdict == verdict:
        return item
    item.customer_verdict, item.verdict_at = verdict, utcnow()
    if verdict == "resolved":
        db.session.add(ItemEvent(item_id=item.id, kind="customer_verified", body="The customer said this resolved "
                                 "their concern."))
    else:
        verdict_event = ItemEvent(item_id=item.id, kind="customer_not_resolved", body="The customer said this did "
                                  "not resolve their concern.")
        db.session.add(verdict_event)
        reopen(item, "Reopened: not resolved for the customer.")
        db.session.flush()
        notify_owner_of(item, key=f"notice:not-resolved:{verdict_event.id}",
                        subject=f"Item #{item.id}: the customer says it is not resolved",
                        lines=[f"{item.contact.name or item.contact.email} answered “no” to “Did this resolve your "
                               "concern?”. The item is open again."])
    db.session.commit()
    return item
