"""Text no database column can hold: a NUL character (PostgreSQL refuses it in any text value, so it
would surface as a 500 deep in a flush). Refused at the door, for every form, query and JSON body; and
so is a JSON body nested past any real one (thousands of brackets in a few kB ran Python's decoder out of
stack: a 500 for anyone, before any token was checked)."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request

NUL = "\x00"


MAX_JSON_DEPTH = 32  # no body vocloop reads nests deeper than a few levels


class _TooDeep(Exception):
    pass


def _has_nul(value: Any) -> bool:
    """Whether any string in the value (keys too) holds a NUL; walked with a stack, not recursion, so a
    body nested thousands deep cannot exhaust Python's stack (it raises _TooDeep past MAX_JSON_DEPTH)."""
    pending = [(value, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                return True
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise _TooDeep
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return False


def refuse_nul_characters() -> None:
    if request.path.startswith("/webhooks/"):  # provider callbacks clean their own input
        return
    values = [*request.args.values(), *request.args.keys()]
    api = request.path.startswith("/api/")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            try:
                values.append(request.get_json(silent=True))
            except RecursionError:  # the decoder's own stack ran out: nested far past MAX_JSON_DEPTH
                _refuse_depth()
        else:
            values += [*request.form.values(), *request.form.keys()]
    try:
        nul = any(_has_nul(value) for value in values)
    except _TooDeep:
        _refuse_depth()
    if nul:
        abort(422 if api else 400, description="Text must not contain NUL (\\u0000) characters.")


def _refuse_depth() -> None:
    abort(400, description=f"The JSON body nests more than {MAX_JSON_DEPTH} levels deep; nothing was read.")


def accepts_up_to(limit: int):
    """Let one view take a body larger than the app's MAX_CONTENT_LENGTH (a CSV import of 20 MB). It must
    be known before anything reads the form: CSRF's check reads it first, and read under the app's 1 MB
    it answered 413 to the very files the page offers to import."""
    def mark(view):
        view.max_body = limit
        return view
    return mark


def init_body_limits(app: Flask) -> None:
    """Call before anything that reads a request's body is set up (CSRF): the view's own limit first."""
    @app.before_request
    def own_body_limit() -> None:
        limit = getattr(app.view_functions.get(request.endpoint), "max_body", None)
        if limit:
            request.max_content_length = limit


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
