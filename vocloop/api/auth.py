"""Bearer tokens for the API: the token's user, with that user's permissions."""

from __future__ import annotations

from flask import abort, g, request

from vocloop.accounts.models import User
from vocloop.accounts.service import user_for_token


def authenticate_request() -> None:
    """before_request of every API blueprint: a valid token or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401, description="Send a valid API token as 'Authorization: Bearer <token>'.")
    g.api_user = user


def api_user() -> User:
    return g.api_user


def require_role(*roles: str) -> User:
    user = api_user()
    if user.role not in roles:
        abort(403, description=f"This needs the role {' or '.join(roles)}.")
    return user
