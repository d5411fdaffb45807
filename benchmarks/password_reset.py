"""Password-reset timing: does the "forgot password" form answer as fast for an address without
an account as for one with? (It must not: the difference tells who has an account.)

Times POST /password/forgot through the Flask test client (server time), alternating an address
that has an account with one that has none, on PostgreSQL with jobs sent to Redis (no worker: the
web side's work only, as in production).

    python benchmarks/password_reset.py [--database-url URL] [--redis-url URL] [--repeat 200]

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import reset_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "VOCLOOP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vocloop_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("VOCLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    reset_database(args.database_url)
    from flask_migrate import upgrade

    from vocloop import create_app
    from vocloop.accounts import service as accounts
    from vocloop.extensions import db

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        accounts.create_user("known@bench.example", role="owner", password="bench password 1")
        db.session.remove()
    client = app.test_client()
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(args.repeat + 10):
        for kind in (("known", "unknown") if n % 2 else ("unknown", "known")):
            started = time.perf_counter()
            response = client.post("/password/forgot", data={"email": f"{kind}@bench.example"})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 303, response.status_code
            if n >= 10:  # the first requests warm caches up
                times[kind].append(elapsed)
    figures = {f"{kind}_median_ms": round(statistics.median(values), 1) for kind, values in times.items()}
    figures.update({f"{kind}_p90_ms": round(sorted(values)[int(len(values) * 0.9)], 1)
                    for kind, values in times.items()})
    print(f"known address:   median {figures['known_median_ms']} ms, p90 {figures['known_p90_ms']} ms")
    print(f"unknown address: median {figures['unknown_median_ms']} ms, p90 {figures['unknown_p90_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
