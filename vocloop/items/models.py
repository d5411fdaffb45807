"""The loop for one response that needs action, and its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk, utcnow
from vocloop.extensions import db
from vocloop.values import ITEM_STATUSES

STATUSES = ITEM_STATUSES
OPEN_ITEM = "status IN ('open', 'in_progress', 'waiting')"


class FeedbackItem(db.Model):
    """owner_id is NOT NULL: the database itself refuses an item without an owner."""

    __tablename__ = "feedback_items"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'waiting', 'closed')", name="status"),
        CheckConstraint("priority IN ('P1', 'P2', 'P3', 'P4')", name="priority"),
        CheckConstraint("status = 'closed' OR closed_at IS NULL", name="closed_at_only_when_closed"),
        CheckConstraint("customer_verdict IN ('resolved', 'not_resolved')", name="customer_verdict"),
        Index("ix_feedback_items_owner_status", "owner_id", "status"),
        Index("ix_feedback_items_created", "created_at"),
        Index("ix_feedback_items_status_close_due", "status", "close_due_at"),
        # The inbox's open tabs, in due order: all (admins), per owner, per team (partial: open items only).
        Index("ix_feedback_items_open_due", "close_due_at", "id",
              postgresql_where=text(OPEN_ITEM), sqlite_where=text(OPEN_ITEM)),
        Index("ix_feedback_items_open_owner_due", "owner_id", "close_due_at",
              postgresql_where=text(OPEN_ITEM), sqlite_where=text(OPEN_ITEM)),
        Index("ix_feedback_items_open_team_due", "team_id", "close_due_at",
              postgresql_where=text(OPEN_ITEM), sqlite_where=text(OPEN_ITEM)),
        # The backlog's ages and overdue count read this alone (an index-only scan on PostgreSQL).
        Index("ix_feedback_items_open_created", "created_at", "close_due_at", "sla_paused_at",
              postgresql_where=text(OPEN_ITEM), sqlite_where=text(OPEN_ITEM)),
        # What was saved in a period: the items whose loops closed in it (revenue at risk).
        Index("ix_feedback_items_loop_closed", "loop_closed_at", postgresql_where=text("loop_closed_at IS NOT NULL"),
              sqlite_where=text("loop_closed_at IS NOT NULL")),
        # The dashboard's list of missed deadlines, most recent first.
        Index("ix_feedback_items_breached", "first_breached_at", postgresql_where=text("first_breached_at IS NOT NULL"),
              sqlite_where=text("first_breached_at IS NOT NULL")),
    )

    id: Mapped[intpk]
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    routing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(2))
    # Copied from the response (and updated by a re-classification): metrics group items by them
    # without joining a million responses.
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    topics: Mapped[list[str]] = mapped_column(default=list)
    first_action_due_at: Mapped[datetime]
    close_due_at: Mapped[datetime]
    first_action_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # closing_message, or the reason given for closing without one (spam, duplicate, ...).
    close_reason: Mapped[str | None] = mapped_column(String(40))
    # Set when the provider accepted the closing message; cleared if it bounces.
    loop_closed_at: Mapped[datetime | None]
    # Whether that was at or before the closing-message due time then in force: fixed at loop closure, so
    # the new due times of a reopen never rewrite "closed within SLA".
    loop_closed_in_sla: Mapped[bool | None]
    # The closing message being written, kept between visits.
    closing_draft: Mapped[str | None] = mapped_column(Text)
    # The customer's answer to "Did this resolve your concern?" in the closing message.
    customer_verdict: Mapped[str | None] = mapped_column(String(20))  # resolved, not_resolved
    verdict_at: Mapped[datetime | None]
    # How often a closed item came back (a reply, "not resolved"): the reopen rate counts items with > 0.
    reopen_count: Mapped[int] = mapped_column(default=0)
    # Seconds from creation to the first action / loop closure, in calendar time and in working time on
    # the business calendar, fixed when it happened: medians are then sorts of plain integers (fast at a
    # million items), and business hours need no calendar logic in SQL.
    seconds_to_first_action: Mapped[int | None]
    seconds_to_close: Mapped[int | None]
    business_seconds_to_first_action: Mapped[int | None]
    business_seconds_to_close: Mapped[int | None]
    # When the current SLA clock started: NULL from creation; a reopen starts a new one (items/sla_clock.py).
    sla_started_at: Mapped[datetime | None]
    # Set while the item waits on the customer: its SLA clock stands still (items/sla_clock.py).
    sla_paused_at: Mapped[datetime | None]
    # SLA watch: each set once per clock, when the owner was warned, a deadline passed, the lead was told;
    # a reopen clears them (the timeline keeps what happened before).
    sla_warned_at: Mapped[datetime | None]
    first_action_breached_at: Mapped[datetime | None]
    sla_breached_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # The first time the item missed a closing-message deadline, kept across reopens: what metrics count.
    first_breached_at: Mapped[datetime | None]
    # What the customer did after the loop ended (items/next_answer.py keeps these): their next counted
    # answer to this survey, its score minus the opening one; the first invitation sent to them, and when
    # it was answered. The loop effect reads them instead of searching each item's later answers. Derived
    # data, recomputed from the answers and invitations (no foreign keys: a second one to responses would
    # make every join of items to responses ambiguous).
    # The score of the answer that opened the item, kept by items/next_answer.py (revenue at risk: a detractor?).
    opening_score: Mapped[int | None]
    next_response_id: Mapped[int | None]
    next_answered_at: Mapped[datetime | None]
    next_score_change: Mapped[int | None]
    next_invitation_id: Mapped[int | None]
    next_invitation_answered_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    response = relationship("Response")
    contact = relationship("Contact")
    survey = relationship("Survey")
    owner = relationship("User", foreign_keys=[owner_id])
    team = relationship("Team")
    routing_rule = relationship("RoutingRule")
    events: Mapped[list[ItemEvent]] = relationship(back_populates="item", order_by="ItemEvent.id")

    @property
    def is_open(self) -> bool:
        return self.status != "closed"


class ItemEvent(db.Model):
    """One timeline entry. kind: created, assigned, reassigned, note, status, message_sent,
    message_failed, message_bounced, closed, reopened."""

    __tablename__ = "item_events"

    id: Mapped[intpk]
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]

    item: Mapped[FeedbackItem] = relationship(back_populates="events")
    actor = relationship("User")


class ClosingTemplate(db.Model):
    """A starting point for closing messages, for one survey and/or topic (or all), with
    placeholders: {first_name} {name} {owner_name} {survey_title} {score} (closing_templates.PLACEHOLDER_HELP)."""

    __tablename__ = "closing_templates"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    topic: Mapped[str | None] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]
