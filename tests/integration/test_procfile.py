"""The Procfile as a platform runs it (honcho): web, worker and clock, in production mode."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, TEST_REDIS_URL

pytestmark = pytest.mark.skipif(not TEST_REDIS_URL, reason="the Procfile is the PostgreSQL + Redis set-up")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


METRICS_TOKEN = "procfile-metrics-token-" + "m" * 16


def get(url):
    """GET as an operator (the bearer METRICS_TOKEN shows /readyz's details)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return None, None


def test_web_worker_and_clock_start_from_the_procfile_in_production_mode(settings, schema, sendgrid, tmp_path):
    from redis import Redis
    from rq import Worker

    port = free_port()
    env = {**os.environ, **{key: str(value) for key, value in settings.items()},
           "VOCLOOP_ENV": "production", "SECRET_KEY": "production-secret-" + "x" * 32,
           "VOCLOOP_BASE_URL": "https://feedback.example.com", "PORT": str(port), "WEB_CONCURRENCY": "2",
           "TRUSTED_PROXIES": "1", "METRICS_TOKEN": METRICS_TOKEN,
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    release = subprocess.run(["flask", "--app", "vocloop", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert release.returncode == 0, release.stderr
    log_path = tmp_path / "honcho.log"
    workers_before = len(Worker.all(connection=Redis.from_url(TEST_REDIS_URL)))
    with open(log_path, "w") as log:
        honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-f", "Procfile", "web", "worker",
                                   "clock"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 45
        status = body = None
        while time.monotonic() < deadline and status != 200:
            time.sleep(0.5)
            status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, log_path.read_text()[-3000:]
        assert body["database"] == "ok" and body["redis"] == "ok"
        while time.monotonic() < deadline and len(Worker.all(connection=Redis.from_url(TEST_REDIS_URL))) <= \
                workers_before:
            time.sleep(0.5)
        assert len(Worker.all(connection=Redis.from_url(TEST_REDIS_URL))) > workers_before
        output = log_path.read_text()
        assert "CronScheduler" in output or "clock" in output
        access = [json.loads(line.split("| ", 1)[1]) for line in output.splitlines()
                  if "| {" in line and '"vocloop.access"' in line]
        assert any(entry["path"] == "/readyz" and entry.get("request_id") for entry in access), output[-2000:]
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        honcho.wait(timeout=30)
