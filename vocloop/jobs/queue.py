"""Enqueueing: on Redis through rq when REDIS_URL is set, otherwise run right here, in-process.

Call only after the transaction that created the rows has committed. If Redis is unreachable the
job is not lost: the work is recorded in the database and the periodic sweep picks it up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

from vocloop.logs import request_id_var

log = logging.getLogger(__name__)

QUEUES = ("mail", "classify", "default")


def redis_connection() -> Redis | None:
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        return None
    if "vocloop.redis" not in app.extensions:
        app.extensions["vocloop.redis"] = Redis.from_url(app.config["REDIS_URL"], socket_timeout=5,
                                                         socket_connect_timeout=5, health_check_interval=30)
    return app.extensions["vocloop.redis"]


def jobs_inline() -> bool:
    return current_app.config.get("JOBS_INLINE", False) or redis_connection() is None


def enqueue(task: Callable[..., Any], *args: Any, queue: str = "default", retries: int = 3) -> None:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    if jobs_inline():
        try:
            task(*args)
        except Exception:  # the request already committed; the sweep retries what failed here
            log.exception("in-process job %s%r failed; the sweep will retry it", task.__name__, args)
        return
    try:
        Queue(queue, connection=redis_connection()).enqueue(
            task, *args, retry=Retry(max=retries, interval=[10, 60, 300][:retries]) if retries else None,
            job_timeout=600, result_ttl=3600, failure_ttl=7 * 86400, meta={"request_id": request_id_var.get()})
    except RedisError:
        log.warning("Redis unavailable: %s%r left to the sweep", task.__name__, args)


def enqueue_at(when: datetime, task: Callable[..., Any], *args: Any, queue: str = "default") -> bool:
    """Run the task at that time through rq's scheduler (the workers run it); False without Redis
    or when Redis is unreachable, where the periodic sweep is what catches up."""
    if jobs_inline():
        return False
    try:
        Queue(queue, connection=redis_connection()).enqueue_at(
            when, task, *args, job_timeout=600, result_ttl=3600, failure_ttl=7 * 86400,
            meta={"request_id": request_id_var.get()})
        return True
    except RedisError:
        log.warning("Redis unavailable: %s%r at %s left to the sweep", task.__name__, args, when)
        return False
