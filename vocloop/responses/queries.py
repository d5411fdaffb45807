"""Reading answers in bulk: the CSV export of the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from vocloop.accounts.models import User
from vocloop.contacts.models import Contact
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.permissions import visible_items_filter
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.surveys.models import Survey

EXPORT_BATCH = 1000
RESPONSE_EXPORT_COLUMNS = ("id", "survey", "contact_email", "score", "comment", "sentiment", "sentiment_confidence",
                           "sentiment_mismatch", "topics", "urgency_flags", "answered_at", "completed_at",
                           "classifier", "item_id")


def export_responses(user: User, *, survey_id: int | None = None, answered_from: datetime | None = None,
                     answered_to: datetime | None = None) -> Iterator[dict]:
    """Admins: every answer. Others: the answers behind items they may see (an answer that opened
    no item has no owner, so it is an admin's to read in bulk). People's (counted) answers only, as in
    every metric. In id order, a batch at a time."""
    columns = [Response.id, Survey.name.label("survey"), Contact.email.label("contact_email"), Response.score,
               Response.comment, Response.sentiment_label.label("sentiment"), Response.sentiment_confidence,
               Response.sentiment_mismatch, Response.topics, Response.urgency_flags, Response.answered_at,
               Response.completed_at, Response.classifier, FeedbackItem.id.label("item_id")]
    base = (select(*columns).join(Survey, Survey.id == Response.survey_id)
            .join(Contact, Contact.id == Response.contact_id)
            .outerjoin(FeedbackItem, FeedbackItem.response_id == Response.id).where(counting.counts()))
    if user.role != "admin":
        base = base.where(FeedbackItem.id.is_not(None), visible_items_filter(user))
    if survey_id is not None:
        base = base.where(Response.survey_id == survey_id)
    if answered_from is not None:
        base = base.where(Response.answered_at >= answered_from)
    if answered_to is not None:
        base = base.where(Response.answered_at < answered_to)
    after = 0
    while True:
        rows = db.session.execute(base.where(Response.id > after).order_by(Response.id).limit(EXPORT_BATCH)) \
            .mappings().all()
        if not rows:
            return
        for row in rows:
            yield {**row, "answered_at": row["answered_at"].isoformat(),
                   "completed_at": row["completed_at"].isoformat() if row["completed_at"] else None}
        after = rows[-1]["id"]
