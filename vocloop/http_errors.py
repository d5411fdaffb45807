"""One error path: RFC 9457 problem JSON under /api, a friendly page everywhere else."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from vocloop.errors import DomainError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/webhooks/")


CUSTOMER_PATHS = ("/s/", "/v/")


def for_customer() -> bool:
    """Pages customers open from emails get their own words and brand (vocloop.responses.problems)."""
    return request.blueprint in ("answers", "verify") or request.path.startswith(CUSTOMER_PATHS)


def problem(status: int, title: str, detail: str | None = None, errors: dict | None = None, headers=None):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _handle_http(error: HTTPException):
    status = error.code or 500
    headers = dict(error.get_headers())  # Retry-After of a 429, Allow of a 405: kept on either page
    headers.pop("Content-Type", None)
    if for_customer():
        from vocloop.responses import problems
        return problems.for_error(error)
    if wants_json():
        data = getattr(error, "data", None) or {}
        errors = data.get("messages")
        if isinstance(errors, dict) and len(errors) == 1 and "json" in errors:
            errors = errors["json"]
        return problem(status, error.name, error.description if not errors else "Validation failed.",
                       errors, headers)
    return render_template("error.html", title=error.name, detail=error.description), status, headers


def _handle_domain(error: DomainError):
    if for_customer():
        from vocloop.responses import problems
        return problems.for_error(error)
    if wants_json():
        return problem(error.status, _TITLES.get(error.status, "Error"), error.detail)
    return render_template("error.html", title=_TITLES.get(error.status, "Error"), detail=error.detail), \
        error.status


def _handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _handle_http(InternalServerError())


_TITLES = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 410: "Gone",
           422: "Unprocessable Content"}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(DomainError, _handle_domain)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, _handle_unexpected)
