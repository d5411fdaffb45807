"""Bearer tokens for the API: the token's user, with that user's permissions, within the token's scope."""

from __future__ import annotations

from flask import abort, current_app, g, request

from vocloop.accounts.models import User
from vocloop.accounts.service import token_for

READ_METHODS = ("GET", "HEAD", "OPTIONS")


_TOKEN_KEY = "vocloop.api_token"


def _presented_token():
    """The live token record the request presents (None: no token, or one that is not a live token),
    looked up once per request: the rate limit's key needs it before the token check runs."""
    environ = request.environ  # the request's own (g belongs to the app context, which a test may share)
    if _TOKEN_KEY not in environ:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        environ[_TOKEN_KEY] = token_for(token.strip()) if scheme.lower() == "bearer" else None
    return environ[_TOKEN_KEY]


def authenticate_request() -> None:
    """before_request of every API blueprint: a valid token or 401; a read-only token only reads."""
    record = _presented_token()
    if record is None:
        abort(401, description="Send a valid API token as 'Authorization: Bearer <token>'.")
    if record.scope == "read" and request.method not in READ_METHODS:
        abort(403, description="This token has the read scope: it can only read.")
    g.api_user, g.api_scope = record.user, record.scope


def rate_limit_key() -> str:
    """Limits count per live token (by its id, never the token itself), else per address: a made-up
    'Bearer ...' counts against its address like no token at all (keyed by the header's hash, each
    made-up token had a fresh budget, and the per-address limit never applied)."""
    record = _presented_token()
    if record is not None:
        return f"api-token:{record.id}"
    return "api-addr:" + (request.remote_addr or "?")


def api_rate_limit() -> str:
    return current_app.config["RATELIMIT_API"]


def api_user() -> User:
    return g.api_user


def require_role(*roles: str) -> User:
    """The caller's role must be one of these; what only admins may do also needs the admin scope."""
    user = api_user()
    if user.role not in roles:
        abort(403, description=f"This needs the role {' or '.join(roles)}.")
    if set(roles) == {"admin"} and g.api_scope != "admin":
        abort(403, description="This needs a token with the admin scope.")
    return user
