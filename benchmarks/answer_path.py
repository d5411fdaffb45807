"""Answer path under load: the one-click answer (GET /s/<token>?score=N) and the comment POST, served
by gunicorn (2 workers) on PostgreSQL and Redis (rate limits on, their counters in Redis), beside a
bare Flask endpoint in the same gunicorn processes, driven from this process over loopback.

    python benchmarks/answer_path.py [--seconds 10] [--concurrency 8] [--rate 100]

Two measures per endpoint: the most it serves (closed loop, `concurrency` keep-alive connections)
and latency at a steady `rate` requests per second (open loop: requests start on schedule whether
or not earlier ones finished, so slowness shows in the percentiles instead of hiding). The load
generator shares the machine's two cores with gunicorn, so absolute figures are modest; the ratio
to bare Flask under the same conditions is the figure to watch. Goals: answer >= 0.5 of bare Flask,
p99 < 50 ms at 100 req/s. Two references beside bare Flask (answer_path_wsgi.py): bare Flask plus one
durable upsert in PostgreSQL, and plus one rate-limit counter in Redis as well, the work an answer
cannot skip; the ratio of the answer path to the latter is what vocloop's own code costs. For the
closed-loop runs it also prints the CPU time per request spent by each side of the machine
(gunicorn, PostgreSQL, Redis, this load generator), which shows what a ratio can reach at all when
all of them share two cores. The click and its reference are measured in --rounds pairs, one right
after the other (this machine's pace drifts by a fifth within a minute, more than the difference being
measured); the ratio is the median of the pairs' ratios, each pair's printed beside it. The last line
printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("VOCLOOP_BENCH_ANSWERS_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/vocloop_bench_answers")
REDIS_URL = os.environ.get("VOCLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


WARM_UP = 200  # requests of each kind before the measured runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset(database_url: str, redis_url: str) -> None:
    import psycopg
    from redis import Redis

    parsed = urlparse(database_url)
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {parsed.path.lstrip('/')} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {parsed.path.lstrip('/')}")
    with psycopg.connect(database_url, autocommit=True) as connection:  # for the /bare/write references
        connection.execute("CREATE TABLE bench_floor (token text PRIMARY KEY, score int NOT NULL)")
    Redis.from_url(redis_url).flushdb()


def seed(env: dict, invitations: int) -> list[str]:
    """A survey and invitations whose tokens we know (the real ones exist only in the emails)."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "vocloop", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    from vocloop import create_app
    from vocloop.accounts import service as accounts
    from vocloop.contacts.models import Contact
    from vocloop.db import utcnow
    from vocloop.extensions import db
    from vocloop.security import new_secret_token
    from vocloop.surveys import service as surveys
    from vocloop.surveys.models import Invitation

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": env["DATABASE_URL"], "REDIS_URL": None})
    with app.app_context():
        accounts.create_user("admin@bench.example", role="admin")
        survey = surveys.create_survey(name="Bench NPS", kind="nps", company="Acme",
                                       followups={"neutral": "What would make it a 10?"})
        db.session.execute(Contact.__table__.insert(), [
            {"email": f"c{i}@bench.example", "name": f"Customer {i}", "attributes": {}, "created_at": utcnow()}
            for i in range(invitations)])
        ids = list(db.session.execute(db.select(Contact.id).order_by(Contact.id)).scalars())
        tokens = [new_secret_token() for _ in ids]
        expires = utcnow().replace(year=utcnow().year + 1)
        db.session.execute(Invitation.__table__.insert(), [
            {"survey_id": survey.id, "contact_id": contact_id, "token_hash": token_hash, "status": "delivered",
             "expires_at": expires, "created_at": utcnow()}
            for contact_id, (_, token_hash) in zip(ids, tokens, strict=True)])
        db.session.commit()
    return [token for token, _ in tokens]


