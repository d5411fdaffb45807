"""Survey definitions and the invitations that carry them to one contact each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db

# The denominator of every response rate: the provider took the email and it did not bounce, or the
# customer answered (which proves it arrived whatever status the events left).
REACHED_STATUSES = ("sent", "deferred", "delivered", "opened", "clicked")


def reached_customer():
    return or_(Invitation.status.in_(REACHED_STATUSES), Invitation.answered_at.is_not(None))


def behind_link(token_hash):
    """The invitation either of its links leads to: the first email's, or the reminder's."""
    return or_(Invitation.token_hash == token_hash, Invitation.reminder_token_hash == token_hash)


# Which answers open an item (someone must act and reply): the default is every unhappy score and
# every answer with words in it; "negative" only unhappy scores; "not_positive" also the passives.
OPEN_ITEM_RULES = ("negative_or_comment", "negative", "not_positive_or_comment", "all")


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint("kind IN ('nps', 'csat', 'ces')", name="kind"),)

    id: Mapped[intpk]
    # The internal name (staff pages, metrics); customers only ever see the title, if there is one.
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    question: Mapped[str] = mapped_column(Text)
    comment_prompt: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    # The survey's own sender; None: the company profile's.
    sender_name: Mapped[str | None] = mapped_column(String(120))
    sender_email: Mapped[str | None] = mapped_column(String(320))
    quarantine_days: Mapped[int] = mapped_column(default=90)
    link_expiry_days: Mapped[int] = mapped_column(default=30)
    active: Mapped[bool] = mapped_column(default=True)
    # A second question on the comment page, by score band ("negative", "neutral", "positive").
    followups: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The thank-you page's message by score band, written by a lead; promoters may also be offered a
    # public review site.
    thanks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    review_url: Mapped[str | None] = mapped_column(String(500))
    # The survey's own colour and logo; None: the company profile's.
    brand_color: Mapped[str | None] = mapped_column(String(7))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    open_items_for: Mapped[str] = mapped_column(String(30), default="negative_or_comment")
    # One reminder to those who have not answered after this many days; None: no reminder.
    reminder_days: Mapped[int | None] = mapped_column(default=3)
    language: Mapped[str] = mapped_column(String(10), default="en")
    created_at: Mapped[created_at]


class Invitation(db.Model):
    """One survey sent to one contact. The link token is stored only as its SHA-256."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_contact_created", "contact_id", "created_at"),
                      Index("ix_invitations_created", "created_at"))

    id: Mapped[intpk]
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Email status: queued, sent, delivered, bounced, dropped, failed.
    status: Mapped[str] = mapped_column(String(20), default="queued")
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # When its answer first counted (vocloop.responses.counting): a scanner's fetch never sets it.
    answered_at: Mapped[datetime | None]
    # The last HEAD request on its links: browsers never send one, link scanners often do first.
    head_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # The reminder carries a link of its own (tokens are stored only hashed, so the first one cannot
    # be sent again); both links lead to this invitation.
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The scheduled or recurring send that made it (None: sent directly, by the API or a person).
    send_id: Mapped[int | None] = mapped_column(ForeignKey("survey_sends.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]

    survey: Mapped[Survey] = relationship()
    contact = relationship("Contact")


class SurveySend(db.Model):
    """A send of a survey to an audience: now, at a time, or again every repeat_days (a relationship
    survey each quarter: the quarantine keeps each contact to one invitation per period). The clock
    runs those due; every run invites the audience as it is then, through the fatigue rules."""

    __tablename__ = "survey_sends"
    __table_args__ = (Index("ix_survey_sends_due", "status", "run_at"),)

    id: Mapped[intpk]
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    # {"list_id": 3} | {"attributes": {"plan": "pro"}, "account_id": 7} | {"all": true}
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # scheduled -> running -> scheduled (repeating) | done ; cancelled by a person
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    run_at: Mapped[datetime]
    repeat_days: Mapped[int | None]
    runs: Mapped[int] = mapped_column(default=0)
    invited: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reason -> count, over all runs
    last_run_at: Mapped[datetime | None]
    leased_until: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]

    survey: Mapped[Survey] = relationship()
