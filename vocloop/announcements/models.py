"""The outer loop: one message to everyone who raised a topic ("we fixed it"), and who it reached."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vocloop.db import created_at, intpk
from vocloop.extensions import db

# draft (being written; its audience follows the filters) -> sending (recipients fixed, emails being
# queued) -> sent (every recipient queued or skipped).
ANNOUNCEMENT_STATUSES = ("draft", "sending", "sent")
# to_send (waiting for the job) -> queued (its email is in the outbox); skipped: never emailed, with why.
RECIPIENT_STATUSES = ("to_send", "queued", "skipped")


class Announcement(db.Model):
    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'sending', 'sent')", name="status"),
    )

    id: Mapped[intpk]
    # Who raised it: items with this topic, created in [created_from, created_to] (whole days, UTC),
    # optionally of one team and one survey, optionally only those still open.
    topic: Mapped[str] = mapped_column(String(60))
    created_from: Mapped[date | None]
    created_to: Mapped[date | None]
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    only_open: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The same message in other languages, {"de": {"subject": ..., "body": ...}}: each customer reads
    # theirs, else the one above.
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # An explicit choice: the recipients' open items of the topic are closed by this message (and count
    # as loop-closed once the provider accepts it, as with any closing message).
    close_open_items: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    created_by = relationship("User", foreign_keys=[created_by_id])
    sent_by = relationship("User", foreign_keys=[sent_by_id])
    team = relationship("Team")
    survey = relationship("Survey")


class AnnouncementRecipient(db.Model):
    """One person an announcement was for: once per person (the unique key), with the items that made
    them part of it, the items it closes, and why they were skipped where they were."""

    __tablename__ = "announcement_recipients"
    __table_args__ = (
        UniqueConstraint("announcement_id", "contact_id"),
        CheckConstraint("status IN ('to_send', 'queued', 'skipped')", name="status"),
        Index("ix_announcement_recipients_to_send", "announcement_id", "status"),
    )

    id: Mapped[intpk]
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="to_send")
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10), default="en")
    item_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    closes_item_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), unique=True)
    # The hash of the email's own unsubscribe link (vocloop.responses.unsubscribe), as an invitation keeps
    # its survey link's; None until the email is queued.
    unsubscribe_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    announcement: Mapped[Announcement] = relationship()
    contact = relationship("Contact")
    message = relationship("Message")
