"""Fixtures. The same suite runs in two modes:

- default: SQLite file, jobs in-process;
- VOCLOOP_TEST_DATABASE_URL + VOCLOOP_TEST_REDIS_URL set: PostgreSQL, jobs on Redis run by a real
  `flask --app vocloop worker` process started here.

The suite runs in two processes (pytest-xdist, `-n 2` in pyproject.toml): each has its own database
(SQLite file, or `<name>_gw1` beside the given PostgreSQL database), its own Redis database and worker,
its own SendGrid stub, so the two never see each other's rows, jobs or mail.

Mail always goes through the real sendgrid client to a local v3-compatible stub server.
"""

from __future__ import annotations

import contextvars
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.support import route_builders
from tests.support.sendgrid_stub import SendGridStub
from vocloop import create_app
from vocloop.classify.topics import seed_default_topics
from vocloop.extensions import db
from vocloop.routing import sla

ROOT = Path(__file__).resolve().parent.parent
route_builders.install()  # each app per test reuses the URL builders the first app compiled
XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])  # 0 when run in one process


def _own_database(url: str | None) -> str | None:
    """The first process uses the database given; the others one each beside it (created on first use)."""
    if not url or not XDIST_WORKER:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_gw{XDIST_WORKER}").render_as_string(False)


def _own_redis_database(url: str | None) -> str | None:
    """The first process uses the Redis database given; the others ones half the range away (15 -> 7, 8...),
    so that two people's runs on one Redis, given neighbouring databases, do not meet."""
    if not url or not XDIST_WORKER:
        return url
    base, _, number = url.rpartition("/")
    return f"{base}/{(int(number or 0) + 7 + XDIST_WORKER) % 16}"


TEST_DATABASE_URL = _own_database(os.environ.get("VOCLOOP_TEST_DATABASE_URL"))
TEST_REDIS_URL = _own_redis_database(os.environ.get("VOCLOOP_TEST_REDIS_URL"))

if TEST_DATABASE_URL and not os.environ.get("VOCLOOP_FAULTS"):
    # Every PostgreSQL connection of the suite (the app's, the worker's, the processes tests start: libpq
    # reads PGOPTIONS) commits without waiting for the disk. A commit is as visible to other connections as
    # before; only a crash of the server could lose its last fraction of a second, and no test here crashes
    # it (the fault suite, which restarts it, keeps the default). The wait was ~1 ms a commit on this disk.
    os.environ["PGOPTIONS"] = " ".join(filter(None, (os.environ.get("PGOPTIONS"), "-c synchronous_commit=off")))


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context and database session, as in production,
    even while the test itself holds an app context open."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def sendgrid():
    stub = SendGridStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def settings(sendgrid, tmp_path_factory):
    values = {
        "VOCLOOP_ENV": "testing",
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'vocloop.db'}",
        "SENDGRID_API_KEY": sendgrid.api_key,
        "SENDGRID_API_HOST": sendgrid.url,
        "VOCLOOP_BASE_URL": "http://vocloop.test",
        "MAIL_FROM": "feedback@example.com",
        # Set for the worker process too; tests that do not create this user see the admin fallback.
        "FALLBACK_OWNER_EMAIL": "triage@example.com",
    }
    if TEST_REDIS_URL:
        values["REDIS_URL"] = TEST_REDIS_URL
    return values


@pytest.fixture(scope="session")
def schema(settings):
    """Bring a clean database to head through the Alembic migrations, as production does, then to the
    state every test starts from."""
    from flask_migrate import upgrade

    if TEST_DATABASE_URL:
        _create_database_if_missing(TEST_DATABASE_URL)
    app = create_app(settings)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        # The first test of a process starts as every later one does (the migrations also seed scanner
        # rules, which the reset does not put back: a test that ran first saw 24 rules it never added).
        reset_database()
        db.engine.dispose()
    return True


