"""Something more from a customer whose answer is already in. While the link is valid and the loop
it opened is not closed, it reaches the person working it (on the item's timeline, with a notice);
before any item exists it joins the comment and the answer is triaged again."""

from __future__ import annotations

from sqlalchemy import select

from vocloop.db import utcnow
from vocloop.errors import Conflict
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.service import record_customer_reply
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

MAX_ADDITION = 5000


def item_of(response: Response) -> FeedbackItem | None:
    return db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == response.id))


def can_add_to(invitation: Invitation, response: Response) -> bool:
    """While the link is valid and the answer's loop (if one was opened) is not closed."""
    if invitation.expires_at <= utcnow():
        return False
    item = item_of(response)
    return item is None or item.is_open


def add_to_answer(invitation: Invitation, response: Response, text: str, replaces: bool = False) -> int | None:
    """Record the addition; the id of a response to triage again, if the caller must enqueue that.

    `replaces`: the page offered the comment itself to change (no item yet, so nobody is working on it),
    and `text` is the whole new comment. If an item opened meanwhile, only the words beyond the old
    comment reach its owner, as any addition; the comment they are reading does not change under them."""
    if not can_add_to(invitation, response):
        raise Conflict("This answer can no longer be added to.")
    item = item_of(response)
    if item is not None:
        if replaces:
            text = _beyond(response.comment or "", text)
            if not text:
                return None
        record_customer_reply(item, text, invitation.contact.email)
        db.session.commit()
        return None
    response.comment = text if replaces else "\n\n".join(part for part in (response.comment, text) if part)
    response.processed_at = None
    db.session.commit()
    return response.id


def can_change(invitation: Invitation, response: Response) -> bool:
    """The comment itself may still be changed: the link is valid and no item (no one working on it)."""
    return invitation.expires_at > utcnow() and item_of(response) is None


def _beyond(old: str, new: str) -> str:
    """The words of `new` that were not in the comment already (it was offered pre-filled)."""
    return new[len(old):].strip() if old and new.startswith(old) else new
