"""People who sign in (users), the teams they form, and their API tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import Base, created_at, intpk, utcnow
from vocloop.extensions import db

ROLES = ("owner", "lead", "admin")

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'lead', 'admin')", name="role"),
        CheckConstraint("notify_new_items IN ('immediate', 'digest', 'off')", name="notify_new_items"),
    )

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Out of office: until then, new items routed to this user go to their delegate.
    away_until: Mapped[datetime | None]
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # New items: "immediate" email each, a daily "digest", or "off" (P1 items are always immediate).
    notify_new_items: Mapped[str] = mapped_column(String(10), default="immediate")
    last_digest_at: Mapped[datetime | None]
    # Leads and admins: the weekly metrics email (vocloop.metrics.digest); they may turn it off.
    weekly_digest: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Raised by signing out: every session cookie issued before then stops opening (a copied cookie
    # included), on every device, since sessions live in signed cookies rather than on the server.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[created_at]

    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user cannot sign in
        return self.active

    def get_id(self) -> str:
        """Flask-Login's session id: the user id plus a fingerprint of the password hash and the
        session epoch, so that changing the password or signing out ends the sessions begun before.
        (Epoch 0 leaves the fingerprint as it was before epochs, so no one was signed out by them.)"""
        material = (self.password_hash or "") + (f"|{self.session_epoch}" if self.session_epoch else "")
        fingerprint = hashlib.sha256(material.encode()).hexdigest()[:12]
        return f"{self.id}.{fingerprint}"

    def is_away(self, now: datetime) -> bool:
        return self.away_until is not None and self.away_until > now

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Round-robin position: the member who got the last item routed to this team.
    last_assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]

    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id])
    members: Mapped[list[User]] = relationship(secondary=team_members, back_populates="teams",
                                               order_by="User.id")


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write', 'admin')", name="scope"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    # read: GET only; write: also changes; admin: also what needs the admin role. The user's own
    # permissions apply on top: a scope never gives more than its user has.
    scope: Mapped[str] = mapped_column(String(10), default="write")
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


class UserToken(db.Model):
    """A one-time link (password reset, invitation); only its SHA-256 is stored."""

    __tablename__ = "user_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('reset', 'invite')", name="purpose"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[created_at]

    user: Mapped[User] = relationship()
