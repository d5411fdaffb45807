"""Creating surveys and sending them, keeping the promise not to ask without acting."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, render_template
from markupsafe import escape
from sqlalchemy import func, insert, select, update

from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.i18n import available_languages, translate, use_language
from vocloop.items.models import FeedbackItem
from vocloop.mail import outbox
from vocloop.security import new_secret_token
from vocloop.surveys.kinds import KINDS, get_kind
from vocloop.surveys.models import OPEN_ITEM_RULES, Invitation, Survey, reached_customer

CHUNK = 5000  # ids per IN (...) list


SURVEY_SETTINGS = ("name", "question", "comment_prompt", "subject", "intro", "sender_name", "quarantine_days",
                   "link_expiry_days", "active", "followups", "brand_color", "logo_url", "open_items_for",
                   "reminder_days", "language")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def contrast_with_white(color: str) -> float:
    """WCAG 2 contrast ratio of white text on this colour (buttons and selected scores use it)."""
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(color[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def checked_settings(kind: str, values: dict) -> dict:
    """Every survey setting is checked here, for the API and the survey page alike."""
    unknown = set(values) - set(SURVEY_SETTINGS)
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}")
    values = {key: value for key, value in values.items()  # None means "the default" where one is needed
              if value is not None or key in ("sender_name", "logo_url", "reminder_days")}
    if values.get("quarantine_days", 0) < 0 or not 1 <= values.get("link_expiry_days", 30) <= 365:
        raise Invalid("quarantine_days must be >= 0 and link_expiry_days between 1 and 365")
    color = values.get("brand_color")
    if color is not None:
        if not _COLOR.match(color):
            raise Invalid("brand_color must be a colour like #1f4e79.")
        ratio = contrast_with_white(color)
        if ratio < 4.5:
            raise Invalid(f"brand_color {color} is too light for white text on it (contrast {ratio:.1f}:1; "
                          "WCAG AA needs 4.5:1). Choose a darker shade.")
    if values.get("logo_url"):
        parts = urlsplit(values["logo_url"])
        if parts.scheme != "https" or not parts.hostname or len(values["logo_url"]) > 500:
            raise Invalid("logo_url must be an https:// address of an image (500 characters at most).")
    elif "logo_url" in values:
        values["logo_url"] = None
    if "followups" in values:
        followups = values["followups"] or {}
        bands = ("negative", "neutral", "positive")
        if not isinstance(followups, dict) or set(followups) - set(bands) or \
                not all(isinstance(text, str) and len(text) <= 500 for text in followups.values()):
            raise Invalid("followups maps negative, neutral or positive to a question of up to 500 characters.")
        values["followups"] = {band: followups[band].strip() for band in bands if (followups.get(band) or "").strip()}
    if values.get("open_items_for", OPEN_ITEM_RULES[0]) not in OPEN_ITEM_RULES:
        raise Invalid(f"open_items_for must be one of {', '.join(OPEN_ITEM_RULES)}")
    reminder_days = values.get("reminder_days")
    if reminder_days is not None and not 1 <= reminder_days <= 30:
        raise Invalid("reminder_days must be between 1 and 30 (or none for no reminder).")
    if values.get("language", "en") not in available_languages():
        raise Invalid(f"language must be one of {', '.join(available_languages())}")
    return values


def create_survey(*, name: str, kind: str, company: str = "us", question: str | None = None,
                  comment_prompt: str | None = None, subject: str | None = None, **settings) -> Survey:
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    settings = checked_settings(kind, settings)
    survey_kind = get_kind(kind)
    survey = Survey(
        name=name, kind=kind,
        question=question or survey_kind.question.format(company=company),
        comment_prompt=comment_prompt or survey_kind.comment_prompt,
        subject=subject or f"A quick question from {company}", **settings,
    )
    db.session.add(survey)
    db.session.commit()
    return survey


def update_survey(survey: Survey, **values) -> Survey:
    """Emails already sent keep the wording they were sent with; links already sent keep their expiry."""
    for name, value in checked_settings(survey.kind, values).items():
        setattr(survey, name, value)
    db.session.commit()
    return survey


@dataclass(frozen=True)
class SentInvitation:
    id: int
    contact_id: int
    status: str
    expires_at: datetime


@dataclass
class SendOutcome:
    invitations: list[SentInvitation] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def reason_key(reason: str) -> str:
    """A skip reason without its detail ("suppressed (bounce)" -> "suppressed"), for counting."""
    return reason.split(" ")[0]


def _ineligible(survey: Survey, contacts: list[Contact], send_run: tuple[int, datetime] | None = None
                ) -> dict[int, str]:
    """Why each of these contacts must not get this survey now (DESIGN.md promise 4), by contact id;
    a few queries whatever the number of contacts. The one place these rules live: the API, the
    survey page, scheduled and recurring sends all come through here. send_run (send id, run start)
    also skips whom this run of a scheduled send already invited (a run resumed after a crash)."""
    reasons: dict[int, str] = {}
    for contact in contacts:
        if contact.unsubscribed_at is not None:
            reasons[contact.id] = "unsubscribed"
        elif contact.suppressed_reason is not None:
            reasons[contact.id] = f"suppressed ({contact.suppressed_reason})"
    ids = [contact.id for contact in contacts if contact.id not in reasons]
    since = utcnow() - timedelta(days=survey.quarantine_days)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for contact_id in db.session.scalars(select(FeedbackItem.contact_id).distinct().where(
                FeedbackItem.contact_id.in_(chunk), FeedbackItem.status != "closed")):
            reasons[contact_id] = "open_item"
        if send_run is not None:
            for contact_id in db.session.scalars(select(Invitation.contact_id).where(
                    Invitation.contact_id.in_(chunk), Invitation.send_id == send_run[0],
                    Invitation.created_at >= send_run[1])):
                reasons.setdefault(contact_id, "already_in_this_send")
        for contact_id in db.session.scalars(select(Invitation.contact_id).distinct().where(
                Invitation.contact_id.in_(chunk), Invitation.created_at >= since)):
            reasons.setdefault(contact_id, "quarantine")
    return reasons


def eligibility(survey: Survey, contact_ids: list[int]) -> dict[str, int]:
    """A send's preview: how many would be invited, and how many skipped for each reason."""
    counts = {"eligible": 0}
    for start in range(0, len(contact_ids), CHUNK):
        chunk = list(dict.fromkeys(contact_ids[start:start + CHUNK]))
        contacts = list(db.session.scalars(select(Contact).where(Contact.id.in_(chunk))))
        reasons = _ineligible(survey, contacts)
        counts["eligible"] += len(contacts) - len(reasons)
        for reason in reasons.values():
            key = reason_key(reason)
            counts[key] = counts.get(key, 0) + 1
        if len(contacts) < len(chunk):
            counts["not_found"] = counts.get("not_found", 0) + len(chunk) - len(contacts)
    return counts


