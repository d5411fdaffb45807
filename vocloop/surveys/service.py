"""Creating surveys and sending them, keeping the promise not to ask without acting."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

from flask import current_app
from markupsafe import escape
from sqlalchemy import func, select, update

from vocloop.accounts.service import normalize_email
from vocloop.bulk import collector_paused
from vocloop.company import service as profiles
from vocloop.company.brand import checked_color, checked_url
from vocloop.contacts.models import Contact, greeting_name
from vocloop.db import ANALYZE_AFTER_ROWS, among, analyze_after_bulk_load, insert_rows, utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.i18n import available_languages, language_for, translate
from vocloop.items import next_answer
from vocloop.items.open_loops import contacts_with_open_loop
from vocloop.mail import customer as customer_email
from vocloop.mail import outbox
from vocloop.mail.base import apply_substitutions
from vocloop.mail.models import Message, MessageTemplate
from vocloop.security import new_secret_token
from vocloop.surveys.kinds import KINDS, get_kind
from vocloop.surveys.models import OPEN_ITEM_RULES, Invitation, Survey, reached_customer
from vocloop.surveys.wording import standard_subject, wording
from vocloop.text import normalized_lines, paragraphs
from vocloop.values import BANDS, share

CHUNK = 5000  # ids per IN (...) list


SURVEY_SETTINGS = ("name", "title", "question", "comment_prompt", "subject", "intro", "sender_name", "sender_email",
                   "quarantine_days", "link_expiry_days", "active", "followups", "thanks", "review_url", "brand_color",
                   "logo_url", "open_items_for", "reminder_days", "language")
# Settings where None (or empty) means "the company profile's" or "none".
OPTIONAL_SETTINGS = ("title", "sender_name", "sender_email", "brand_color", "logo_url", "review_url", "reminder_days")


def checked_settings(values: dict) -> dict:
    """Every survey setting is checked here, for the API and the survey page alike."""
    unknown = set(values) - set(SURVEY_SETTINGS)
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}")
    values = {key: value for key, value in values.items()  # None means "the default" where one is needed
              if value is not None or key in OPTIONAL_SETTINGS}
    if values.get("quarantine_days", 0) < 0 or not 1 <= values.get("link_expiry_days", 30) <= 365:
        raise Invalid("quarantine_days must be >= 0 and link_expiry_days between 1 and 365")
    for key in ("title", "sender_name"):
        if key in values:
            values[key] = " ".join((values[key] or "").split()) or None  # one line: it may reach a header
    if values.get("brand_color"):
        values["brand_color"] = checked_color(values["brand_color"])
    elif "brand_color" in values:
        values["brand_color"] = None
    if "logo_url" in values:
        values["logo_url"] = checked_url(values["logo_url"], "The logo (logo_url)")
    if values.get("sender_email"):
        values["sender_email"] = normalize_email(values["sender_email"])
    elif "sender_email" in values:
        values["sender_email"] = None
    for key, limit, what in (("followups", 500, "a question"), ("thanks", 1000, "a message")):
        if key in values:
            values[key] = _by_band(key, values[key], limit, what)
    if "review_url" in values:
        values["review_url"] = checked_url(values["review_url"], "The review site (review_url)")
    if values.get("open_items_for", OPEN_ITEM_RULES[0]) not in OPEN_ITEM_RULES:
        raise Invalid(f"open_items_for must be one of {', '.join(OPEN_ITEM_RULES)}")
    reminder_days = values.get("reminder_days")
    if reminder_days is not None and not 1 <= reminder_days <= 30:
        raise Invalid("reminder_days must be between 1 and 30 (or none for no reminder).")
    if values.get("language", "en") not in available_languages():
        raise Invalid(f"language must be one of {', '.join(available_languages())}")
    return values


def _by_band(key: str, texts, limit: int, what: str) -> dict[str, str]:
    """A text per score band (follow-up questions, thank-you messages); empty ones dropped."""
    texts = texts or {}
    if not isinstance(texts, dict) or set(texts) - set(BANDS) or \
            not all(isinstance(text, str) and len(text) <= limit for text in texts.values()):
        raise Invalid(f"{key} maps negative, neutral or positive to {what} of up to {limit} characters.")
    return {band: normalized_lines(texts[band]).strip() for band in BANDS if (texts.get(band) or "").strip()}


def create_survey(*, name: str, kind: str, company: str | None = None, question: str | None = None,
                  comment_prompt: str | None = None, subject: str | None = None, **settings) -> Survey:
    """A survey with its kind's standard wording in the survey's language, naming the company (the
    profile's name by default)."""
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    settings = checked_settings(settings)
    company = (company or "").strip() or profiles.profile().company_name
    survey_kind, language = get_kind(kind), settings.get("language") or "en"
    survey = Survey(
        name=name, kind=kind, question=question or survey_kind.standard_question(company, language),
        comment_prompt=comment_prompt or translate(survey_kind.comment_prompt, language),
        subject=subject or standard_subject(company, language), **settings,
    )
    db.session.add(survey)
    db.session.commit()
    return survey


def update_survey(survey: Survey, **values) -> Survey:
    """Emails already sent keep the wording they were sent with; links already sent keep their expiry."""
    for name, value in checked_settings(values).items():
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


class Addressee(NamedTuple):
    """What a send reads of a contact, as a plain row."""

    id: int
    email: str
    name: str
    first_name: str | None
    language: str | None
    unsubscribed_at: datetime | None
    suppressed_reason: str | None

    @property
    def greeting_name(self) -> str:
        return greeting_name(self.first_name, self.name)


ADDRESSEE = tuple(getattr(Contact, name) for name in Addressee._fields)


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
        for contact_id in contacts_with_open_loop(chunk):
            reasons[contact_id] = "open_item"
        if send_run is not None:
            for contact_id in db.session.scalars(select(Invitation.contact_id).where(
                    among(db.session, Invitation.contact_id, chunk), Invitation.send_id == send_run[0],
                    Invitation.created_at >= send_run[1])):
                reasons.setdefault(contact_id, "already_in_this_send")
        for contact_id in db.session.scalars(select(Invitation.contact_id).distinct().where(
                among(db.session, Invitation.contact_id, chunk), Invitation.created_at >= since)):
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


@collector_paused()
def send_invitations(survey: Survey, contact_ids: list[int], send_run: tuple[int, datetime] | None = None
                     ) -> SendOutcome:
    """Write one invitation and its outbox email per eligible contact, in one transaction.
    The email is rendered once for the whole send; each recipient's part is a few substitutions."""
    if not survey.active:
        raise Invalid("this survey is not active")
    outcome = SendOutcome()
    wanted = list(dict.fromkeys(contact_ids))
    contacts: dict[int, Addressee] = {}
    for start in range(0, len(wanted), CHUNK):  # plain rows: ORM objects cost more than the rest of the send
        contacts.update((row[0], Addressee(*row)) for row in db.session.execute(
            select(*ADDRESSEE).where(among(db.session, Contact.id, wanted[start:start + CHUNK]))))
    reasons = _ineligible(survey, list(contacts.values()), send_run)
    now = utcnow()
    expires_at = now + timedelta(days=survey.link_expiry_days)
    invited: list[tuple[Addressee, str]] = []
    rows = []
    send_id = send_run[0] if send_run else None
    for contact_id in wanted:
        contact = contacts.get(contact_id)
        reason = "not_found" if contact is None else reasons.get(contact_id)
        if reason:
            outcome.skipped.append((contact_id, reason))
            continue
        token, token_hash = new_secret_token()
        invited.append((contact, token))
        rows.append({"survey_id": survey.id, "contact_id": contact_id, "token_hash": token_hash, "status": "queued",
                     "expires_at": expires_at, "created_at": now, "send_id": send_id})
    invitation_ids = insert_rows(db.session, Invitation.__table__, rows)
    recipients = [(contact, token, invitation_id) for (contact, token), invitation_id in zip(invited, invitation_ids,
                                                                                            strict=True)]
    outcome.invitations = sorted((SentInvitation(invitation_id, contact.id, "queued", expires_at)
                                  for contact, _, invitation_id in recipients), key=lambda invitation: invitation.id)
    for template, rows in survey_rows(survey, recipients, "survey"):
        outbox.queue_many(rows, template)
    next_answer.refresh(db.session, [contact.id for contact, *_ in recipients])  # asked again after their loop
    db.session.commit()
    if len(recipients) >= ANALYZE_AFTER_ROWS:  # before the relay claims them batch by batch
        analyze_after_bulk_load(db.session, (Invitation.__table__, Message.__table__))
    return outcome


def answer_url(token: str, score: int | None = None) -> str:
    base = current_app.config["VOCLOOP_BASE_URL"]
    return f"{base}/s/{token}" + ("" if score is None else f"?score={score}")


# Substitution tags: the survey email is rendered once per language with these in place of personal
# details (plain ASCII that HTML escaping leaves as is; the html variants get escaped values).
TOKEN_TAG, GREETING_HTML_TAG, GREETING_TEXT_TAG, EMAIL_HTML_TAG, EMAIL_TEXT_TAG = (
    "-vl_token-", "-vl_greeting_html-", "-vl_greeting_text-", "-vl_email_html-", "-vl_email_text-")


def scale_groups(kind) -> list[range]:
    """The scale in one group, or two that a phone shows one above the other (0-5 over 6-10)."""
    scores = kind.scores
    if len(scores) <= 5:
        return [scores]
    middle = scores.start + (len(scores) + 1) // 2
    return [range(scores.start, middle), range(middle, scores.stop)]


def survey_template(survey: Survey, reminder: bool = False, language: str | None = None,
                    company: profiles.Profile | None = None):
    """The survey email, rendered once per language for a whole send, with tags for personal details."""
    email = _survey_email(survey, reminder, language or language_for(survey=survey), company)
    return outbox.template_for(email["subject"], email["html"], email["text"])


# A preview's link token, in the survey page's email and an announcement draft's: no invitation's or
# recipient's token is this short, so its answer and unsubscribe links work for nobody.
PREVIEW_TOKEN = "preview"


def preview_email(survey: Survey, language: str, reminder: bool, name: str, email: str) -> dict[str, str]:
    """The survey email (or its reminder) as a customer of this language reads it, addressed to `name` at
    `email` (the person looking), rendered as a send renders it but stored nowhere."""
    rendered = _survey_email(survey, reminder, language, profiles.profile())
    reader = SimpleNamespace(email=email, greeting_name=greeting_name(None, name))
    substitutions = _substitutions(reader, PREVIEW_TOKEN, customer_email.greeting(reader, language))
    return {part: apply_substitutions(rendered[part], substitutions) for part in ("subject", "html", "text")}


def _survey_email(survey: Survey, reminder: bool, language: str, company: profiles.Profile | None
                  ) -> dict[str, str]:
    kind = get_kind(survey.kind)
    words = wording(survey, language)
    email = customer_email.render(
        "survey", subject=words.subject, language=language, survey=survey, words=words,
        profile=company, why=lambda: translate("This personal link is for {email} only; please do not forward "
                                               "this email.", email=EMAIL_TEXT_TAG),
        unsubscribe_url=answer_url(TOKEN_TAG) + "/unsubscribe", preheader=words.question,
        kind=kind, groups=scale_groups(kind), links={score: answer_url(TOKEN_TAG, score) for score in kind.scores},
        intro=paragraphs(survey.intro), reminder=reminder, email_html=EMAIL_HTML_TAG,
        greeting_html=GREETING_HTML_TAG, greeting_text=GREETING_TEXT_TAG)
    return email


def _substitutions(contact: Contact, token: str, words: str) -> dict[str, str]:
    return {TOKEN_TAG: token, GREETING_HTML_TAG: _escaped(words), GREETING_TEXT_TAG: words,
            EMAIL_HTML_TAG: _escaped(contact.email), EMAIL_TEXT_TAG: contact.email}


_HTML_SPECIAL = re.compile(r"[&<>'\"]")


def _escaped(text: str) -> str:
    """markupsafe's escape, skipped for text it would leave as is (most names and addresses)."""
    return str(escape(text)) if _HTML_SPECIAL.search(text) else text


def survey_rows(survey: Survey, recipients: list[tuple[Contact, str, int]], key_prefix: str
                ) -> list[tuple[MessageTemplate, list[dict]]]:
    """Outbox rows of a survey email (or its reminder) to these (contact, token, invitation id), with
    one template per language among them: each reads it in their own."""
    company = profiles.profile()
    sender = profiles.sender(survey, company=company)
    common = {"kind": "survey", "from_name": sender.name, "from_email": sender.email, "reply_to": sender.reply_to}
    by_language: dict[str, list[dict]] = {}
    languages: dict[str | None, tuple[str, Callable]] = {}  # a contact's language setting -> theirs, its greeting
    links = answer_url("")
    for contact, token, invitation_id in recipients:
        if contact.language not in languages:
            language = language_for(contact, survey)
            languages[contact.language] = language, customer_email.greeter(language)
        language, greet = languages[contact.language]
        by_language.setdefault(language, []).append({
            **common, "idempotency_key": f"{key_prefix}:{invitation_id}", "to_email": contact.email,
            "to_name": contact.name, "contact_id": contact.id, "invitation_id": invitation_id,
            "substitutions": _substitutions(contact, token, greet(contact)),
            "headers": unsubscribe_headers(token, links)})
    return [(survey_template(survey, reminder=key_prefix == "reminder", language=language, company=company), rows)
            for language, rows in sorted(by_language.items())]


def unsubscribe_headers(token: str, links: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients POST to the link, no cookies, no page. links:
    answer_url(""), computed once by a caller that writes thousands."""
    return {"List-Unsubscribe": f"<{links}{token}/unsubscribe>",
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
        chunk = invitation_ids[start:start + 1000]
        db.session.execute(update(Invitation).where(among(db.session, Invitation.id, chunk),
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
                        "response_rate": share(answered, reached)}
            for survey_id, invited, reached, answered in rows}
