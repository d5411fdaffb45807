"""The company profile, and what it decides for every customer email and page: who it is from,
where replies go, and the brand (a survey may use its own sender, colour and logo)."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from flask import current_app

from vocloop.accounts.service import normalize_email
from vocloop.company.brand import checked_color, checked_url
from vocloop.company.models import DEFAULT_BRAND_COLOR, CompanyProfile
from vocloop.errors import Invalid
from vocloop.extensions import db

PROFILE_FIELDS = ("company_name", "logo_url", "brand_color", "sender_name", "sender_email", "reply_to",
                  "postal_address", "privacy_url")
LIMITS = {"company_name": 120, "sender_name": 120, "postal_address": 500}
# Customer pages read the profile on every click: each process keeps it this long (a change made in
# another process shows within this time; one made in this process at once).
CACHE_SECONDS = 30
_CACHE = "vocloop.company_profile"


@dataclass(frozen=True)
class Profile:
    """A snapshot of the profile (not bound to a session: safe to keep between requests)."""

    company_name: str = ""
    logo_url: str | None = None
    brand_color: str = DEFAULT_BRAND_COLOR
    sender_name: str | None = None
    sender_email: str | None = None
    reply_to: str | None = None
    postal_address: str = ""
    privacy_url: str | None = None

    @classmethod
    def of(cls, row: CompanyProfile | None) -> Profile:
        if row is None:
            return cls()
        return cls(**{field.name: getattr(row, field.name) for field in fields(cls)})

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.postal_address.splitlines() if line.strip()]


def profile() -> Profile:
    """The profile as stored now (defaults until an admin sets it)."""
    return Profile.of(db.session.get(CompanyProfile, 1))


def cached_profile() -> Profile:
    """The profile for customer pages, kept CACHE_SECONDS per process: no query on a send's clicks."""
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    fresh = profile()
    current_app.extensions[_CACHE] = (fresh, time.monotonic() + CACHE_SECONDS)
    return fresh


def checked_profile(values: dict[str, Any]) -> dict[str, Any]:
    """Every profile value is checked here, for the API and the admin page alike."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{name} must be text.")
        value = (value or "").strip()
        if name in LIMITS and len(value) > LIMITS[name]:
            raise Invalid(f"{name} has at most {LIMITS[name]} characters.")
        if name in ("company_name", "sender_name") and any(ord(c) < 32 for c in value):
            raise Invalid(f"{name} must be on one line.")
        if name == "brand_color":
            value = checked_color(value or DEFAULT_BRAND_COLOR)
        elif name == "logo_url":
            value = checked_url(value, "The logo (logo_url)")
        elif name == "privacy_url":
            value = checked_url(value, "The privacy policy (privacy_url)", ("https", "http"))
        elif name in ("sender_email", "reply_to"):
            value = normalize_email(value) if value else None
        elif name == "sender_name":
            value = value or None
        checked[name] = value
    return checked


def save_profile(**values: Any) -> Profile:
    """Change some of the profile's values (the others stay); emails already queued keep theirs."""
    checked = checked_profile(values)
    row = db.session.get(CompanyProfile, 1)
    if row is None:
        row = CompanyProfile(id=1)
        db.session.add(row)
    for name, value in checked.items():
        setattr(row, name, value)
    db.session.commit()
    current_app.extensions.pop(_CACHE, None)
    return Profile.of(row)


@dataclass(frozen=True)
class Sender:
    name: str
    email: str
    reply_to: str | None


def sender(survey: Any = None, person: str | None = None, company: Profile | None = None) -> Sender:
    """Who a customer email is from: the survey's own sender where it has one, else the company's.
    A person writing to the customer (a closing message, a hand-over) is named with the company."""
    company = company or profile()
    config = current_app.config
    company_name = company.company_name or config["MAIL_FROM_NAME"]
    name = (getattr(survey, "sender_name", None) or company.sender_name or company_name)
    if person:
        from vocloop.i18n import translate
        name = translate("{person} from {company}", person=person, company=company_name)
    email = getattr(survey, "sender_email", None) or company.sender_email or config["MAIL_FROM"]
    return Sender(name=name, email=email, reply_to=company.reply_to)


@dataclass(frozen=True)
class Brand:
    """What brands one customer email or page."""

    name: str
    logo_url: str | None
    color: str
    address_lines: list[str]
    privacy_url: str | None

    @property
    def sign_off(self) -> list[str]:
        """The footer's lines: the company's name, then its postal address (whose first line often
        names the company already: then once)."""
        lines = list(self.address_lines)
        if self.name and not (lines and self.name.lower() in lines[0].lower()):
            lines.insert(0, self.name)
        return lines


def brand(survey: Any = None, company: Profile | None = None) -> Brand:
    company = company or profile()
    return Brand(name=company.company_name, logo_url=getattr(survey, "logo_url", None) or company.logo_url,
                 color=getattr(survey, "brand_color", None) or company.brand_color,
                 address_lines=company.address_lines, privacy_url=company.privacy_url)
