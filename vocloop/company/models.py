"""The company behind every customer email and page: one row, set by admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vocloop.db import utcnow
from vocloop.extensions import db

DEFAULT_BRAND_COLOR = "#1f4e79"


class CompanyProfile(db.Model):
    """Who customers hear from: name, logo and colour on every email and page; the default sender;
    the postal address and privacy policy that CAN-SPAM and GDPR-minded senders put in the footer.
    There is one company per installation, so one row (id 1)."""

    __tablename__ = "company_profile"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    company_name: Mapped[str] = mapped_column(String(120), default="")
    logo_url: Mapped[str | None] = mapped_column(String(500))
    brand_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_BRAND_COLOR)
    sender_name: Mapped[str | None] = mapped_column(String(120))
    sender_email: Mapped[str | None] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    postal_address: Mapped[str] = mapped_column(Text, default="")
    privacy_url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
