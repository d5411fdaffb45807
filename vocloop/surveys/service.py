"""Creating surveys and sending them, keeping the promise not to ask without acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, render_template
from markupsafe import escape
from sqlalchemy import insert, select, update

from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.mail import outbox
from vocloop.security import new_secret_token
from vocloop.surveys.kinds import KINDS, get_kind
from vocloop.surveys.models import Invitation, Survey

CHUNK = 5000  # ids per IN (...) list


def create_survey(*, name: str, kind: str, company: str = "us", question: str | None = None,
                  comment_prompt: str | None = None, subject: str | None = None, intro: str = "",
                  sender_name: str | None = None, quarantine_days: int = 90,
                  link_expiry_days: int = 30) -> Survey:
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    if quarantine_days < 0 or not 1 <= link_expiry_days <= 365:
        raise Invalid("quarantine_days must be >= 0 and link_expiry_days between 1 and 365")
    survey_kind = get_kind(kind)
    survey = Survey(
        name=name, kind=kind, intro=intro, sender_name=sender_name,
        question=question or survey_kind.question.format(company=company),
        comment_prompt=comment_prompt or survey_kind.comment_prompt,
        subject=subject or f"A quick question from {company}",
        quarantine_days=quarantine_days, link_expiry_days=link_expiry_days,
    )
    db.session.add(survey)
    db.session.commit()
    return survey


SURVEY_SETTINGS = ("name", "question", "comment_prompt", "subject", "intro", "sender_name", "quarantine_days",
                   "link_expiry_days", "active")


def update_survey(survey: Survey, **values) -> Survey:
    """Emails already sent keep the wording they were sent with; links already sent keep their expiry."""
    unknown = set(values) - set(SURVEY_SETTINGS)
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}")
    if values.get("quarantine_days", 0) < 0 or not 1 <= values.get("link_expiry_days", 1) <= 365:
        raise Invalid("quarantine_days must be >= 0 and link_expiry_days between 1 and 365")
    for name, value in values.items():
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


def _ineligible(survey: Survey, contacts: list[Contact]) -> dict[int, str]:
    """Why each of these contacts must not get this survey now (DESIGN.md promise 4), by contact id;
    three queries whatever the number of contacts."""
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
        for contact_id in db.session.scalars(select(Invitation.contact_id).distinct().where(
                Invitation.contact_id.in_(chunk), Invitation.created_at >= since)):
            reasons.setdefault(contact_id, "quarantine")
    return reasons


def send_invitations(survey: Survey, contact_ids: list[int]) -> SendOutcome:
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
    reasons = _ineligible(survey, list(contacts.values()))
    template = _survey_template(survey)
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
             "expires_at": expires_at, "created_at": now} for token_hash, (contact, _) in tokens.items()])
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
         "invitation_id": invitation_id, "substitutions": _recipient_substitutions(contact, token),
         "headers": _unsubscribe_headers(token)}
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


def _survey_template(survey: Survey):
    kind = get_kind(survey.kind)
    context = dict(
        survey=survey, kind=kind, email_html=EMAIL_HTML_TAG,
        score_links=[(score, answer_url(TOKEN_TAG, score)) for score in kind.scores],
        unsubscribe_url=answer_url(TOKEN_TAG) + "/unsubscribe",
    )
    return outbox.template_for(
        survey.subject,
        render_template("email/survey.html", greeting=GREETING_HTML_TAG, **context),
        render_template("email/survey.txt", greeting=GREETING_TEXT_TAG, **context))


def _recipient_substitutions(contact: Contact, token: str) -> dict[str, str]:
    greeting = f"Hi {contact.name}," if contact.name else "Hello,"
    return {TOKEN_TAG: token, GREETING_HTML_TAG: str(escape(greeting)), GREETING_TEXT_TAG: greeting,
            EMAIL_HTML_TAG: str(escape(contact.email))}


def _unsubscribe_headers(token: str) -> dict[str, str]:
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
