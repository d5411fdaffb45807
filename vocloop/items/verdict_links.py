"""The signed links of "Did this resolve your concern?" (no database, no services: safe to use anywhere)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

MAX_AGE_SECONDS = 60 * 86400
ANSWERS = ("yes", "no")


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="vocloop-verify-closure")


def verdict_urls(item_id: int) -> dict[str, str]:
    token = serializer().dumps(item_id)
    base = current_app.config["VOCLOOP_BASE_URL"]
    return {answer: f"{base}/v/{token}?answer={answer}" for answer in ANSWERS}
