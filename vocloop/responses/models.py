"""A customer's answer to an invitation, with what the classifier made of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db


class Response(db.Model):
    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_pending", "processed_at", "completed_at"),
                      Index("ix_responses_answered", "answered_at"),
                      # A contact's answers to a survey in time order (items/next_answer.py), and by contact.
                      Index("ix_responses_contact_survey_answered", "contact_id", "survey_id", "answered_at"),
                      CheckConstraint("status IN ('pending', 'counted', 'suspected')", name="status"),
                      # The sweep's look for answers whose settle window has passed (few rows: partial).
                      Index("ix_responses_unsettled", "answered_at", postgresql_where=text("status = 'pending'"),
                            sqlite_where=text("status = 'pending'")))

    id: Mapped[intpk]
    # One response per invitation: a second click updates it instead of adding another.
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    # The survey's follow-up question for this score's band, as asked, and the answer to it.
    followup_question: Mapped[str | None] = mapped_column(Text)
    followup_answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime]
    # Whether a person gave this score (vocloop.responses.counting): "counted" answers are the only
    # ones any metric, item or reminder sees; "pending" waits out ANSWER_SETTLE_SECONDS; "suspected"
    # looks like a mail scanner's fetch (see `signals`) until the person clicks or an admin counts it.
    # The one-click path writes "pending" itself; rows written any other way (demo, SQL) are people's.
    status: Mapped[str] = mapped_column(String(10), default="counted", server_default="counted")
    # What the link fetches looked like (vocloop.responses.scanners: a bit per signal).
    signals: Mapped[int] = mapped_column(default=0, server_default="0")
    # Why it counts: comment, confirmed, interaction, settled or admin; and since when.
    counted_by: Mapped[str | None] = mapped_column(String(12))
    counted_at: Mapped[datetime | None]
    counted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Set when the comment is submitted, or when the grace period for it has passed.
    completed_at: Mapped[datetime | None]
    # Set once classification and routing are done; None means a job still owes work.
    processed_at: Mapped[datetime | None]

    polarity: Mapped[float | None] = mapped_column(Float)
    subjectivity: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    topics: Mapped[list[str]] = mapped_column(default=list)
    # Why each topic: [{"topic", "keyword", "phrase"}], the phrase being the comment's own words.
    topic_matches: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    sentiment_confidence: Mapped[float | None] = mapped_column(Float)
    # The score and the words disagree (a 9 with an angry comment): shown to owners and leads.
    sentiment_mismatch: Mapped[bool] = mapped_column(default=False)
    # Churn, legal, safety or billing-error language: raises priority, and routing rules can match it.
    urgent: Mapped[bool] = mapped_column(default=False)
    urgency_flags: Mapped[list[str]] = mapped_column(default=list)
    # The classifier version that labelled the response, and when (a re-classification updates both).
    classifier: Mapped[str | None] = mapped_column(String(40))
    classified_at: Mapped[datetime | None]
    # When a person last corrected the labels (classify.corrections): re-classification keeps them.
    corrected_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    invitation = relationship("Invitation")
    survey = relationship("Survey")
    contact = relationship("Contact")
    counted_by_user = relationship("User")
    @property
    def topic_phrases(self) -> dict[str, str]:
        """Topic -> the words of the comment that gave it (answers classified before phrases were kept have none)."""
        return {match["topic"]: match["phrase"] for match in self.topic_matches or () if match.get("phrase")}

    @property
    def words(self) -> str:
        """Everything the customer wrote (comment, then the follow-up answer): what is classified."""
        return "\n".join(part for part in (self.comment, self.followup_answer) if part)

    # The item this answer opened, if it needed one (at most one: feedback_items.response_id is unique).
    item = relationship("FeedbackItem", uselist=False, viewonly=True)


class ScannerRule(db.Model):
    """A network (CIDR) or User-Agent pattern (a regular expression) of a mail scanner: a fetch that
    matches one is a signal that no person clicked. Data, so admins extend it without a deploy."""

    __tablename__ = "scanner_rules"
    __table_args__ = (CheckConstraint("kind IN ('network', 'user_agent')", name="kind"),
                      UniqueConstraint("kind", "pattern"))

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(12))
    pattern: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[created_at]
