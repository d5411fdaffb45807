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
        if errors and not isinstance(errors, dict):  # a body that is not an object: its messages as a list
            errors = {"_schema": errors}  # the spec (and every client) reads `errors` as field -> messages
        return problem(status, error.name, error.description if not errors else "Validation failed.",
                       errors, headers)
    title, detail = _staff_words(error)
    return render_template("error.html", title=title, detail=detail, status=status), status, headers


STAFF_WORDS = {  # werkzeug's default wording ("read-protected", "10 per 1 minute") in the app's words
    401: ("Please sign in", "Sign in to open this page."),
    403: ("Not open to your role", "This page is for other roles (metrics, surveys and rules are for leads "
                                   "and admins). Ask an admin if you need it."),
    404: ("Nothing here", "There is nothing at this address, or it is not one you can see. "
                          "It may have been closed, moved or handed to another team."),
    405: ("That did not work", "This address does not take that kind of request."),
    413: ("Too large", "What you sent is larger than this page takes (a CSV import takes files up to 20 MB, "
                       "a form 1 MB): nothing was saved. Split a larger file in parts."),
    429: ("Too many attempts", "Too many tries from your address in a short time. Wait a minute, then try again."),
    500: ("Something went wrong on our side", "Nothing you did caused this. Try again in a moment; if it "
                                              "keeps happening, tell your admin."),
}


def _staff_words(error: HTTPException) -> tuple[str, str]:
    """A page's own explanation when it gave one, else the app's words for the status."""
    status = error.code or 500
    default = type(error).description
    own = error.description if error.description and error.description != default else None
    title, words = STAFF_WORDS.get(status, (error.name, default or ""))
    if status == 429:  # the limiter's description is its rule ("10 per 1 minute"): not for people
        own = None
    return title, own or words


def _handle_domain(error: DomainError):
    if for_customer():
        from vocloop.responses import problems
        return problems.for_error(error)
    if wants_json():
        return problem(error.status, _TITLES.get(error.status, "Error"), error.detail)
    title = STAFF_WORDS.get(error.status, (_TITLES.get(error.status, "Error"),))[0]
    return render_template("error.html", title=title, detail=error.detail, status=error.status), error.status


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
