"""The figures operators watch, read fresh from the database and Redis (shared by /readyz,
the Prometheus endpoint and `flask check`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items import sla_clock
from vocloop.items.models import FeedbackItem
from vocloop.jobs.queue import QUEUES, redis_connection
from vocloop.mail.models import Message, QueuedMessage
from vocloop.responses.models import Response


@dataclass
class Status:
    database_ok: bool = False
    database_error: str | None = None
    redis_configured: bool = False
    redis_ok: bool = False
    redis_error: str | None = None
    queue_depth: dict[str, int] = field(default_factory=dict)
    failed_jobs: dict[str, int] = field(default_factory=dict)
    outbox_pending: int = 0
    outbox_failed: int = 0
    oldest_pending_seconds: float = 0.0
    open_items: int = 0
    sla_breached_open_items: int = 0
    unprocessed_responses: int = 0

    @property
    def ready(self) -> bool:
        return self.database_ok and (self.redis_ok or not self.redis_configured)


def read_status() -> Status:
    status = Status()
    try:
        db.session.execute(text("SELECT 1"))
        status.database_ok = True
        _read_database_figures(status)
    except Exception as exc:  # the point is to report it, whatever it is
        db.session.rollback()
        status.database_error = type(exc).__name__
    connection = redis_connection()
    status.redis_configured = connection is not None
    if connection is not None:
        try:
            from rq import Queue
            from rq.registry import FailedJobRegistry

            connection.ping()
            status.redis_ok = True
            for name in QUEUES:
                queue = Queue(name, connection=connection)
                status.queue_depth[name] = queue.count
                status.failed_jobs[name] = FailedJobRegistry(queue=queue).count
        except Exception as exc:
            status.redis_error = type(exc).__name__
    return status


def _read_database_figures(status: Status) -> None:
    now = utcnow()
    pending = select(func.count(), func.min(Message.created_at)).select_from(QueuedMessage).join(
        Message, Message.id == QueuedMessage.message_id)
    count, oldest = db.session.execute(pending).one()
    status.outbox_pending = count
    status.oldest_pending_seconds = round((now - oldest).total_seconds(), 1) if oldest else 0.0
    status.outbox_failed = db.session.scalar(select(func.count()).where(Message.status == "failed"))
    status.open_items = db.session.scalar(select(func.count()).where(FeedbackItem.status != "closed"))
    status.sla_breached_open_items = db.session.scalar(select(func.count()).where(
        FeedbackItem.status != "closed", sla_clock.overdue(now)))
    status.unprocessed_responses = db.session.scalar(select(func.count()).where(
        Response.processed_at.is_(None), Response.completed_at.is_not(None)))
