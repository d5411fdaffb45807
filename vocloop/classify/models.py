"""The topic taxonomy CX leads edit, re-classification runs, and the team's corrections of labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db
from vocloop.values import SENTIMENTS

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


CORRECTION_SOURCES = ("page", "api", "import")
CORRECTION_LABELS = SENTIMENTS


class Correction(db.Model):
    """A person's label for a comment: on an answer (page or API), or imported from another tool.

    An answer's correction keeps no copy of the words (erasing the contact erases them from training
    too); an imported one has no answer, so it holds its text. `label` or `topics` is None when that
    part was not corrected. The latest correction of a comment is the one retraining learns from.
    """

    __tablename__ = "corrections"
    __table_args__ = (CheckConstraint("source IN ('page', 'api', 'import')", name="source"),
                      CheckConstraint("label IS NULL OR label IN ('negative', 'neutral', 'positive')",
                                      name="label"))

    id: Mapped[intpk]
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    text: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(10))
    topics: Mapped[list[str] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]

    user = relationship("User")


class ClassifierModel(db.Model):
    """A sentiment model this install trained from the shipped one plus the team's corrections.

    At most one is `in_use`; none means the shipped model. `previous_id` is what was in use when it
    took over (None: the shipped model), so `retrain --restore` puts that back. The macro-F1 figures
    are on the corrections it was trained from: `f1_before` the model in use then, `f1_after` this one,
    cross-validated (each comment predicted by a model that never saw it).
    """

    __tablename__ = "classifier_models"

    id: Mapped[intpk]
    version: Mapped[str] = mapped_column(String(40), unique=True)
    # Loaded only when read (the analyzer selects it by itself): the Topics page and the API list every model
    # and its figures, and the weights are hundreds of kilobytes each.
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    corrections: Mapped[int] = mapped_column(default=0)
    folds: Mapped[int] = mapped_column(default=0)
    f1_before: Mapped[float] = mapped_column(Float)
    f1_after: Mapped[float] = mapped_column(Float)
    in_use: Mapped[bool] = mapped_column(default=False, index=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("classifier_models.id", ondelete="SET NULL"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    in_use_from: Mapped[datetime | None]
    in_use_until: Mapped[datetime | None]


class RetrainRun(db.Model):
    """One retraining of the install's model, asked for on the Topics page or the API, or by the weekly
    clock (`requested_by_id` None). The job records what became of it: `outcome` is `in_use` (better, now
    the model in use), `kept` (trained and stored, not better) or `refused` (`error` says why: too few
    corrections, or none new since the model in use was trained from exactly them)."""

    __tablename__ = "retrain_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("outcome IS NULL OR outcome IN ('in_use', 'kept', 'refused')", name="outcome"),
    )

    id: Mapped[intpk]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    outcome: Mapped[str | None] = mapped_column(String(10))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("classifier_models.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    model = relationship("ClassifierModel")
    requested_by = relationship("User")
