"""Running a page's independent queries side by side.

The dashboard asks PostgreSQL a dozen questions about the same period; one after another they add up,
side by side they take about as long as the slowest two. Each runs in its own app context, so with
its own session and connection. SQLite (the embedded default) runs them in turn: one file, one writer,
and small data.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import current_app

from vocloop.extensions import db
from vocloop.metrics.sql import without_jit


def gather(tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each task's result by name; the first task's exception, if any, is raised here."""
    workers = current_app.config["METRICS_QUERY_WORKERS"]
    if workers <= 1 or db.session.get_bind().dialect.name != "postgresql":
        without_jit()
        return {name: task() for name, task in tasks.items()}
    app = current_app._get_current_object()  # noqa: SLF001 (the app itself, to push in each thread)

    def run(task: Callable[[], Any]) -> Any:
        with app.app_context():
            try:
                without_jit()
                return task()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metrics") as pool:
        futures = {name: pool.submit(run, task) for name, task in tasks.items()}
        return {name: future.result() for name, future in futures.items()}
