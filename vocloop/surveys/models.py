"""Survey definitions and the invitations that carry them to one contact each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (CheckConstraint("kind IN ('nps', 'csat', 'ces')", name="kind"),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    question: Mapped[str] = mapped_column(Text)
    comment_prompt: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    sender_name: Mapped[str | None] = mapped_column(String(120))
    quarantine_days: Mapped[int] = mapped_column(default=90)
    link_expiry_days: Mapped[int] = mapped_column(default=30)
    active: Mapped[bool] = mapped_column(default=True)
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
    answered_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    survey: Mapped[Survey] = relationship()
    contact = relationship("Contact")
