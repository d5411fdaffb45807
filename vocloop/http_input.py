"""Text no database column can hold: a NUL character (PostgreSQL refuses it in any text value, so it
would surface as a 500 deep in a flush). Refused at the door, for every form, query and JSON body."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request

NUL = "\x00"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def refuse_nul_characters() -> None:
    if request.path.startswith("/webhooks/"):  # provider callbacks clean their own input
        return
    values = [*request.args.values(), *request.args.keys()]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            values.append(request.get_json(silent=True))
        else:
            values += [*request.form.values(), *request.form.keys()]
    if any(_has_nul(value) for value in values):
        abort(422 if request.path.startswith("/api/") else 400,
              description="Text must not contain NUL (\\u0000) characters.")


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
