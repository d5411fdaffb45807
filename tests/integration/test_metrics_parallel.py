"""The dashboard's queries side by side (METRICS_QUERY_WORKERS, PostgreSQL): each worker keeps one
session for the tasks it takes, so a task that fails must not take the next ones down with it."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import TEST_DATABASE_URL
from vocloop.extensions import db
from vocloop.metrics.parallel import gather

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite runs the queries in turn, on one session")


def test_a_failed_query_is_raised_and_the_tasks_after_it_on_the_same_worker_still_answer(app):
    app.config["METRICS_QUERY_WORKERS"] = 2
    answered = []

    def after(n):
        def task():  # slow enough that the worker whose first task fails takes some of these
            answered.append(db.session.execute(text("SELECT :n FROM pg_sleep(0.05)"), {"n": n}).scalar())
            return n
        return task

    tasks = {"broken": lambda: db.session.execute(text("SELECT 1 / 0")), **{f"then-{n}": after(n) for n in range(6)}}
    with pytest.raises(DBAPIError, match="division by zero"):
        gather(tasks)
    assert sorted(answered) == [0, 1, 2, 3, 4, 5]

    results = gather({name: task for name, task in tasks.items() if name != "broken"},
                     meanwhile={"here": lambda: db.session.execute(text("SELECT 'here'")).scalar()})
    assert results == {**{f"then-{n}": n for n in range(6)}, "here": "here"}


def test_queries_side_by_side_do_not_also_split_themselves_over_the_same_cores(app):
    """Each worker's session runs without JIT and, by default, without PostgreSQL's own parallel workers
    (METRICS_WORKERS_PER_QUERY); the request's session, and a query run alone, keep the server's settings."""
    app.config["METRICS_QUERY_WORKERS"] = 2
    server_default = db.session.execute(text("SHOW max_parallel_workers_per_gather")).scalar()
    db.session.rollback()

    def settings():
        return db.session.execute(text("SELECT current_setting('max_parallel_workers_per_gather'), "
                                       "current_setting('jit'), pg_sleep(0.05)")).one()[:2]

    tasks = {f"query-{n}": settings for n in range(4)}
    here = {"here": lambda: db.session.execute(text("SHOW max_parallel_workers_per_gather")).scalar()}
    results = gather(tasks, meanwhile=here)
    assert {results[name] for name in tasks} == {("0", "off")} and results["here"] == server_default
    app.config["METRICS_WORKERS_PER_QUERY"] = 2
    results = gather(tasks)
    assert {results[name] for name in tasks} == {("2", "off")}

