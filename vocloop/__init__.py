"""vocloop: close the voice-of-customer loop. create_app() builds the Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from vocloop.settings import ConfigError, load_settings, local_secret_key

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ConfigError", "create_app"]


class DatabaseId(IntegerConverter):
    """<int:...> in every route: a number too large for an INTEGER column is simply not found (404),
    instead of an overflow in the database driver."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app from config/, the environment and overrides (tests); nothing runs at import."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), instance_path=str(ROOT / "instance"))
    app.url_map.converters["int"] = DatabaseId
    from vocloop.security import SessionCookies

    app.session_interface = SessionCookies()
    settings = load_settings(overrides=overrides)
    app.config.update(settings)
    _derive_settings(app)
    from vocloop.logs import configure_logging

    configure_logging(app)

    from sqlalchemy.orm import configure_mappers

    from vocloop import models  # noqa: F401  (registers every table on the metadata)

    configure_mappers()  # once per process, at start: not in the first request of each worker (~0.2 s)
    from vocloop.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    _tune_engine(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    from vocloop import http_input, logs

    # First, before any check can refuse a request: its id (a refusal is logged and answered with it)
    # and the view's own body limit (CSRF's check reads the form).
    logs.init_request_ids(app)
    http_input.init_body_limits(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from vocloop import api, cli, http_errors, http_input, http_origin, i18n, ops, web
    from vocloop.jobs import tasks

    i18n.init_app(app)
    ops.init_app(app)
    http_errors.init_app(app)
    http_input.init_app(app)
    http_origin.init_app(app)
    web.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    tasks.init_app(app)  # the relay after every request
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _tune_engine(app: Flask) -> None:
    """PostgreSQL: pooled connections checked for life as they are taken (vocloop.db_liveness).
    SQLite as a real database: enforce foreign keys like PostgreSQL, and WAL so that readers
    never block the writer (web requests and the in-process scheduler share the file)."""
    from sqlalchemy import event

    from vocloop import db_liveness
    from vocloop.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        db_liveness.check_on_checkout(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


def _derive_settings(app: Flask) -> None:
    config = app.config
    if not config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'vocloop.db'}"
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if config["DATABASE_URL"].startswith("sqlite"):
        # SQLite: wait for a writer instead of failing at once; the worker and web share the file.
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 15}})
    else:
        # Dead connections are found on checkout without a round trip (vocloop.db_liveness), not by pre-ping.
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_recycle": 1800})
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = local_secret_key(Path(app.instance_path))
    config["JOBS_INLINE"] = not config.get("REDIS_URL")
    # The limits library names a Redis socket redis+unix://; REDIS_URL may say unix:// (as redis-py does).
    redis_url = config.get("REDIS_URL") or ""
    config.setdefault("RATELIMIT_STORAGE_URI", ("redis+" + redis_url if redis_url.startswith("unix://")
                                                else redis_url) or "memory://")
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis down must not stop customers from answering: count in memory until it is back.
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["MAX_CONTENT_LENGTH"] = 1024 * 1024
