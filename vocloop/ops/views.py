"""Health, readiness and Prometheus metrics for load balancers and monitoring."""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Gauge, Histogram, generate_latest

from vocloop.ops.status import read_status

bp = Blueprint("ops", __name__)

REQUEST_SECONDS = Histogram("vocloop_http_request_duration_seconds", "HTTP request latency",
                            ["method", "endpoint", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Nothing else is checked, so a restart cannot be triggered
    by a database outage that a restart would not fix."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness: database and Redis reachable. A load balancer needs no more than ready or not;
    the details (errors that name hosts, queue depths, the outbox backlog) are for operators: a
    bearer METRICS_TOKEN, an admin's API token, or a signed-in admin."""
    status = read_status()
    body = {"status": "ready" if status.ready else "not ready"}
    if _operator():
        body.update({
            "database": "ok" if status.database_ok else f"error: {status.database_error}",
            "redis": ("ok" if status.redis_ok else f"error: {status.redis_error}") if status.redis_configured
            else "not configured (jobs run in-process)",
            "queue_depth": status.queue_depth, "failed_jobs": status.failed_jobs,
            "outbox_pending": status.outbox_pending, "oldest_pending_outbox_seconds": status.oldest_pending_seconds})
    return jsonify(body), 200 if status.ready else 503


def _operator() -> bool:
    """Whether the caller may see the operators' figures; never an error, the database may be down."""
    from flask_login import current_user
    from sqlalchemy.exc import SQLAlchemyError

    from vocloop.accounts.service import user_for_token
    from vocloop.extensions import db

    given = request.headers.get("Authorization", "")
    try:
        if given.startswith("Bearer "):
            token, metrics_token = given.removeprefix("Bearer ").strip(), current_app.config.get("METRICS_TOKEN")
            if metrics_token and hmac.compare_digest(token.encode(), metrics_token.encode()):
                return True
            user = user_for_token(token)
            return user is not None and user.role == "admin"
        return current_user.is_authenticated and current_user.role == "admin"
    except SQLAlchemyError:
        db.session.rollback()
        return False


@bp.get("/ops/metrics")
def prometheus_metrics():
    """Prometheus text format; off unless METRICS_ENABLED, and behind METRICS_TOKEN when set."""
    config = current_app.config
    if not config.get("METRICS_ENABLED"):
        abort(404)
    token = config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401)
    return Response(_request_metrics() + _current_figures(), mimetype=CONTENT_TYPE_LATEST)


def _request_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn with several workers
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _current_figures() -> bytes:
    status = read_status()
    registry = CollectorRegistry()
    figures = {
        "vocloop_up_database": ("1 when the database answers", int(status.database_ok)),
        "vocloop_outbox_pending": ("outbox rows not yet accepted by the provider", status.outbox_pending),
        "vocloop_outbox_oldest_pending_seconds": ("age of the oldest unsent outbox row", status.oldest_pending_seconds),
        "vocloop_outbox_failed": ("outbox rows the provider refused for good", status.outbox_failed),
        "vocloop_items_open": ("open feedback items", status.open_items),
        "vocloop_sla_breached_open_items": ("open items past their closing-message due time",
                                            status.sla_breached_open_items),
        "vocloop_responses_unprocessed": ("completed responses not yet classified and routed",
                                          status.unprocessed_responses),
    }
    for name, (description, value) in figures.items():
        Gauge(name, description, registry=registry).set(value)
    if status.redis_configured:
        depth = Gauge("vocloop_queue_depth", "jobs waiting, per queue", ["queue"], registry=registry)
        failed = Gauge("vocloop_failed_jobs", "failed jobs kept, per queue", ["queue"], registry=registry)
        for name, count in status.queue_depth.items():
            depth.labels(queue=name).set(count)
            failed.labels(queue=name).set(status.failed_jobs.get(name, 0))
    return generate_latest(registry)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.after_request
    def observe(response):
        started = g.get("request_started")
        if started is not None:
            REQUEST_SECONDS.labels(request.method, request.endpoint or "unmatched",
                                   str(response.status_code)).observe(time.perf_counter() - started)
        return response
