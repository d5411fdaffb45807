"""Running vocloop: request ids (vocloop/logs.py, beside settings), health, readiness, metrics and
configuration checks."""

from flask import Flask


def init_app(app: Flask) -> None:
    from vocloop import logs
    from vocloop.ops import views

    logs.init_request_ids(app)
    views.init_app(app)
