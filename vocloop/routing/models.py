"""Routing rules, kept in the database and applied in order of position."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
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
    created_at: Mapped[created_at]
