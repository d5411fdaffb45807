"""The fault suite's stack: the app under gunicorn (2 workers), rq workers and the clock as real
processes, a Redis server of its own (so it can be stopped), the machine's PostgreSQL (restarted by
one test) with a database of its own, and the SendGrid stub in this process (so requests are counted
here) posting signed events back like SendGrid.

Run with VOCLOOP_FAULTS=1 and VOCLOOP_TEST_DATABASE_URL set (`.ci/run` does, after the suites):
    VOCLOOP_FAULTS=1 VOCLOOP_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m pytest -m faults tests/faults -n 0   # one process: it restarts PostgreSQL
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.sendgrid_stub import EventSigner, SendGridStub

ROOT = Path(__file__).resolve().parent.parent.parent
BASE_URL = os.environ.get("VOCLOOP_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="the fault suite runs with VOCLOOP_FAULTS=1 on PostgreSQL (see tests/faults)")
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.faults)
            if os.environ.get("VOCLOOP_FAULTS") != "1" or not BASE_URL.startswith("postgresql"):
                item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


class Stack:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        # A database of its own named after the test database (test -> test_faults), so that two
        # checkouts testing against one PostgreSQL with different test databases never share it.
        base = urlparse(BASE_URL)
        self.database_url = base._replace(path=f"{base.path.rstrip('/') or '/vocloop'}_faults").geturl()
        self.redis_port = free_port()
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.stub = SendGridStub().start()
        self.signer = EventSigner()
        self.stub.signer, self.stub.event_url = self.signer, f"{self.web_url}/webhooks/sendgrid/events"
        self.redis: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.clock: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.env = {**os.environ, "VOCLOOP_ENV": "development", "DATABASE_URL": self.database_url,
                    "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0", "SECRET_KEY": "f" * 40,
                    "SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_HOST": self.stub.url,
                    "SENDGRID_WEBHOOK_PUBLIC_KEY": self.signer.public_key, "VOCLOOP_BASE_URL": self.web_url,
                    "MAIL_LEASE_SECONDS": "5", "MAIL_SETTLE_SECONDS": "5", "MAIL_RETRY_BASE_SECONDS": "1",
                    "SWEEP_SECONDS": "2", "COMMENT_GRACE_MINUTES": "1", "RATELIMIT_ENABLED": "false",
                    "LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}

    # -- processes ----------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "a")  # noqa: SIM115 (kept open for the process)
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_redis(self) -> None:
        self.redis = self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no"])
        wait_for(lambda: _redis_ping(self.redis_port), 15, "redis start")

    def stop_redis(self) -> None:
        self.redis.terminate()
        self.redis.wait(10)

    def start_web(self) -> None:
        self.web = self._spawn("web", [sys.executable, "-m", "gunicorn", "vocloop:create_app()", "--workers", "2",
                                       "--threads", "4", "--bind", f"127.0.0.1:{self.web_port}", "--timeout", "60"])
        wait_for(lambda: _status(f"{self.web_url}/healthz") == 200, 60, "gunicorn start")

    def start_worker(self) -> subprocess.Popen:
        worker = self._spawn(f"worker{len(self.workers)}", [sys.executable, "-m", "flask", "--app", "vocloop",
                                                            "worker"])
        self.workers.append(worker)
        return worker

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9: no handler runs, nothing is cleaned up, as when a machine dies."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def start_clock(self) -> None:
        self.clock = self._spawn("clock", [sys.executable, "-m", "flask", "--app", "vocloop", "clock"])

    def stop(self) -> None:
        for process in [self.web, self.clock, *self.workers, self.redis]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        self.stub.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.workdir.glob("*.log")))


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local URL)
            return response.status
    except OSError:
        return None


def _fresh_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {parsed.path.lstrip('/')} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {parsed.path.lstrip('/')}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("faults"))
    _fresh_database(stack.database_url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "vocloop", "db", "upgrade"], cwd=ROOT, env=stack.env,
                   check=True, capture_output=True)
    stack.start_redis()
    stack.start_web()
    stack.start_worker()
    stack.start_clock()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def app(stack):
    """This process's view of the stack's database, for setting up and checking (jobs never run here)."""
    from vocloop import create_app
    from vocloop.extensions import db

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": stack.database_url, "REDIS_URL": None,
                      "JOBS_INLINE": True, "SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_HOST": stack.stub.url,
                      "VOCLOOP_BASE_URL": stack.web_url})
    with app.app_context():
        yield app
        db.session.remove()