def start_gunicorn(env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "benchmarks.answer_path_wsgi:application", "--workers", "2",
         "--threads", "4", "--bind", f"127.0.0.1:{port}", "--keep-alive", "5", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bare/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


class Request:
    """One request to make: method, path, body and headers (cookies of that customer's session)."""

    def __init__(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                 expect: int = 200):
        self.method, self.path, self.body, self.headers, self.expect = method, path, body, headers or {}, expect


def send(connection: http.client.HTTPConnection, request: Request) -> float:
    started = time.perf_counter()
    connection.request(request.method, request.path, request.body, request.headers)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != request.expect:
        raise RuntimeError(f"{request.method} {request.path}: {response.status}")
    return elapsed


class CpuMeter:
    """CPU time each side of the machine spends per request (from /proc, Linux): the gunicorn
    processes, PostgreSQL's, Redis's and this load generator. Shows where a request's cost goes
    when everything shares two cores, and how much of it vocloop's own code could ever win back."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _groups(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {"gunicorn": [], "postgres": [], "redis": [], "load": [os.getpid()]}
        for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else []:
            if not entry.name.isdigit():
                continue
            try:
                name, rest = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            command, group = name.split("(", 1)[1], int(rest.split()[2])
            if group == self.server_pid:
                groups["gunicorn"].append(int(entry.name))
            elif command == "postgres":
                groups["postgres"].append(int(entry.name))
            elif command.startswith("redis-server"):
                groups["redis"].append(int(entry.name))
        return groups

    def snapshot(self) -> dict[str, float]:
        seconds = {}
        for side, pids in self._groups().items():
            total = 0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += int(fields[11]) + int(fields[12])  # utime + stime (its children not counted)
            seconds[side] = total / self.ticks
        return seconds

    @staticmethod
    def per_request(before: dict, after: dict, requests: int) -> dict[str, int]:
        per = {side: round(1e6 * (after[side] - before.get(side, 0)) / max(requests, 1)) for side in after}
        per["total"] = sum(per.values())
        return per


def closed_loop(port: int, requests: list[Request], seconds: float, concurrency: int,
                meter: CpuMeter | None = None) -> dict:
    """As fast as `concurrency` connections go, each taking the next request."""
    latencies: list[float] = []
    position = iter(range(len(requests)))
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop_at:
            with lock:
                index = next(position, None)
            if index is None:
                return
            latencies.append(send(connection, requests[index]))

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    before = meter.snapshot() if meter else None
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = summary(latencies, time.perf_counter() - started)
    if meter:
        result["cpu_us_per_request"] = CpuMeter.per_request(before, meter.snapshot(), len(latencies))
    return result


def open_loop(port: int, requests: list[Request], seconds: float, rate: float) -> dict:
    """Requests start on a fixed schedule (rate per second) whatever earlier ones are doing; each
    latency counts from its scheduled start, so a backlog shows up in the percentiles."""
    total = int(seconds * rate)
    latencies: list[float] = []
    lock = threading.Lock()
    schedule = time.perf_counter() + 0.2
    pool: list[http.client.HTTPConnection] = [http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                                              for _ in range(32)]

    def one(index: int, due: float) -> None:
        with lock:
            connection = pool.pop() if pool else http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        send(connection, requests[index])
        with lock:
            latencies.append(time.perf_counter() - due)
            pool.append(connection)

    threads = []
    for index in range(min(total, len(requests))):
        due = schedule + index / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        thread = threading.Thread(target=one, args=(index, due))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return summary(latencies, seconds)


def summary(latencies: list[float], elapsed: float) -> dict:
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2) if ordered else 0.0

    return {"requests": len(ordered), "req_per_s": round(len(ordered) / elapsed, 1), "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99)}


def click_requests(tokens: list[str]) -> list[Request]:
    return [Request("GET", f"/s/{token}?score={index % 11}") for index, token in enumerate(tokens)]


def comment_requests(port: int, tokens: list[str]) -> list[Request]:
    """Each customer first opens the page (not timed: that is the click above), then sends the form."""
    prepared = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for index, token in enumerate(tokens):
        connection.request("GET", f"/s/{token}?score={index % 11}")
        response = connection.getresponse()
        response.read()
        assert response.status == 200 and not response.msg.get_all("Set-Cookie"), "the answer page sets no cookie"
        body = urlencode({"score": index % 11, "comment": "Setup was slow but support helped.",
                          "followup": ""}).encode()
        prepared.append(Request("POST", f"/s/{token}", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1"}, expect=303))
    return prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="pairs of click and reference runs")
    parser.add_argument("--database-url", default=DATABASE_URL, help="PostgreSQL (dropped and created here)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis database this run may empty")
    args = parser.parse_args()

    reset(args.database_url, args.redis_url)
    env = {**os.environ, "VOCLOOP_ENV": "development", "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
           "SECRET_KEY": "b" * 40, "VOCLOOP_BASE_URL": "http://127.0.0.1", "RATELIMIT_ENABLED": "true",
           "RATELIMIT_PUBLIC": "10000000 per minute", "LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)}
    # Enough customers that no token is clicked twice in the closed-loop runs at this machine's pace.
    per_run = int(max(args.rate * args.seconds, 800 * args.seconds)) + 100
    tokens = seed(env, per_run * (3 + args.rounds) + 2 * WARM_UP)
    port = free_port()
    server = start_gunicorn(env, port)
    meter = CpuMeter(server.pid)
    try:
        bare = [Request("GET", "/bare/")] * per_run
        bare_post = [Request("POST", "/bare/", b"comment=Setup+was+slow", {
            "Content-Type": "application/x-www-form-urlencoded"})] * per_run
        # Steady state, as a server that has been up a while: each process has its pools open, its mappers
        # configured and the answer path's statements compiled (else the first seconds of the click run
        # pay for what every process does once). The warm-up customers are not clicked again.
        closed_loop(port, bare[:WARM_UP], 2, args.concurrency)
        closed_loop(port, [Request("GET", "/bare/write-limited")] * WARM_UP, 2, args.concurrency)
        closed_loop(port, click_requests(tokens[-2 * WARM_UP:-WARM_UP]), 3, args.concurrency)
        closed_loop(port, comment_requests(port, tokens[-WARM_UP:]), 3, args.concurrency)
        limited = [Request("GET", "/bare/write-limited")] * per_run
        runs = {"bare_get": closed_loop(port, bare, args.seconds, args.concurrency, meter)}
        pairs = []
        for round_ in range(args.rounds):  # each click run beside its reference, in the same minute
            clicks = click_requests(tokens[(3 + round_) * per_run:(4 + round_) * per_run])
            pairs.append((closed_loop(port, clicks, args.seconds, args.concurrency, meter),
                          closed_loop(port, limited, args.seconds, args.concurrency, meter)))
        runs |= {
            "bare_post": closed_loop(port, bare_post, args.seconds, args.concurrency, meter),
            "comment": closed_loop(port, comment_requests(port, tokens[per_run:2 * per_run]), args.seconds,
                                   args.concurrency, meter),
            "click_at_rate": open_loop(port, click_requests(tokens[:per_run]), args.seconds, args.rate),
            "comment_at_rate": open_loop(port, comment_requests(port, tokens[2 * per_run:3 * per_run]),
                                         args.seconds, args.rate),
            "bare_at_rate": open_loop(port, bare, args.seconds, args.rate),
            "write": closed_loop(port, [Request("GET", "/bare/write")] * per_run, args.seconds, args.concurrency),
            "write_limited_post": closed_loop(port, [Request("POST", "/bare/write-limited", bare_post[0].body,
                                                             bare_post[0].headers)] * per_run, args.seconds,
                                              args.concurrency),
            # Bare Flask again at the end: its pace varies by a third from run to run on this shared
            # machine, so each ratio divides by the mean of a run before and a run after.
            "bare_get_after": closed_loop(port, bare, args.seconds, args.concurrency),
            "bare_post_after": closed_loop(port, bare_post, args.seconds, args.concurrency),
        }
    finally:
        os.killpg(server.pid, 15)
        server.wait(15)
    # The pair whose ratio is the median stands for the click and its reference in every figure below.
    pair_ratios = [click["req_per_s"] / reference["req_per_s"] for click, reference in pairs]
    runs["click"], runs["write_limited"] = pairs[pair_ratios.index(statistics.median_low(pair_ratios))]
    bare_get_mean = (runs["bare_get"]["req_per_s"] + runs["bare_get_after"]["req_per_s"]) / 2
    bare_post_mean = (runs["bare_post"]["req_per_s"] + runs["bare_post_after"]["req_per_s"]) / 2
    figures = {
        "click_req_per_s": runs["click"]["req_per_s"], "comment_req_per_s": runs["comment"]["req_per_s"],
        "bare_get_req_per_s": round(bare_get_mean, 1), "bare_post_req_per_s": round(bare_post_mean, 1),
        "bare_get_runs": [runs["bare_get"]["req_per_s"], runs["bare_get_after"]["req_per_s"]],
        "click_ratio_to_bare": round(runs["click"]["req_per_s"] / bare_get_mean, 3),
        "comment_ratio_to_bare": round(runs["comment"]["req_per_s"] / bare_post_mean, 3),
        # References: bare Flask plus the work no answer can skip (see answer_path_wsgi.py).
        "write_req_per_s": runs["write"]["req_per_s"], "write_limited_req_per_s": runs["write_limited"]["req_per_s"],
        "write_ratio_to_bare": round(runs["write"]["req_per_s"] / bare_get_mean, 3),
        "write_limited_ratio_to_bare": round(runs["write_limited"]["req_per_s"] / bare_get_mean, 3),
        "click_ratio_to_write_limited": round(runs["click"]["req_per_s"] / runs["write_limited"]["req_per_s"], 3),
        "click_ratio_to_write_limited_rounds": [round(ratio, 3) for ratio in pair_ratios],
        "click_req_per_s_rounds": [click["req_per_s"] for click, _ in pairs],
        "write_limited_req_per_s_rounds": [reference["req_per_s"] for _, reference in pairs],
        "comment_ratio_to_write_limited": round(runs["comment"]["req_per_s"]
                                                / runs["write_limited_post"]["req_per_s"], 3),
        "click_p50_ms": runs["click"]["p50_ms"], "click_p99_ms": runs["click"]["p99_ms"],
        "comment_p50_ms": runs["comment"]["p50_ms"], "comment_p99_ms": runs["comment"]["p99_ms"],
        f"click_p99_ms_at_{int(args.rate)}_per_s": runs["click_at_rate"]["p99_ms"],
        f"click_p50_ms_at_{int(args.rate)}_per_s": runs["click_at_rate"]["p50_ms"],
        f"comment_p99_ms_at_{int(args.rate)}_per_s": runs["comment_at_rate"]["p99_ms"],
        f"comment_p50_ms_at_{int(args.rate)}_per_s": runs["comment_at_rate"]["p50_ms"],
        f"bare_p99_ms_at_{int(args.rate)}_per_s": runs["bare_at_rate"]["p99_ms"],
        # CPU microseconds per request on each side of the machine (gunicorn, postgres, redis, load).
        "bare_get_cpu_us": runs["bare_get"]["cpu_us_per_request"],
        "write_limited_cpu_us": runs["write_limited"]["cpu_us_per_request"],
        "click_cpu_us": runs["click"]["cpu_us_per_request"],
        "comment_cpu_us": runs["comment"]["cpu_us_per_request"],
        "bare_post_cpu_us": runs["bare_post"]["cpu_us_per_request"],
        "concurrency": args.concurrency, "seconds": args.seconds,
    }
    for key, value in figures.items():
        print(f"{key:34} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
