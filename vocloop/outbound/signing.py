"""Webhook signatures, as Stripe does them: HMAC-SHA256 over "<timestamp>.<body>", sent as
`Vocloop-Signature: t=<unix seconds>,v1=<hex>`. The timestamp is signed too, so a captured delivery
cannot be replayed later; receivers refuse signatures older than a few minutes."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Vocloop-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
           now: float | None = None) -> bool:
    """What a receiver does: the header parses, the timestamp is recent, one v1 signature matches
    (several v1 entries are allowed, for a secret being rotated)."""
    parts = [part.partition("=") for part in header.split(",")]
    timestamps = [value for key, _, value in parts if key.strip() == "t"]
    signatures = [value.strip() for key, _, value in parts if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, signature) for signature in signatures)
