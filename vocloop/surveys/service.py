"""Creating surveys and sending them, keeping the promise not to ask without acting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, render_template
from sqlalchemy import exists, select

from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.mail import outbox
from vocloop.security import new_secret_token
from vocloop.surveys.kinds import KINDS, get_kind
from vocloop.surveys.models import Invitation, Survey


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


@dataclass
class SendOutcome:
    invitations: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)


def ineligibility_reason(survey: Survey, contact: Contact) -> str | None:
    """Why this contact must not get this survey now, or None. DESIGN.md promise 4."""
    if contact.unsubscribed_at is not None:
        return "unsubscribed"
    if contact.suppressed_reason is not None:
        return f"suppressed ({contact.suppressed_reason})"
    has_open_item = db.session.scalar(select(exists().where(
        FeedbackItem.contact_id == contact.id, FeedbackItem.status != "closed")))
    if has_open_item:
        return "open_item"
    since = utcnow() - timedelta(days=survey.quarantine_days)
    recently_surveyed = db.session.scalar(select(exists().where(
        Invitation.contact_id == contact.id, Invitation.created_at >= since)))
    if recently_surveyed:
        return "quarantine"
    return None


def send_invitations(survey: Survey, contact_ids: list[int]) -> SendOutcome:
    """Write one invitation and its outbox email per eligible contact, in one transaction."""
    if not survey.active:
        raise Invalid("this survey is not active")
    outcome = SendOutcome()
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
    messages = []
    for contact_id in dict.fromkeys(contact_ids):
        contact = contacts.get(contact_id)
        reason = "not_found" if contact is None else ineligibility_reason(survey, contact)
        if reason:
            outcome.skipped.append((contact_id, reason))
            continue
        token, token_hash = new_secret_token()
        invitation = Invitation(survey=survey, contact=contact, token_hash=token_hash,
                                expires_at=utcnow() + timedelta(days=survey.link_expiry_days))
        db.session.add(invitation)
        db.session.flush()
        messages.append(_queue_survey_email(survey, contact, invitation, token))
        outcome.invitations.append(invitation)
    db.session.commit()
    outcome.message_ids = [message.id for message in messages]
    return outcome


def answer_url(token: str, score: int | None = None) -> str:
    base = current_app.config["VOCLOOP_BASE_URL"]
    return f"{base}/s/{token}" + ("" if score is None else f"?score={score}")


def _queue_survey_email(survey: Survey, contact: Contact, invitation: Invitation, token: str):
    kind = get_kind(survey.kind)
    context = dict(
        survey=survey, contact=contact, kind=kind,
        score_links=[(score, answer_url(token, score)) for score in kind.scores],
        comment_url=answer_url(token), unsubscribe_url=answer_url(token) + "/unsubscribe",
    )
    return outbox.queue_message(
        key=f"survey:{invitation.id}", kind="survey", to_email=contact.email, to_name=contact.name,
        from_name=survey.sender_name, subject=survey.subject,
        html=render_template("email/survey.html", **context),
        text=render_template("email/survey.txt", **context),
        contact_id=contact.id, invitation_id=invitation.id,
    )


def mark_invitation_sent(invitation_id: int) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation and invitation.status == "queued":
        invitation.status, invitation.sent_at = "sent", utcnow()


def mark_invitation_failed(invitation_id: int) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation and invitation.status in ("queued", "sent"):
        invitation.status = "failed"
