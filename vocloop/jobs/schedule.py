"""Periodic jobs, in one list: the clock process (Redis) or a thread (in-process) runs them."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from vocloop.jobs import tasks

log = logging.getLogger(__name__)

# (task, queue, interval in seconds)
PERIODIC = [
    (tasks.sweep, "default", 60),
    (tasks.watch_sla, "default", 300),
    (tasks.run_due_sends, "default", 60),
    (tasks.send_survey_reminders, "default", 900),
    (tasks.send_digests, "default", 3600),
    (tasks.send_metrics_digests, "default", 3600),
    (tasks.apply_retention, "default", 24 * 3600),
    (tasks.retrain_weekly, "classify", 3600),  # hourly look, a run at most once a week
]


def periodic(app: Flask) -> list:
    """PERIODIC with the sweep at SWEEP_SECONDS (faster in the fault suite, where a minute is long)."""
    sweep_seconds = app.config.get("SWEEP_SECONDS", 60)
    return [(task, queue, sweep_seconds if task is tasks.sweep else interval) for task, queue, interval in PERIODIC]


def run_clock(app: Flask) -> None:
    """Enqueue the periodic jobs on Redis with rq's cron scheduler; blocks until stopped."""
    from rq.cron import CronScheduler

    from vocloop.jobs.queue import redis_connection

    with app.app_context():
        scheduler = CronScheduler(connection=redis_connection(), name=f"vocloop-clock-{int(time.time())}")
        for task, queue, interval in periodic(app):
            scheduler.register(task, queue, interval=interval)
        scheduler.start()


def start_inline_scheduler(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """For the embedded default: a daemon thread that runs the periodic jobs in this process, on the
    same intervals as the clock (the sweep at SWEEP_SECONDS); `stop` ends it."""
    schedule = periodic(app)
    tick = min(5, *(interval for _, _, interval in schedule))
    stop = stop or threading.Event()

    def loop() -> None:
        last_run: dict = {}
        while not stop.is_set():
            for task, _, interval in schedule:
                if task not in last_run or time.monotonic() - last_run[task] >= interval:
                    last_run[task] = time.monotonic()
                    try:
                        with app.app_context():
                            task()
                    except Exception:
                        log.exception("periodic job %s failed", task.__name__)
            stop.wait(tick)

    thread = threading.Thread(target=loop, name="vocloop-inline-scheduler", daemon=True)
    thread.start()
    return thread
