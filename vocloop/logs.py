"""Structured logs: one JSON object per line, a request id on every line of a request and of the
jobs it caused, and secrets (keys, link tokens) redacted wherever they would appear."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
import uuid

from flask import Flask, g, request

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Secret parts of URLs: every route whose path carries a credential (a survey link's token, a verdict
# link's, a password-reset or invitation link's: each lets whoever reads it act as its holder) and the
# inbound-parse secret. tests/integration/test_probe_findings.py checks each route's tokens stay out.
# Applied to whole messages too ("GET /s/... 200", a link inside an error), so not anchored.
_SECRET_PATHS = [(re.compile(r"(/s/|/v/|/password/(?!forgot\b))[^/?\s]+"), r"\1[token]"),
                 (re.compile(r"(/webhooks/sendgrid/inbound/)[^/?\s]+"), r"\1[secret]")]
_MAY_HOLD_SECRETS = ("/s/", "/v/", "/password/", "/inbound/")
SECRET_SETTINGS = ("SECRET_KEY", "SENDGRID_API_KEY", "INBOUND_PARSE_SECRET", "METRICS_TOKEN")


def redact_path(path: str) -> str:
    if not any(marker in path for marker in _MAY_HOLD_SECRETS):  # most lines: no pattern can match
        return path
    for pattern, replacement in _SECRET_PATHS:
        path = pattern.sub(replacement, path)
    return path


class RedactingFilter(logging.Filter):
    """Replaces configured secret values and secret URL parts in every record's message."""

    def __init__(self, secret_values: list[str]):
        super().__init__()
        self.secret_values = [value for value in secret_values if value and len(value) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_path(message)
        for value in self.secret_values:
            redacted = redacted.replace(value, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, ()
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        for key in ("method", "path", "status", "duration_ms", "job", "job_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ServerBannerOnly(logging.Filter):
    """The development server's own lines that say where it listens, and its warnings and errors;
    not its access lines (they carry raw paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        message = str(record.msg)
        return "Running on" in message or "CTRL+C" in message


def configure_logging(app: Flask) -> None:
    """Root logging: JSON in production (LOG_FORMAT), readable text elsewhere; redaction always."""
    logging.Formatter.converter = time.gmtime
    # No line shows where in the source it was logged from, so the lookup of the caller's frame that
    # each record would make is skipped (the logging HOWTO's "Optimization": ~10 us a line).
    logging._srcfile = None
    handler = logging.StreamHandler()
    if app.config.get("LOG_FORMAT") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(_secret_values(app)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_vocloop", False)]:
        root.removeHandler(old)
    handler._vocloop = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Werkzeug's own access log prints raw paths (with link tokens): ours below redacts them. Its
    # start-up lines (" * Running on http://127.0.0.1:5000", "Press CTRL+C to quit") still show.
    server_log = logging.getLogger("werkzeug")
    server_log.setLevel(logging.INFO)
    for old in [f for f in server_log.filters if isinstance(f, ServerBannerOnly)]:
        server_log.removeFilter(old)
    server_log.addFilter(ServerBannerOnly())


def _secret_values(app: Flask) -> list[str]:
    from sqlalchemy.engine import make_url

    password = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).password
    return [app.config.get(name) or "" for name in SECRET_SETTINGS] + [password or ""] + list(
        app.config.get("SECRET_KEY_FALLBACKS") or ())


def init_request_ids(app: Flask) -> None:
    access = logging.getLogger("vocloop.access")

    @app.before_request
    def assign_request_id():
        # From the environ: a header lookup that misses (most requests) raises and catches a KeyError.
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        request_id_var.set(g.request_id)

    @app.after_request
    def log_request(response):
        request_id = g.get("request_id") or secrets.token_hex(8)
        response.headers["X-Request-ID"] = request_id
        duration = round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1)
        g.request_duration_ms = duration
        method, path, status = request.method, redact_path(request.path), response.status_code
        access.info("%s %s %s %.1fms", method, path, status, duration,
                    extra={"method": method, "path": path, "status": status, "duration_ms": duration})
        return response
