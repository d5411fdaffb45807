"""Stored answers of API requests sent with an Idempotency-Key (see vocloop/api/idempotency.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete
from sqlalchemy.orm import Mapped, mapped_column

from vocloop.db import created_at, intpk
from vocloop.extensions import db

MAX_KEY_LENGTH = 200
KEEP_HOURS = 24


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    # None while the first request is being handled.
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]


def forget_old(now: datetime) -> int:
    """Drop keys older than KEEP_HOURS (the sweep calls this): a retry comes within minutes, not days."""
    result = db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.created_at < now - timedelta(hours=KEEP_HOURS)))
    db.session.commit()
    return result.rowcount or 0
