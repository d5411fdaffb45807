"""The topic taxonomy CX leads edit, and the re-classification runs that apply it to past answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vocloop.db import created_at, intpk
from vocloop.extensions import db

RUN_STATUSES = ("queued", "running", "finished", "failed")


class Topic(db.Model):
    """keywords: words and phrases; a comment has the topic when one occurs (or an inflection of it)."""

    __tablename__ = "topics"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(60), unique=True)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(default=100)
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]


class ReclassifyRun(db.Model):
    """One pass of the current classifier and taxonomy over every answered response, in batches.

    `last_response_id` is the keyset cursor: a worker killed mid-run resumes after the last batch
    it committed, so no response is skipped and none is counted twice.
    """

    __tablename__ = "reclassify_runs"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'finished', 'failed')", name="status"),)

    id: Mapped[intpk]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    last_response_id: Mapped[int] = mapped_column(default=0)
    classifier: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None]
    progressed_at: Mapped[datetime | None]  # last committed batch: the sweep restarts a run idle too long
    finished_at: Mapped[datetime | None]

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))
