"""Running vocloop: logs, request ids, health, readiness, metrics and configuration checks."""

from flask import Flask


def init_app(app: Flask) -> None:
    from vocloop.ops import logs, views

    logs.init_request_ids(app)
    views.init_app(app)
