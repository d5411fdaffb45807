"""Themes found in comments (themes/discover.py), proposed to leads, who accept, rename, merge or dismiss them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db

RUN_STATUSES = ("queued", "running", "done", "failed")
THEME_STATUSES = ("proposed", "accepted", "merged", "dismissed")


class ThemeRun(db.Model):
    """One discovery over the comments of a period (all, or those without a topic)."""

    __tablename__ = "theme_runs"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),)

    id: Mapped[intpk]
    created_from: Mapped[date | None]
    created_to: Mapped[date | None]
    only_untagged: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    comments: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    finished_at: Mapped[datetime | None]

    themes: Mapped[list[ProposedTheme]] = relationship(back_populates="run", order_by="ProposedTheme.id",
                                                       cascade="all, delete-orphan")


class ProposedTheme(db.Model):
    """A theme of one run: its name and key phrases, how many comments and how they felt, its weekly
    trend and up to five representative answers (by id: an erased comment stays erased here)."""

    __tablename__ = "proposed_themes"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'accepted', 'merged', 'dismissed')", name="status"),
    )

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    key_phrases: Mapped[list[str]] = mapped_column(default=list)
    comments: Mapped[int] = mapped_column(default=0)
    sentiment: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"negative": 3, "neutral": 1, ...}
    trend: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"week": "2026-11-02", "comments": 4}, ...]
    example_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # response ids
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    topic_name: Mapped[str | None] = mapped_column(String(60))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("proposed_themes.id", ondelete="SET NULL"))

    run: Mapped[ThemeRun] = relationship(back_populates="themes")


class DismissedPhrase(db.Model):
    """A theme a lead dismissed, by its leading key phrase: later runs do not propose it again."""

    __tablename__ = "dismissed_theme_phrases"

    id: Mapped[intpk]
    phrase: Mapped[str] = mapped_column(String(120), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
