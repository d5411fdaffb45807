"""Customers: the people surveyed (contacts) and the companies they belong to (accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import Base, created_at, intpk
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


def greeting_name(first_name: str | None, name: str | None) -> str:
    """What to call someone: the first name given, else the whole name ("" if neither: a neutral greeting)."""
    return (first_name or "").strip() or (name or "").strip()


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # How emails greet them ("Hi Liam,"); None: by the whole name (a first name is never guessed from
    # it: "Tanaka Aiko" and "Nguyen Van An" put the family name first).
    first_name: Mapped[str | None] = mapped_column(String(100))
    # The catalog their emails and pages use; None: the survey's language.
    language: Mapped[str | None] = mapped_column(String(10))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unsubscribed_at: Mapped[datetime | None]
    # Set by a hard bounce or a spam report: the address must never be mailed again.
    suppressed_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[created_at]

    account: Mapped[Account | None] = relationship()

    @property
    def greeting_name(self) -> str:
        return greeting_name(self.first_name, self.name)

    @property
    def can_be_emailed(self) -> bool:
        return self.unsubscribed_at is None and self.suppressed_reason is None


list_members = Table(
    "contact_list_members",
    Base.metadata,
    Column("list_id", ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ContactList(db.Model):
    """A named audience ("Q3 renewals"): filled by CSV imports or the API, chosen when sending."""

    __tablename__ = "contact_lists"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[created_at]


class ContactImport(db.Model):
    """A CSV of contacts being imported: small files at once, large ones by a job in batches that
    resumes where it stopped. Every rejected row is kept with its line number and reason."""

    __tablename__ = "contact_imports"

    id: Mapped[intpk]
    filename: Mapped[str] = mapped_column(String(255), default="")
    # queued -> running -> done | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    list_id: Mapped[int | None] = mapped_column(ForeignKey("contact_lists.id", ondelete="SET NULL"))
    # The file itself until the import is done (the database is what every process shares).
    content: Mapped[str | None] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    rejections: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"line": 7, "email": ..., "error": ...}]
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    leased_until: Mapped[datetime | None]
    created_at: Mapped[created_at]
    finished_at: Mapped[datetime | None]

    contact_list: Mapped[ContactList | None] = relationship()
