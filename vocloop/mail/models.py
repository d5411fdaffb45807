"""The outbox: one row per outbound email, written in the transaction that caused it; the shared
content of bulk sends; provider events; and inbound replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk, utcnow
from vocloop.extensions import db

# pending -> sent -> delivered | bounced | dropped | spam_report ; failed when the provider refused it for
# good. While pending, the relay's state (due time, lease, attempts) is its QueuedMessage; a pending row
# whose lease expired is settled by provider events or re-sent. "sending" is what rows taken by a relay
# said before that state moved out (migration 0030); none are left.
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
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    # Attempts the relay made, written when it last recorded an outcome (the running count is the queue's).
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    # When the provider last told us something about it (delivered, bounce, ...).
    event_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    template: Mapped[MessageTemplate | None] = relationship()
    queued: Mapped[QueuedMessage | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def next_attempt_at(self) -> datetime | None:
        """When the relay tries it next; None once it is settled (sent, failed, or settled by events)."""
        return self.queued.next_attempt_at if self.queued else None

    @next_attempt_at.setter
    def next_attempt_at(self, when: datetime) -> None:
        self._queue_row("next_attempt_at").next_attempt_at = when

    @property
    def lease_until(self) -> datetime | None:
        """Until when the relay that took it holds it; None when no relay does."""
        return self.queued.lease_until if self.queued else None

    @lease_until.setter
    def lease_until(self, when: datetime | None) -> None:
        self._queue_row("lease_until").lease_until = when

    def _queue_row(self, setting: str) -> QueuedMessage:
        """The relay's row of this message, for a setter: a settled message has none, and setting its
        relay state then would silently do nothing (a caller making it due would believe it will be sent)."""
        if self.queued is None:
            raise ValueError(f"message {self.id} is settled ({self.status}): it has no {setting} to set")
        return self.queued


class QueuedMessage(db.Model):
    """An outbox message not yet settled, and the relay's state for it: when it is due, the lease of the
    relay sending it, its attempts. Apart from the wide message row (content, substitutions, headers,
    six indexes) so that taking a message and retrying it rewrite a row of four numbers; deleted when the
    provider accepts or refuses the message, or its events settle it (issue #25)."""

    __tablename__ = "message_queue"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)


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
