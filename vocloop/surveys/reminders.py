"""One reminder to those who have not answered, a few days after the survey went out, never after the
customer answered, unsubscribed, bounced, or got an open item; at most one per invitation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select, update

from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.open_loops import open_loop_of
from vocloop.mail import outbox
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.security import new_secret_token
from vocloop.surveys import service
from vocloop.surveys.models import Invitation, Survey

# Invitations older than reminder_days + this are never reminded: no reminder for a survey sent
# weeks ago (after an outage, or when reminders are switched on for an old survey).
LATE_WINDOW_DAYS = 2
# A reminder needs at least this much link life left to be worth sending.
MIN_LINK_LIFE = timedelta(days=1)
DELIVERED = ("sent", "delivered", "opened", "clicked", "deferred")
BATCH = 1000


def due_invitations(survey: Survey, now) -> list[int]:
    """Invitations of this survey to remind now; the rules are all here."""
    due_before = now - timedelta(days=survey.reminder_days)
    too_old = due_before - timedelta(days=LATE_WINDOW_DAYS)
    return list(db.session.scalars(
        select(Invitation.id).join(Contact, Contact.id == Invitation.contact_id).where(
            Invitation.survey_id == survey.id, Invitation.reminded_at.is_(None),
            Invitation.answered_at.is_(None), Invitation.status.in_(DELIVERED),
            Invitation.created_at <= due_before, Invitation.created_at > too_old,
            Invitation.expires_at > now + MIN_LINK_LIFE,
            Contact.unsubscribed_at.is_(None), Contact.suppressed_reason.is_(None),
            ~exists().where(Response.invitation_id == Invitation.id, counting.counts()),  # a scanner's: still remind
            ~open_loop_of(Invitation.contact_id))
        .order_by(Invitation.id).limit(BATCH)))


def send_reminders(now=None) -> int:
    """For the clock: claim due invitations (reminded_at set in the same UPDATE, so two clocks never
    remind twice) and queue one email each, with a new personal link."""
    now = now or utcnow()
    queued = 0
    surveys = db.session.scalars(select(Survey).where(Survey.active.is_(True), Survey.reminder_days.is_not(None)))
    for survey in list(surveys):
        ids = due_invitations(survey, now)
        if not ids:
            continue
        claimed = list(db.session.scalars(
            update(Invitation).where(Invitation.id.in_(ids), Invitation.reminded_at.is_(None))
            .values(reminded_at=now).returning(Invitation.id)))
        if not claimed:
            db.session.rollback()
            continue
        recipients = []
        for invitation in db.session.scalars(select(Invitation).where(Invitation.id.in_(claimed))
                                             .order_by(Invitation.id)):
            token, token_hash = new_secret_token()
            invitation.reminder_token_hash = token_hash
            recipients.append((invitation.contact, token, invitation.id))
        db.session.flush()
        for template, rows in service.survey_rows(survey, recipients, "reminder"):
            outbox.queue_many(rows, template)
        db.session.commit()
        queued += len(recipients)
    return queued
