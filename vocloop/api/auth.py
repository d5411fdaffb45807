"""Bearer tokens for the API: the token's user, with that user's permissions, within the token's scope."""

from __future__ import annotations

import hashlib

from flask import abort, current_app, g, request

from vocloop.accounts.models import User
from vocloop.accounts.service import token_for

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def authenticate_request() -> None:
    """before_request of every API blueprint: a valid token or 401; a read-only token only reads."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    record = token_for(token.strip()) if scheme.lower() == "bearer" else None
    if record is None:
        abort(401, description="Send a valid API token as 'Authorization: Bearer <token>'.")
    if record.scope == "read" and request.method not in READ_METHODS:
        abort(403, description="This token has the read scope: it can only read.")
    g.api_user, g.api_scope = record.user, record.scope


def rate_limit_key() -> str:
    """Limits count per token (its fingerprint, never the token itself), else per address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api:" + hashlib.sha256(header.encode()).hexdigest()[:32]
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
