"""Routing rules, kept in the database and applied in order of position."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vocloop.db import created_at, intpk
from vocloop.extensions import db

ACTIONS = ("user", "team", "account_owner")
TEAM_STRATEGIES = ("round_robin", "least_loaded")


class RoutingRule(db.Model):
    """conditions: {survey_ids, score_min, score_max, sentiments, topics, account_ids, priorities};
    a missing key matches anything. See routing/rules.py for the semantics."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        CheckConstraint("action IN ('user', 'team', 'account_owner')", name="action"),
        CheckConstraint("action != 'user' OR user_id IS NOT NULL", name="user_action_has_user"),
        CheckConstraint("action != 'team' OR team_id IS NOT NULL", name="team_action_has_team"),
    )

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=100, index=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    action: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    team_strategy: Mapped[str] = mapped_column(String(20), default="round_robin")
    # "Also notify": a user, every member of a team, and/or a Slack incoming-webhook URL.
    notify_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notify_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    notify_slack_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]


class SlaPolicy(db.Model):
    """Per priority: hours to the owner's first action and to the closing message."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        CheckConstraint("priority IN ('P1', 'P2', 'P3', 'P4')", name="priority"),
        CheckConstraint("first_action_hours > 0 AND close_hours >= first_action_hours", name="hours"),
    )

    id: Mapped[intpk]
    priority: Mapped[str] = mapped_column(String(2), unique=True)
    first_action_hours: Mapped[float]
    close_hours: Mapped[float]
    # True: counted in the business calendar's working hours; False: calendar time.
    business_hours: Mapped[bool] = mapped_column(default=False)


class BusinessCalendarRow(db.Model):
    """The working calendar SLA clocks run on (one row)."""

    __tablename__ = "business_calendars"

    id: Mapped[intpk]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    workdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [0, 1, 2, 3, 4])
    start: Mapped[str] = mapped_column(String(5), default="09:00")
    end: Mapped[str] = mapped_column(String(5), default="17:00")
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
