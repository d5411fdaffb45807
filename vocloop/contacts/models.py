"""Customers: the people surveyed (contacts) and the companies they belong to (accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db


class Account(db.Model):
    __tablename__ = "accounts"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Yearly revenue from the account; at or above HIGH_VALUE_ACCOUNT an unhappy answer is raised a priority.
    annual_value: Mapped[int | None]
    created_at: Mapped[created_at]

    owner = relationship("User")


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unsubscribed_at: Mapped[datetime | None]
    # Set by a hard bounce or a spam report: the address must never be mailed again.
    suppressed_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[created_at]

    account: Mapped[Account | None] = relationship()

    @property
    def can_be_emailed(self) -> bool:
        return self.unsubscribed_at is None and self.suppressed_reason is None
