"""Per-item reply addresses (reply+<item>.<signature>@REPLY_DOMAIN): signed, so nobody can post a
"customer reply" into an item by guessing its id, and nothing needs storing."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app

_ADDRESS = re.compile(r"reply\+(\d{1,12})\.([0-9a-f]{16})@([a-z0-9.-]+)", re.IGNORECASE)


def _signature(item_id: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"reply-to-item:{item_id}".encode(), hashlib.sha256).hexdigest()[:16]


def reply_address(item_id: int) -> str | None:
    domain = current_app.config.get("REPLY_DOMAIN")
    return f"reply+{item_id}.{_signature(item_id)}@{domain}" if domain else None


def item_id_from(addresses: str) -> int | None:
    """The item of the first genuine reply address in a To/envelope string, or None."""
    domain = (current_app.config.get("REPLY_DOMAIN") or "").lower()
    for match in _ADDRESS.finditer(addresses or ""):
        item_id, signature, host = int(match.group(1)), match.group(2).lower(), match.group(3).lower()
        if host == domain and hmac.compare_digest(signature, _signature(item_id)):
            return item_id
    return None