def send_invitations(survey: Survey, contact_ids: list[int], send_run: tuple[int, datetime] | None = None
                     ) -> SendOutcome:
    """Write one invitation and its outbox email per eligible contact, in one transaction.
    The email is rendered once for the whole send; each recipient's part is a few substitutions."""
    if not survey.active:
        raise Invalid("this survey is not active")
    outcome = SendOutcome()
    wanted = list(dict.fromkeys(contact_ids))
    contacts: dict[int, Contact] = {}
    for start in range(0, len(wanted), CHUNK):
        contacts.update((c.id, c) for c in db.session.scalars(
            select(Contact).where(Contact.id.in_(wanted[start:start + CHUNK]))))
    reasons = _ineligible(survey, list(contacts.values()), send_run)
    template = survey_template(survey)
    now = utcnow()
    expires_at = now + timedelta(days=survey.link_expiry_days)
    tokens: dict[str, tuple[Contact, str]] = {}  # token hash -> (contact, token)
    for contact_id in wanted:
        contact = contacts.get(contact_id)
        reason = "not_found" if contact is None else reasons.get(contact_id)
        if reason:
            outcome.skipped.append((contact_id, reason))
            continue
        token, token_hash = new_secret_token()
        tokens[token_hash] = (contact, token)
    # Plain INSERTs, then one SELECT per chunk for the ids: several times faster than the ORM here.
    if tokens:
        db.session.execute(insert(Invitation), [
            {"survey_id": survey.id, "contact_id": contact.id, "token_hash": token_hash, "status": "queued",
             "expires_at": expires_at, "created_at": now, "send_id": send_run[0] if send_run else None}
            for token_hash, (contact, _) in tokens.items()])
    hashes = list(tokens)
    for start in range(0, len(hashes), CHUNK):
        rows = db.session.execute(select(Invitation.id, Invitation.token_hash).where(
            Invitation.token_hash.in_(hashes[start:start + CHUNK])))
        for invitation_id, token_hash in rows:
            contact, token = tokens[token_hash]
            outcome.invitations.append(SentInvitation(invitation_id, contact.id, "queued", expires_at))
            tokens[token_hash] = (contact, token, invitation_id)
    outbox.queue_many([
        {"idempotency_key": f"survey:{invitation_id}", "kind": "survey", "to_email": contact.email,
         "to_name": contact.name, "from_name": survey.sender_name, "contact_id": contact.id,
         "invitation_id": invitation_id, "substitutions": recipient_substitutions(contact, token),
         "headers": unsubscribe_headers(token)}
        for contact, token, invitation_id in sorted(tokens.values(), key=lambda entry: entry[2])], template)
    outcome.invitations.sort(key=lambda invitation: invitation.id)
    db.session.commit()
    return outcome


