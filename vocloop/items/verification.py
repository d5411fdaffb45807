"""Verified closure: the closing email asks "Did this resolve your concern?" with two links. Each
opens a page with the choice already made and one button: the answer is recorded by that page's
POST, never by the link's GET, so the link scanners of corporate mail (which fetch every link of an
email) neither verify nor reopen anything. The answer is kept on the item; "no" reopens it and
tells its owner, with what the customer wrote is still wrong."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select

from vocloop.db import utcnow
from vocloop.errors import Gone, NotFound
from vocloop.extensions import db
from vocloop.i18n import language_for
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.service import reopen
from vocloop.items.verdict_links import MAX_AGE_SECONDS, serializer
from vocloop.notifications import notify_owner_of
from vocloop.text import without_control_characters

VERDICTS = {"yes": "resolved", "no": "not_resolved"}
MAX_STILL_WRONG = 5000


def item_for(token: str) -> FeedbackItem:
    try:
        item_id = serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except SignatureExpired:
        raise _expired(token) from None
    except BadSignature:
        raise NotFound("This link is not valid.") from None
    item = _item(item_id)
    if item is None:
        raise NotFound("This link is not valid.")
    return item


def _item(item_id) -> FeedbackItem | None:
    return db.session.get(FeedbackItem, item_id) if isinstance(item_id, int) else None


def _expired(token: str) -> Gone:
    """A genuine link past its days: the page says so in the customer's language and the survey's brand,
    in words about this question (not a survey's), and where to turn instead."""
    expired = Gone("This link has expired.")
    expired.problem = "verdict_expired"
    item = _item(serializer().loads(token))  # the signature is good (only its age failed)
    if item is not None:
        expired.language = language_for(item.contact, item.survey)
        expired.survey = item.survey
    return expired


def record_verdict(token: str, answer: str, still_wrong: str | None = None) -> FeedbackItem:
    """The verdict page's POST; sending the other answer later changes it (the latest answer counts).
    With "no", the customer's words (optional) go on the timeline and into the owner's notice; the
    same answer again changes nothing unless it brings new words."""
    if answer not in VERDICTS:
        raise NotFound("This link is not valid.")
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.id == item_for(token).id).with_for_update()
                             .execution_options(populate_existing=True))  # one verdict at a time
    verdict = VERDICTS[answer]
    still_wrong = (without_control_characters(still_wrong).strip()[:MAX_STILL_WRONG] or None) \
        if verdict == "not_resolved" else None
    if item.customer_verdict == verdict and not still_wrong:
        db.session.commit()
        return item
    item.customer_verdict, item.verdict_at = verdict, utcnow()
    if verdict == "resolved":
        verified = ItemEvent(item_id=item.id, kind="customer_verified", body="The customer said this resolved "
                             "their concern.")
        db.session.add(verified)
        if item.is_open:  # their "no" reopened it, or it was reopened since: its owner is working on it
            db.session.flush()
            notify_owner_of(item, key=f"notice:resolved-while-open:{verified.id}",
                            subject=f"Item #{item.id}: the customer now says it is resolved",
                            lines=[f"{item.contact.name or item.contact.email} answered “yes” to “Did this "
                                   "resolve your concern?” while the item is open again.",
                                   "If nothing is left to do, close it without a message (no action needed): "
                                   "the loop stays closed by your closing message."])
    else:
        body = "The customer said this did not resolve their concern."
        verdict_event = ItemEvent(item_id=item.id, kind="customer_not_resolved",
                                  body=f"{body}\n\n{still_wrong}" if still_wrong else body,
                                  data={"still_wrong": still_wrong} if still_wrong else {})
        db.session.add(verdict_event)
        reopen(item, "Reopened: not resolved for the customer.")
        db.session.flush()
        lines = [f"{item.contact.name or item.contact.email} answered “no” to “Did this resolve your "
                 "concern?”. The item is open again."]
        if still_wrong:
            lines += ["What is still wrong, in their words:", still_wrong]
        notify_owner_of(item, key=f"notice:not-resolved:{verdict_event.id}",
                        subject=f"Item #{item.id}: the customer says it is not resolved", lines=lines)
    db.session.commit()
    return item