def _create_database_if_missing(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(parsed.set(drivername="postgresql", database="postgres").render_as_string(False),
                         autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            admin.execute(f'CREATE DATABASE "{parsed.database}"')


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when this test run dies (killed, interrupted), instead of living on
    and taking the next run's jobs with the code it started with."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@pytest.fixture(scope="session")
def worker(settings, schema, tmp_path_factory):
    """A real rq worker process (Redis mode only)."""
    if not TEST_REDIS_URL:
        yield None
        return
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, **{key: str(value) for key, value in settings.items()}}
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "vocloop", "worker"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 180  # a busy machine starts Python slowly; a dead worker fails at once
    while not Worker.all(connection=connection):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the rq worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def app(settings, schema, worker, sendgrid):
    """A fresh app per test, its context pushed; every table emptied afterwards."""
    sendgrid.reset()
    app = create_app(settings)
    with app.app_context():
        yield app
        drain_jobs(app)
        db.session.remove()
        clear_jobs(app)
        reset_database()
        # Its connections closed now, not when the garbage collector reaches the app: with apps cheaper to
        # build, collections came rarely enough that a PostgreSQL pass held 100 connections (CI, Dec 4).
        db.engine.dispose()


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


def reset_database() -> None:
    """Every table emptied, then the reference rows the migrations seed put back (SLA policies,
    default topics), so that no test sees what another left or removed."""
    empty_tables()
    sla.ensure_defaults()
    seed_default_topics()


def empty_tables() -> None:
    """DELETE, children first, on both databases: a test leaves a few rows, and PostgreSQL's TRUNCATE
    of some forty tables costs a fixed ~100 ms per test whatever they hold (a minute over the suite)."""
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def drain_jobs(app, timeout: float = 60) -> None:
    """Wait until the worker has run every queued job (Redis mode); a no-op in-process.

    A job is counted by its own status, not by where it sits: a worker listening to several queues
    takes a job with BLPOP and only then adds it to the started registry, so for a moment (tens of
    ms on a loaded machine) it is in no queue and no registry, and a drain that looked there
    returned before the job ran (CI, 2026-12-03: an item not yet created). rq sets "queued" at
    enqueue and changes it only when the job starts, ends or waits for a retry.

    Every status is read in one Lua script, which Redis runs whole: one look sees a single instant, so
    one idle look is enough. (Read key by key, a job could finish between the listing of the keys and
    the reading of its status after enqueueing a job the list missed; three idle looks 10 ms apart,
    ~40 ms a drain on every test, covered that.) A job enqueues the next while it is "started"
    (vocloop.jobs.tasks.job), and rq writes a job's hash and pushes it onto its queue in one
    transaction, so between two jobs of a chain one of them is always queued or started."""
    if app.config["JOBS_INLINE"]:
        return
    from vocloop.jobs.queue import redis_connection

    connection = redis_connection()
    deadline = time.monotonic() + timeout
    while _unfinished_jobs(connection):
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs still running after {timeout}s")
        time.sleep(0.01)


# rq:job:<id> hashes only (not rq:job:<id>:dependents and the like); queued or started, in one instant.
_COUNT_UNFINISHED = """
local count = 0
for _, key in ipairs(redis.call('KEYS', 'rq:job:*')) do
  local _, colons = string.gsub(key, ':', '')
  if colons == 2 and redis.call('TYPE', key).ok == 'hash' then
    local status = redis.call('HGET', key, 'status')
    if status == 'queued' or status == 'started' then count = count + 1 end
  end
end
return count
"""


def _unfinished_jobs(connection) -> int:
    """Jobs queued or started; those waiting for a retry ("scheduled") are not waited for."""
    return int(connection.eval(_COUNT_UNFINISHED, 0))


def clear_jobs(app) -> None:
    """Forget retries and failures, so nothing from one test runs during the next, and the finished
    jobs, so that the drain's look at every job's status stays short."""
    if app.config["JOBS_INLINE"]:
        return
    from rq import Queue
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry

    from vocloop.jobs.queue import QUEUES, redis_connection

    connection = redis_connection()
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        queue.empty()
        for registry in (ScheduledJobRegistry(queue=queue), FailedJobRegistry(queue=queue),
                         FinishedJobRegistry(queue=queue)):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)


@pytest.fixture
def drain(app):
    """Call to wait for the worker, then see its writes: the test's session starts over."""

    def wait() -> None:
        drain_jobs(app)
        db.session.rollback()
        db.session.expire_all()

    return wait


class _JobFailures(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        from vocloop.routing.service import NoOwnerAvailable

        if record.exc_info and isinstance(record.exc_info[1], NoOwnerAvailable):
            return  # by design: with nobody to own it the answer waits for the sweep (test_promises)
        self.failures.append(f"{record.getMessage()}: {record.exc_info[1]!r}" if record.exc_info
                             else record.getMessage())


@pytest.fixture(autouse=True)
def no_silent_job_failures(request):
    """An in-process job that raises is logged and left to the sweep, as in production: in a test that is
    a failure no assertion would see (the job's effect may come from elsewhere). Tests that make a job
    fail on purpose say so with @pytest.mark.job_failures."""
    handler, logger = _JobFailures(), logging.getLogger("vocloop.jobs.queue")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)
    if handler.failures and request.node.get_closest_marker("job_failures") is None:
        pytest.fail("in-process job(s) failed: " + "; ".join(handler.failures), pytrace=False)