def answer_url(token: str, score: int | None = None) -> str:
    base = current_app.config["VOCLOOP_BASE_URL"]
    return f"{base}/s/{token}" + ("" if score is None else f"?score={score}")


# Substitution tags: the survey email is rendered once with these in place of personal details
# (plain ASCII that HTML escaping leaves as is; the html variants get escaped values).
TOKEN_TAG, GREETING_HTML_TAG, GREETING_TEXT_TAG, EMAIL_HTML_TAG = (
    "-vl_token-", "-vl_greeting_html-", "-vl_greeting_text-", "-vl_email_html-")


def survey_template(survey: Survey, reminder: bool = False):
    """The survey email, rendered once in the survey's language, with tags for personal details."""
    use_language(survey.language)
    kind = get_kind(survey.kind)
    context = dict(
        survey=survey, kind=kind, email_html=EMAIL_HTML_TAG, reminder=reminder,
        score_links=[(score, answer_url(TOKEN_TAG, score)) for score in kind.scores],
        unsubscribe_url=answer_url(TOKEN_TAG) + "/unsubscribe",
    )
    return outbox.template_for(
        survey.subject,
        render_template("email/survey.html", greeting=GREETING_HTML_TAG, **context),
        render_template("email/survey.txt", greeting=GREETING_TEXT_TAG, **context))


def recipient_substitutions(contact: Contact, token: str) -> dict[str, str]:
    greeting = translate("Hi {name},", name=contact.name) if contact.name else translate("Hello,")
    return {TOKEN_TAG: token, GREETING_HTML_TAG: str(escape(greeting)), GREETING_TEXT_TAG: greeting,
            EMAIL_HTML_TAG: str(escape(contact.email))}


def unsubscribe_headers(token: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients POST to the link, no cookies, no page."""
    return {"List-Unsubscribe": f"<{answer_url(token)}/unsubscribe>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


# An invitation's email status only moves up this ladder, whatever order the news arrives in.
INVITATION_STATUS_RANK = {"queued": 0, "sent": 1, "deferred": 2, "delivered": 3, "opened": 4, "clicked": 5,
                          "failed": 6, "bounced": 6, "dropped": 6}


def mark_invitations(status: str, invitation_ids: list[int]) -> None:
    """Move these invitations to status where that is a step forward (in the caller's transaction)."""
    lower = [name for name, rank in INVITATION_STATUS_RANK.items() if rank < INVITATION_STATUS_RANK[status]]
    values = {"status": status}
    if status == "sent":
        values["sent_at"] = utcnow()
    for start in range(0, len(invitation_ids), 1000):
        db.session.execute(update(Invitation).where(Invitation.id.in_(invitation_ids[start:start + 1000]),
                                                    Invitation.status.in_(lower))
                           .values(**values).execution_options(synchronize_session=False))


def survey_stats() -> dict[int, dict]:
    """Per survey: invited, reached (the provider took the email and it did not bounce), answered,
    and the response rate answered / reached. One grouped query."""
    rows = db.session.execute(select(
        Invitation.survey_id, func.count(),
        func.count().filter(reached_customer()),
        func.count(Invitation.answered_at)).group_by(Invitation.survey_id))
    return {survey_id: {"invited": invited, "reached": reached, "answered": answered,
                        "response_rate": round(answered / reached, 3) if reached else None}
            for survey_id, invited, reached, answered in rows}
