"""The outbox: one row per outbound email, written in the transaction that caused it; the shared
content of bulk sends; provider events; and inbound replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk, utcnow
from vocloop.extensions import db

# pending -> sending -> sent -> delivered | bounced | dropped | spam_report ; failed when the provider
# refused it for good. A "sending" row whose lease expired is settled by provider events or re-sent.
MESSAGE_STATUSES = ("pending", "sending", "sent", "failed", "deferred", "delivered",
                    "bounced", "dropped", "spam_report")


class MessageTemplate(db.Model):
    """Content shared by many messages (a survey sent to thousands): stored once, with
    substitution tags (-vl_name-) that each message's substitutions fill in."""

    __tablename__ = "message_templates"

    id: Mapped[intpk]
    # sha256 of subject, html and text: the same rendering is stored once.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]


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
    reply_to: Mapped[str | None] = mapped_column(String(320))
    # Either its own content (subject, html, text) or a template plus substitutions.
    subject: Mapped[str] = mapped_column(String(300))
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("message_templates.id"), index=True)
    substitutions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_items.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # When the provider last told us something about it (delivered, bounce, ...).
    event_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    template: Mapped[MessageTemplate | None] = relationship()


class MailEvent(db.Model):
    """One provider event, kept as received; sg_event_id is unique so a webhook retry counts once."""

    __tablename__ = "mail_events"

    id: Mapped[intpk]
    provider_event_id: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(320), default="")
    occurred_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]


class InboundEmail(db.Model):
    """A customer's reply that came back through the inbound parse webhook, deduplicated."""

    __tablename__ = "inbound_emails"

    id: Mapped[intpk]
    # The Message-ID header, or a hash of the content when there is none.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_items.id", ondelete="SET NULL"), index=True)
    from_email: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at]
