"""Retraining as a job: a lead asks for it on the Topics page or through the API, and the clock asks for
it once a week when owners have corrected labels since the model in use was trained. The job runs
`learning.retrain` and records what became of it, so the page can say it in words (in use, kept because
not better, or refused and why) instead of the command line's output that nobody reads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from vocloop.classify import learning
from vocloop.classify.models import ClassifierModel, Correction, RetrainRun
from vocloop.db import utcnow
from vocloop.errors import DomainError, Invalid
from vocloop.extensions import db

ACTIVE = ("queued", "running")
WEEK = timedelta(days=7)


def latest_run() -> RetrainRun | None:
    return db.session.scalar(select(RetrainRun).order_by(RetrainRun.id.desc()).limit(1))


def _active_run() -> RetrainRun | None:
    return db.session.scalar(select(RetrainRun).where(RetrainRun.status.in_(ACTIVE))
                             .order_by(RetrainRun.id.desc()).limit(1))


def labelled_count() -> int:
    return len(learning.labelled_texts())


def start_run(requested_by_id: int | None) -> tuple[RetrainRun, bool]:
    """A new run (the caller enqueues `retrain_model(run.id)`), or the one under way (started=False).
    Refused at once, with the reason, when there are too few labelled comments to learn from."""
    running = _active_run()
    if running is not None:
        return running, False
    labelled = labelled_count()
    if labelled < learning.MIN_CORRECTIONS:
        raise Invalid(f"Retraining needs at least {learning.MIN_CORRECTIONS} labelled comments; there are "
                      f"{labelled}. Owners label them with “Wrong?” on an item, or import a labelled history "
                      "(flask --app vocloop corrections import FILE).")
    run = RetrainRun(requested_by_id=requested_by_id)
    db.session.add(run)
    db.session.commit()
    return run, True


def run_retraining(run_id: int) -> RetrainRun | None:
    """The job's work; a finished run is left alone, so a retried or swept job does not train twice."""
    run = db.session.get(RetrainRun, run_id)
    if run is None or run.status not in ACTIVE:
        return run
    run.status, run.started_at = "running", utcnow()
    db.session.commit()
    try:
        result = learning.retrain(run.requested_by_id)
    except DomainError as exc:  # too few labels (they were erased meanwhile), or nothing new to learn
        db.session.rollback()
        run = db.session.get(RetrainRun, run_id)
        run.status, run.outcome, run.error = "done", "refused", exc.detail
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(RetrainRun, run_id)
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        run.finished_at = utcnow()
        db.session.commit()
        raise
    else:
        run.status, run.model_id = "done", result.model.id
        run.outcome = "in_use" if result.better else "kept"
    run.finished_at = utcnow()
    db.session.commit()
    return run


def weekly_run_due(now=None) -> bool:
    """The clock's question: no run in the past week, and comments labelled since the last model was
    trained (none trained: any labels at all). Whether they are enough is start_run's to say."""
    now = now or utcnow()
    last = latest_run()
    if last is not None and last.created_at > now - WEEK:
        return False
    newest_label = db.session.scalar(select(func.max(Correction.created_at)).where(Correction.label.is_not(None)))
    if newest_label is None:
        return False
    trained = db.session.scalar(select(func.max(ClassifierModel.created_at)))
    return trained is None or newest_label > trained


def stalled_run_ids(older_than_seconds: int = 900) -> list[int]:
    """Runs still queued or running long after they were asked for: their job was lost (the sweep runs them
    again). Retraining 10,000 labels takes under a minute, so a quarter of an hour is lost, not slow."""
    return list(db.session.scalars(select(RetrainRun.id).where(
        RetrainRun.status.in_(ACTIVE), RetrainRun.created_at < utcnow() - timedelta(seconds=older_than_seconds))))


def models() -> list[ClassifierModel]:
    """Every model this install trained, newest first (the figures the page and the API show)."""
    return learning.history()
