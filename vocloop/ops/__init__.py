"""Running vocloop: health, readiness, metrics and configuration checks (request ids, vocloop/logs.py,
are set up first of all in create_app)."""

from flask import Flask


def init_app(app: Flask) -> None:
    from vocloop.ops import views

    views.init_app(app)
