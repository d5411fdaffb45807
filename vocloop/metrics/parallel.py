"""Running a page's independent queries side by side.

The dashboard asks PostgreSQL a dozen questions about the same period; one after another they add up,
side by side they take about as long as the slowest two. Each worker thread has its own app context,
so its own session, connection and transaction, and takes the next task as it finishes one: one
checkout, one transaction and one statement of settings (no JIT; METRICS_WORKERS_PER_QUERY of PostgreSQL's
own parallel workers per query, none by default) per worker rather than per task (they were a third of the
page's statements, and each round trip waits for a core on a busy machine). SQLite (the
embedded default) runs them in turn: one file, one writer, and small data.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from flask import current_app

from vocloop.extensions import db
from vocloop.metrics.sql import for_side_by_side, without_jit


def gather(tasks: dict[str, Callable[[], Any]],
           meanwhile: dict[str, Callable[[], Any]] | None = None) -> dict[str, Any]:
    """Each task's result by name; the first task's exception, if any, is raised here. The workers
    take the tasks in the order given: put the longest first, or the last long one starts late and
    runs alone while the other worker idles. `meanwhile` runs on the calling thread (its own session)
    while the workers run: the page's small lookups cost it no time of their own."""
    meanwhile = meanwhile or {}
    workers = min(current_app.config["METRICS_QUERY_WORKERS"], len(tasks))
    if workers <= 1 or db.session.get_bind().dialect.name != "postgresql":
        without_jit()
        return {name: task() for name, task in {**tasks, **meanwhile}.items()}
    app = current_app._get_current_object()  # noqa: SLF001 (the app itself, to push in each thread)
    waiting = deque(tasks.items())
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def work() -> None:
        with app.app_context():
            try:
                while True:
                    try:
                        name, task = waiting.popleft()  # atomic: each task taken once
                    except IndexError:
                        return
                    try:
                        for_side_by_side()  # once per transaction (again after a failed task's rollback)
                        results[name] = task()
                    except BaseException as exc:  # noqa: BLE001 (raised on the calling thread below)
                        errors[name] = exc
                        db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, name=f"metrics_{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        here = {name: task() for name, task in meanwhile.items()}
    finally:
        for thread in threads:
            thread.join()
    for name in tasks:
        if name in errors:
            raise errors[name]
    return {**{name: results[name] for name in tasks}, **here}
