"""The outbox: one row per outbound email, written in the transaction that caused it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vocloop.db import created_at, intpk, utcnow
from vocloop.extensions import db

# pending -> sending -> sent -> delivered | bounced | dropped | spam_report ; failed when the
# provider refused it for good. "sending" with an expired lease is taken over by the relay.
MESSAGE_STATUSES = ("pending", "sending", "sent", "failed", "delivered", "deferred",
                    "bounced", "dropped", "spam_report")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[intpk]
    # Unique: the same email (e.g. "survey:<invitation id>") can never be queued twice.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # survey, closing, notification
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    from_email: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_items.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
