"""Registered webhook endpoints, one delivery per event and endpoint, and every attempt at it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db
from vocloop.security import seal, unseal

EVENT_TYPES = ("response.created", "item.created", "item.assigned", "item.closed", "item.reopened",
               "sla.breached")


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[intpk]
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(default=list)
    # The signing secret is needed in clear to sign each delivery, so it cannot be stored as a hash:
    # it is stored sealed (vocloop.security.seal), shown to the admin once, at creation, and never
    # returned by the API afterwards.
    sealed_secret: Mapped[str] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]

    @property
    def secret(self) -> str:
        """The signing secret in clear; SealBroken if SECRET_KEY changed without a fallback."""
        return unseal(self.sealed_secret)

    @secret.setter
    def secret(self, value: str) -> None:
        self.sealed_secret = seal(value)


class WebhookDelivery(db.Model):
    """One event for one endpoint. pending -> delivered, or failed once the retry window has passed.
    The body is stored as sent, so a retry or a replay posts the very same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"))

    id: Mapped[intpk]
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The event's id, the same in every delivery of it (replays included): receivers dedupe by it.
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # A worker holds the delivery until then; a worker killed mid-post leaves it to the next one after.
    leased_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    replay_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id",
                                                             cascade="all, delete-orphan")


class WebhookAttempt(db.Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int]
    created_at: Mapped[created_at]
