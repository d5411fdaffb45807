"""gunicorn entry for benchmarks/answer_path.py: vocloop, with bare Flask endpoints mounted at /bare in
the same processes, so both are measured under the same server, workers and machine load.

/bare/ is the issue's reference: the least a Flask endpoint does. /bare/write and /bare/write-limited
add what no answer can skip, written as directly as the drivers allow (psycopg, redis-py, no ORM):
one durable row per request (an autocommit upsert), then also one rate-limit counter in Redis. They
show how much of the gap to /bare/ is the work itself rather than vocloop's code around it."""

import os
import secrets
import threading

import psycopg
from flask import Flask, request
from redis import Redis
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from vocloop import create_app

bare = Flask("bare")
_local = threading.local()
_redis = Redis.from_url(os.environ["REDIS_URL"])


def _connection() -> psycopg.Connection:
    if getattr(_local, "connection", None) is None:
        _local.connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _local.connection


@bare.route("/", methods=["GET", "POST"])
def bare_endpoint():
    """The least a Flask endpoint does: read the form if any, answer a small page."""
    return f"<!doctype html><title>ok</title><p>ok {len(request.form)}</p>"


@bare.route("/write", methods=["GET", "POST"])
def bare_write():
    _connection().execute("INSERT INTO bench_floor (token, score) VALUES (%s, %s) ON CONFLICT (token) "
                          "DO UPDATE SET score = EXCLUDED.score", (secrets.token_hex(12), len(request.form)))
    return f"<!doctype html><title>ok</title><p>ok {len(request.form)}</p>"


@bare.route("/write-limited", methods=["GET", "POST"])
def bare_write_limited():
    key = f"bench-floor:{request.remote_addr}"
    with _redis.pipeline(transaction=False) as pipeline:
        pipeline.incr(key).expire(key, 60).execute()
    return bare_write()


vocloop_app = create_app()
application = DispatcherMiddleware(vocloop_app, {"/bare": bare})
