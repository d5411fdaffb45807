"""The outer loop: a lead tells everyone who raised a topic what was done about it.

Who raised it is worked out from the items the lead may see. Each person gets one email (the
recipient row's unique key, and the outbox key, make a second impossible), in their language, from
the lead, through the outbox like every customer email, with its own unsubscribe link and RFC 8058
headers (the survey email's, vocloop.responses.unsubscribe); unsubscribed, bounced and erased people are
skipped with the reason. Every recipient's items get a timeline entry. When the lead chooses so, the
recipients' open items of the topic are closed by it, and count as loop-closed only once the provider
accepted the email; a refused or bounced one reopens them, as with any closing message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func, or_, select

from vocloop.accounts.models import Team, User
from vocloop.announcements.models import Announcement, AnnouncementRecipient
from vocloop.classify.topics import all_topics
from vocloop.company import service as profiles
from vocloop.contacts.models import Contact
from vocloop.db import escape_like, utcnow
from vocloop.errors import Conflict, Forbidden, Invalid, NotFound
from vocloop.extensions import db
from vocloop.i18n import available_languages, in_language, language_for, supported, translate
from vocloop.items import permissions
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.open_loops import AWAITING_PROVIDER
from vocloop.mail import customer as customer_email
from vocloop.mail import outbox
from vocloop.mail.models import Message
from vocloop.mail.reply_address import reply_address
from vocloop.outbound import service as webhooks
from vocloop.security import new_secret_token
from vocloop.surveys.models import Survey
from vocloop.surveys.service import PREVIEW_TOKEN, answer_url, unsubscribe_headers
from vocloop.text import normalized_lines, paragraphs, parse_day

MAX_SUBJECT = 200
MAX_BODY = 10_000
# One announcement reaches at most this many people; a wider one is narrowed by period or team.
MAX_AUDIENCE = 5_000
BATCH = 200
LISTED = 200  # announcements on the page, the most recent first
SKIP_REASONS = {"unsubscribed": "unsubscribed from our emails", "bounce": "their address bounced",
                "spam_report": "they reported our email as spam", "dropped": "the mail provider refuses their address",
                "erased": "their data was erased"}


@dataclass
class Criteria:
    """Who raised it: items with the topic, created in the period (whole UTC days, both included),
    of one team and one survey if given, only those still open if asked."""

    topic: str
    created_from: date | None = None
    created_to: date | None = None
    team_id: int | None = None
    survey_id: int | None = None
    only_open: bool = False

    @classmethod
    def of(cls, announcement: Announcement) -> Criteria:
        return cls(announcement.topic, announcement.created_from, announcement.created_to, announcement.team_id,
                   announcement.survey_id, announcement.only_open)


@dataclass
class Member:
    """One person who raised it: their items (newest first), the ones this message would close, and
    why they will not be emailed (None: they will)."""

    contact: Contact
    items: list[FeedbackItem] = field(default_factory=list)
    closes: list[FeedbackItem] = field(default_factory=list)
    skip_reason: str | None = None

    @property
    def language(self) -> str:
        return language_for(self.contact, self.items[0].survey if self.items else None)


def skip_reason_of(contact: Contact) -> str | None:
    if contact.suppressed_reason:
        return contact.suppressed_reason
    if contact.unsubscribed_at is not None:
        return "unsubscribed"
    return None


def describe_skip(reason: str | None) -> str:
    return SKIP_REASONS.get(reason or "", (reason or "").replace("_", " "))


# -- checking what a lead typed ---------------------------------------------------------------------

def _text(value: Any, what: str, limit: int, one_line: bool = False) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{what} must be text.")
    value = normalized_lines(value or "").strip()
    if not value:
        raise Invalid(f"{what} cannot be empty.")
    if len(value) > limit:
        raise Invalid(f"{what} has at most {limit:,} characters.")
    if one_line and "\n" in value:
        raise Invalid(f"{what} must be on one line.")
    return value





def checked(values: dict[str, Any], user: User) -> dict[str, Any]:
    """Every value of an announcement, checked the same way for the page and the API."""
    known = {"topic", "created_from", "created_to", "team_id", "survey_id", "only_open", "subject", "body",
             "translations", "close_open_items"}
    unknown = set(values) - known
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}")
    result: dict[str, Any] = {}
    if "topic" in values:
        topic = (values["topic"] or "").strip() if isinstance(values["topic"], str) else ""
        if topic not in {t.name for t in all_topics()}:
            raise Invalid("Pick a topic from the Topics page's list.")
        result["topic"] = topic
    for name in ("created_from", "created_to"):
        if name in values:
            result[name] = parse_day(values[name], name.replace("_", " "))
    first, last = result.get("created_from"), result.get("created_to")
    if first and last and first > last:
        raise Invalid("The period's first day is after its last.")
    if "team_id" in values:
        team_id = _id(values["team_id"], "team_id")
        if team_id is not None and db.session.get(Team, team_id) is None:
            raise Invalid("No such team.")
        if team_id is not None and user.role != "admin" and team_id not in (
                permissions.team_ids_of(user) | permissions.led_team_ids(user)):
            raise Forbidden("A lead announces to their own teams' customers.")
        result["team_id"] = team_id
    if "survey_id" in values:
        survey_id = _id(values["survey_id"], "survey_id")
        if survey_id is not None and db.session.get(Survey, survey_id) is None:
            raise Invalid("No such survey.")
        result["survey_id"] = survey_id
    for name in ("only_open", "close_open_items"):
        if name in values:
            result[name] = bool(values[name])
    if "subject" in values:
        result["subject"] = _text(values["subject"], "The subject", MAX_SUBJECT, one_line=True)
    if "body" in values:
        result["body"] = _text(values["body"], "The message", MAX_BODY)
    if "translations" in values:
        result["translations"] = _translations(values["translations"] or {})
    return result


def _id(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{what} must be a number.") from None


def _translations(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise Invalid("translations must map a language code to its subject and body.")
    result = {}
    for code, version in value.items():
        language = supported(code)
        if language is None or language != code:
            raise Invalid(f"{code!r} is not a language vocloop ships ({', '.join(available_languages())}).")
        if not isinstance(version, dict) or set(version) - {"subject", "body"}:
            raise Invalid(f"translations.{code} gives a subject and a body.")
        subject, body = (version.get("subject") or "").strip(), (version.get("body") or "").strip()
        if not subject and not body:
            continue  # left empty on the page: that language reads the main version
        result[code] = {"subject": _text(subject, f"The {code} subject", MAX_SUBJECT, one_line=True),
                        "body": _text(body, f"The {code} message", MAX_BODY)}
    return result


# -- drafts -------------------------------------------------------------------------------------------

def create(user: User, values: dict[str, Any]) -> Announcement:
    _require_lead(user)
    data = checked(values, user)
    for name in ("topic", "subject", "body"):
        if name not in data:
            raise Invalid(f"{name} is required.")
    announcement = Announcement(created_by_id=user.id, **data)
    db.session.add(announcement)
    db.session.commit()
    return announcement


def update(user: User, announcement: Announcement, values: dict[str, Any]) -> Announcement:
    _require_lead(user)
    if announcement.status != "draft":
        raise Conflict("This announcement has been sent; it cannot be changed.")
    for name, value in checked(values, user).items():
        setattr(announcement, name, value)
    db.session.commit()
    return announcement


def delete(user: User, announcement: Announcement) -> None:
    _require_lead(user)
    if announcement.status != "draft":
        raise Conflict("This announcement has been sent; it stays on record.")
    db.session.delete(announcement)
    db.session.commit()


def get_for(user: User, announcement_id: int) -> Announcement:
    _require_lead(user)
    announcement = db.session.scalar(select(Announcement).where(Announcement.id == announcement_id,
                                                                *_visible_to(user)))
    if announcement is None:
        raise NotFound("No such announcement.")
    return announcement


def listed_for(user: User) -> list[Announcement]:
    """The LISTED most recent this user may see (chosen in the query: a lead's own are never crowded out by
    other teams' newer ones)."""
    _require_lead(user)
    return list(db.session.scalars(select(Announcement).where(*_visible_to(user))
                                   .order_by(Announcement.id.desc()).limit(LISTED)))


def _visible_to(user: User) -> tuple:
    """Admins see all; a lead sees their own and those of their teams (one rule for the page and the list)."""
    if user.role == "admin":
        return ()
    return (or_(Announcement.created_by_id == user.id,
                Announcement.team_id.in_(permissions.team_ids_of(user) | permissions.led_team_ids(user))),)


def _require_lead(user: User) -> None:
    if user.role not in ("lead", "admin"):
        raise Forbidden("Announcements are written by leads and admins.")


# -- who raised it ------------------------------------------------------------------------------------

def audience(user: User, criteria: Criteria, close_open_items: bool = False) -> list[Member]:
    """Everyone whose items (that this user may see) match, newest item first; too wide an audience
    is refused rather than cut short."""
    query = (select(FeedbackItem).where(permissions.visible_items_filter(user),
                                        cast(FeedbackItem.topics, String).like(_quoted(criteria.topic), escape="\\"))
             .order_by(FeedbackItem.contact_id, FeedbackItem.created_at.desc(), FeedbackItem.id.desc()))
    if criteria.created_from:
        query = query.where(FeedbackItem.created_at >= datetime.combine(criteria.created_from, time(), UTC))
    if criteria.created_to:
        query = query.where(FeedbackItem.created_at < datetime.combine(criteria.created_to + timedelta(days=1),
                                                                       time(), UTC))
    if criteria.team_id:
        query = query.where(FeedbackItem.team_id == criteria.team_id)
    if criteria.survey_id:
        query = query.where(FeedbackItem.survey_id == criteria.survey_id)
    if criteria.only_open:
        query = query.where(FeedbackItem.status != "closed")
    people = db.session.scalar(select(func.count(func.distinct(query.subquery().c.contact_id))))
    if people > MAX_AUDIENCE:
        raise Invalid(f"{people:,} people raised it: at most {MAX_AUDIENCE:,} per announcement. "
                      "Narrow the period, or pick a team or survey.")
    members: dict[int, Member] = {}
    for item in db.session.scalars(query):
        member = members.setdefault(item.contact_id, Member(item.contact, skip_reason=skip_reason_of(item.contact)))
        member.items.append(item)
        if close_open_items and item.is_open and member.skip_reason is None and permissions.can_work(user, item):
            member.closes.append(item)
    return sorted(members.values(), key=lambda m: (m.skip_reason is not None, -m.items[0].created_at.timestamp()))


def _quoted(topic: str) -> str:
    """The topic as it appears inside the JSON list's text, for LIKE (both databases)."""
    return "%" + escape_like(json.dumps(topic)) + "%"


# -- the email ----------------------------------------------------------------------------------------

def render(announcement: Announcement, member: Member, sender_user: User,
           unsubscribe_token: str = PREVIEW_TOKEN) -> dict[str, str]:
    """Subject, HTML and text exactly as this person gets it: their language's version where the lead
    wrote one, the chrome (greeting, footer with their unsubscribe link) in their language, from the lead.
    A preview's unsubscribe link is PREVIEW_TOKEN's, which works for nobody; the real one is made as the
    email is queued."""
    language = member.language
    version = (announcement.translations or {}).get(language) or {}
    subject = version.get("subject") or announcement.subject
    body = version.get("body") or announcement.body
    survey = member.items[0].survey if member.items else None
    with in_language(language):
        why = translate("You are receiving this because you told us about this in your feedback.")
    return customer_email.render(
        "announcement", subject=subject, language=language, survey=survey, why=why, preheader=None,
        unsubscribe_url=answer_url(unsubscribe_token) + "/unsubscribe",
        greeting=customer_email.greeting(member.contact, language), paragraphs=paragraphs(body), body=body,
        author=sender_user)


def sender_for(member: Member, sender_user: User) -> profiles.Sender:
    with in_language(member.language):
        return profiles.sender(member.items[0].survey if member.items else None, person=sender_user.name)


def preview(user: User, announcement: Announcement, contact_id: int | None = None) -> tuple[Member, dict[str, str]]:
    """The email one of the recipients (the first, or the one asked for) would get, as they would get it."""
    members = audience(user, Criteria.of(announcement), announcement.close_open_items)
    if not members:
        raise NotFound("Nobody raised it with these filters: widen the period or drop a filter.")
    member = next((m for m in members if m.contact.id == contact_id), None) if contact_id else members[0]
    if member is None:
        raise NotFound("That person is not among those who raised it.")
    return member, render(announcement, member, user)


# -- sending ------------------------------------------------------------------------------------------

def send(user: User, announcement: Announcement) -> int:
    """Fix the recipients now (what the lead saw is what goes out) and mark it sending; the job queues
    the emails. Returns how many will be emailed."""
    _require_lead(user)
    if announcement.status != "draft":
        raise Conflict("This announcement was sent already: each person gets it once.")
    members = audience(user, Criteria.of(announcement), announcement.close_open_items)
    if not any(m.skip_reason is None for m in members):
        raise Conflict("Nobody can be emailed with these filters (everyone who raised it is skipped, or nobody did).")
    for member in members:
        db.session.add(AnnouncementRecipient(
            announcement_id=announcement.id, contact_id=member.contact.id, language=member.language,
            status="skipped" if member.skip_reason else "to_send", skip_reason=member.skip_reason,
            item_ids=[item.id for item in member.items], closes_item_ids=[item.id for item in member.closes]))
    announcement.status, announcement.sent_at, announcement.sent_by_id = "sending", utcnow(), user.id
    db.session.commit()
    return sum(1 for m in members if m.skip_reason is None)


def queue_next_batch(announcement_id: int, size: int = BATCH) -> int | None:
    """Queue the emails of the next recipients still to send, with their timeline entries, in one
    transaction; None when there are none left (the announcement is then sent). Safe to run twice:
    a recipient is queued once, and the outbox key is unique."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None or announcement.status == "sent":
        return None
    sender_user = db.session.get(User, announcement.sent_by_id) if announcement.sent_by_id else None
    recipients = list(db.session.scalars(
        select(AnnouncementRecipient).where(AnnouncementRecipient.announcement_id == announcement.id,
                                            AnnouncementRecipient.status == "to_send")
        .order_by(AnnouncementRecipient.id).limit(size).with_for_update(skip_locked=True)))
    if not recipients:
        announcement.status, announcement.finished_at = "sent", utcnow()
        db.session.commit()
        return None
    for recipient in recipients:
        _queue_one(announcement, recipient, sender_user)
    db.session.commit()
    return len(recipients)


def _queue_one(announcement: Announcement, recipient: AnnouncementRecipient, sender_user: User) -> None:
    contact = recipient.contact
    reason = skip_reason_of(contact)  # they may have unsubscribed since the lead pressed Send
    if reason:
        recipient.status, recipient.skip_reason = "skipped", reason
        return
    member_items = [item for item in (db.session.get(FeedbackItem, i) for i in recipient.item_ids) if item]
    member = Member(contact, items=member_items)
    token, recipient.unsubscribe_token_hash = new_secret_token()  # the link stops this one's emails, as a survey's does
    email = render(announcement, member, sender_user, token)
    sender = sender_for(member, sender_user)
    newest = member_items[0] if member_items else None
    message = outbox.queue_message(
        key=f"announcement:{announcement.id}:{contact.id}", kind="announcement", to_email=contact.email,
        to_name=contact.name, subject=email["subject"], html=email["html"], text=email["text"],
        contact_id=contact.id, from_name=sender.name, from_email=sender.email,
        reply_to=(reply_address(newest.id) if newest else None) or sender.reply_to,
        headers=unsubscribe_headers(token, answer_url("")))
    db.session.flush()
    recipient.status, recipient.message_id = "queued", message.id
    closes = set(recipient.closes_item_ids)
    for item in member_items:
        closing = item.id in closes and item.is_open
        if item.id in closes and not closing:
            recipient.closes_item_ids = [i for i in recipient.closes_item_ids if i != item.id]
        db.session.add(ItemEvent(item_id=item.id, kind="announcement", actor_id=sender_user.id,
                                 body=f"Told the customer: {email['subject']}",
                                 data={"announcement_id": announcement.id, "message_id": message.id,
                                       "closes": closing}))
        if closing:
            items.close_by_announcement(sender_user, item, message)
            webhooks.emit("item.closed", webhooks.item_data(item))


# -- what the provider said ---------------------------------------------------------------------------

def recipient_of(message: Message) -> AnnouncementRecipient | None:
    return db.session.scalar(select(AnnouncementRecipient).where(AnnouncementRecipient.message_id == message.id))


def record_accepted(message: Message) -> None:
    """The provider took the email: the items it closed are loop-closed now (relay's transaction)."""
    recipient = recipient_of(message)
    if recipient is None:
        return
    for item_id in recipient.closes_item_ids:
        item = db.session.get(FeedbackItem, item_id)
        if item is None or item.loop_closed_at is not None or items.record_reached_after_all(
                item, message, "The announcement that closed this item", "announcement"):
            continue
        if item.close_reason == "announcement":
            items.record_loop_closed(item, message.sent_at or utcnow())
            db.session.add(ItemEvent(item_id=item.id, kind="message_sent", body="The announcement that closed "
                                     "this item was accepted by the mail provider.", data={"message_id": message.id}))


def record_failed(message: Message, explanation: str, notify_owner: bool = False) -> None:
    """Refused or bounced: the items it closed are open again, in their owners' hands."""
    recipient = recipient_of(message)
    if recipient is None:
        return
    for item_id in recipient.closes_item_ids:
        item = db.session.get(FeedbackItem, item_id)
        if item is not None and item.close_reason == "announcement":
            items.reopen_after_failed_message(item, message, explanation, notify_owner)


# -- figures ------------------------------------------------------------------------------------------

REACHED = ("sent", "delivered", "deferred")
OUTCOMES = ("reached", "waiting", "not_reached", "skipped")


def outcome_of(status: str, message_status: str | None) -> str:
    """What became of one recipient: skipped, reached (the provider accepted the email and it did not
    bounce), still waiting to be queued or sent, or not reached (refused or bounced)."""
    if status == "skipped":
        return "skipped"
    if message_status in REACHED:
        return "reached"
    if status == "to_send" or message_status in AWAITING_PROVIDER:
        return "waiting"
    return "not_reached"


def _recipient_counts(where):
    """Recipients per (their status, their email's status), with the items their announcement closed:
    outcome_of is a function of the pair, so each pair is decided once, whatever the audience's size."""
    closes = func.coalesce(func.sum(func.json_array_length(AnnouncementRecipient.closes_item_ids)), 0)
    return db.session.execute(select(AnnouncementRecipient.status, Message.status, func.count(), closes)
                              .outerjoin(Message, Message.id == AnnouncementRecipient.message_id).where(where)
                              .group_by(AnnouncementRecipient.status, Message.status)).all()


def figures(start: datetime, end: datetime, user: User | None = None) -> dict[str, int]:
    """Announcements sent in [start, end) and what became of their recipients (outcome_of), and the
    items they closed where they reached the customer; a lead's own and their teams'."""
    sent = select(Announcement.id).where(Announcement.sent_at >= start, Announcement.sent_at < end)
    if user is not None and user.role != "admin":
        teams = permissions.team_ids_of(user) | permissions.led_team_ids(user)
        sent = sent.where(or_(Announcement.created_by_id == user.id, Announcement.team_id.in_(teams)))
    counts = {"announcements": db.session.scalar(select(func.count()).select_from(sent.subquery())),
              "recipients": 0, **dict.fromkeys(OUTCOMES, 0), "items_closed": 0}
    for status, message_status, recipients, closed in _recipient_counts(
            AnnouncementRecipient.announcement_id.in_(sent)):
        outcome = outcome_of(status, message_status)
        counts[outcome] += recipients
        counts["recipients"] += recipients
        if outcome == "reached":
            counts["items_closed"] += closed
    return counts


def progress(announcement: Announcement) -> dict[str, int]:
    """This announcement's recipients by outcome (outcome_of), as the page and the API show them."""
    counts = {"recipients": 0, **dict.fromkeys(OUTCOMES, 0)}
    for status, message_status, recipients, _closed in _recipient_counts(
            AnnouncementRecipient.announcement_id == announcement.id):
        counts[outcome_of(status, message_status)] += recipients
        counts["recipients"] += recipients
    return counts


def recipients_of(announcement: Announcement) -> list[AnnouncementRecipient]:
    return list(db.session.scalars(select(AnnouncementRecipient).where(
        AnnouncementRecipient.announcement_id == announcement.id).order_by(
        AnnouncementRecipient.status, AnnouncementRecipient.id)))


def stalled_ids(older_than_seconds: int = 120) -> list[int]:
    """Announcements still sending a while after Send was pressed: their job was lost (the sweep resumes them)."""
    return list(db.session.scalars(select(Announcement.id).where(
        Announcement.status == "sending", Announcement.sent_at < utcnow() - timedelta(seconds=older_than_seconds))))
