"""Recording answers: stored first, before any classification or routing (promise 2)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.errors import Conflict, Gone, Invalid, NotFound
from vocloop.extensions import db
from vocloop.i18n import reading_language
from vocloop.items import next_answer
from vocloop.responses import scanners
from vocloop.responses.counting import BY_COMMENT, COUNTED, PENDING, count_answer, counts
from vocloop.responses.models import Response
from vocloop.security import hash_token
from vocloop.surveys.kinds import get_kind
from vocloop.surveys.models import Invitation, Survey, behind_link
from vocloop.surveys.wording import followup_for, followups
from vocloop.text import normalized_lines, without_control_characters

MAX_COMMENT_CHARS = 5000


# The words of every refusal of a survey link, whichever path finds it.
LINK_NOT_VALID = "This survey link is not valid."
LINK_EXPIRED = "This survey link has expired."
ALREADY_ANSWERED = "Thank you, your answer is already in."
UNSUBSCRIBED = "You unsubscribed: this link no longer records answers."


class Unsubscribed(Conflict):
    """The link's contact unsubscribed: their survey links record nothing any more, and say so."""


def link_hash(token: str) -> str:
    """The stored hash of a survey link's token; NotFound for what cannot be one."""
    if not token or len(token) > 100:
        raise NotFound(LINK_NOT_VALID)
    return hash_token(token)


def find_invitation(token: str, *, allow_expired: bool = False) -> Invitation:
    """The invitation behind a link; NotFound for unknown or tampered tokens, Gone once expired."""
    invitation = db.session.scalar(select(Invitation).options(joinedload(Invitation.survey),
                                                              joinedload(Invitation.contact))
                                   .where(behind_link(link_hash(token))))
    if invitation is None:
        raise NotFound(LINK_NOT_VALID)
    if invitation.expires_at <= utcnow() and not allow_expired:
        expired = Gone(LINK_EXPIRED)
        expired.language = invitation.contact.language or invitation.survey.language  # the page's words
        raise expired
    return invitation


def response_for(invitation: Invitation) -> Response | None:
    return db.session.scalar(select(Response).where(Response.invitation_id == invitation.id))


def score_number(raw: str | None) -> int | None:
    """The number a score link or form sends, in ASCII digits only: int() also reads '٥', '５',
    '+5' and '1_0', which no link of ours carries and which would each store a score."""
    if isinstance(raw, str):
        raw = raw.strip()
        if 0 < len(raw) <= 2 and raw.isascii() and raw.isdigit():
            return int(raw)
    return None


def parse_score(kind_code: str, raw: str | None) -> int:
    kind = get_kind(kind_code)
    refusal = Invalid(f"Please choose a score from {kind.low} to {kind.high}.")
    refusal.scale = (kind.low, kind.high)  # for the customer's page, in their language
    score = score_number(raw)
    if score not in kind.scores:
        raise refusal
    return score


def record_score(invitation: Invitation, raw_score: str | None, signals: int = 0) -> Response:
    """One click records the score at once, pending until a person shows themselves (the careful
    path of vocloop.responses.clicks, with the same rules); clicking again changes it until the
    comment is in."""
    if invitation.contact.unsubscribed_at is not None:
        raise Unsubscribed(UNSUBSCRIBED)
    score = parse_score(invitation.survey.kind, raw_score)
    response = response_for(invitation)
    if response is not None and response.completed_at is not None:
        raise Conflict(ALREADY_ANSWERED)
    now = utcnow()
    sent = max((t for t in (invitation.sent_at, invitation.reminded_at) if t is not None), default=None)
    if sent is not None and sent >= now - timedelta(seconds=scanners.DELIVERY_SECONDS):
        signals |= scanners.AT_DELIVERY
    if invitation.head_at is not None and invitation.head_at >= now - timedelta(seconds=scanners.HEAD_SECONDS):
        signals |= scanners.HEAD_FIRST
    if response is None:
        response = Response(invitation_id=invitation.id, survey_id=invitation.survey_id,
                            contact_id=invitation.contact_id, score=score, answered_at=now, status=PENDING,
                            signals=signals)
        db.session.add(response)
        try:
            db.session.commit()
            return response
        except IntegrityError:  # a concurrent click created it first: update that one
            db.session.rollback()
            response = db.session.scalar(select(Response).where(Response.invitation_id == invitation.id)
                                         .with_for_update())
    if response.answered_at < now - timedelta(seconds=scanners.BURST_SECONDS):
        response.signals = signals
    else:
        response.signals = (response.signals or 0) | signals | (scanners.ALL_LINKS if response.score != score else 0)
    if not (response.status == COUNTED and response.score == score):
        response.status, response.counted_by, response.counted_at = PENDING, None, None
    response.score, response.answered_at = score, now
    db.session.commit()
    return response


def submit_comment(token: str, raw_score: str | None, comment: str | None,
                   followup: str | None = None) -> int:
    """The comment page's submit: completes the response (a job then classifies and routes it) and
    returns its id. The follow-up answer is kept with the question the page showed (that of the
    score recorded when the page was drawn), even if the customer then picked a score of another
    band. Two statements, each its own transaction: read the answer so far, then complete it unless
    another request completed it first."""
    comment, followup = clean_comment(comment), clean_comment(followup)
    token_hash = link_hash(token)
    invitations, responses, surveys = Invitation.__table__, Response.__table__, Survey.__table__
    contacts = Contact.__table__
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        found = connection.execute(
            select(invitations.c.expires_at, surveys.c.kind, surveys.c.followups, surveys.c.language,
                   contacts.c.language.label("contact_language"), responses.c.id, responses.c.score,
                   responses.c.completed_at, contacts.c.unsubscribed_at)
            .join(surveys, surveys.c.id == invitations.c.survey_id)
            .join(contacts, contacts.c.id == invitations.c.contact_id)
            .outerjoin(responses, responses.c.invitation_id == invitations.c.id)
            .where(behind_link(token_hash))
        ).first()
        if found is None:
            raise NotFound(LINK_NOT_VALID)
        if found.expires_at <= utcnow():
            raise Gone(LINK_EXPIRED)
        if found.unsubscribed_at is not None:
            raise Unsubscribed(UNSUBSCRIBED)
        if found.completed_at is not None:
            raise Conflict(ALREADY_ANSWERED)
        response_id, recorded = found.id, found.score
        if response_id is None:  # the form sent without a click first: the score is recorded here
            invitation = find_invitation(token)
            response = record_score(invitation, raw_score)
            response_id, recorded = response.id, response.score
        asked = followups(found, reading_language(found.contact_language, found.language))
        shown = followup_for(found.kind, asked, recorded)
        values = {"comment": comment or None, "completed_at": utcnow()}
        if raw_score not in (None, ""):
            score = parse_score(found.kind, raw_score)
            if score != recorded:
                values.update(score=score, answered_at=values["completed_at"])
                recorded = score
        question = shown or followup_for(found.kind, asked, recorded)
        values.update(followup_question=question if question and followup else None,
                      followup_answer=followup if question and followup else None)
    with db.engine.begin() as transaction:  # complete it and count it (a person sent the form): one transaction
        completed = transaction.execute(
            update(responses).where(responses.c.id == response_id, responses.c.completed_at.is_(None))
            .values(values).returning(responses.c.contact_id)).first()
        if completed is not None and not count_answer(transaction, response_id, BY_COMMENT,
                                                      now=values["completed_at"]):
            next_answer.refresh(transaction, [completed.contact_id])  # it counted already: its score may be new
    if completed is None:  # a second tab sent the form a moment before this one
        raise Conflict(ALREADY_ANSWERED)
    return response_id


def person_was_here(token: str, raw_score: str | None, by: str) -> None:
    """The answer page's "yes, that is my answer" or its beacon after real input: count the answer,
    if the score the page showed is still the one recorded (a later click of another score is
    judged on its own)."""
    invitation = find_invitation(token)
    score = parse_score(invitation.survey.kind, raw_score)
    response = response_for(invitation)
    if response is not None and response.completed_at is None and response.status != COUNTED:
        count_answer(db.session, response.id, by, score=score)
        db.session.commit()


def clean_comment(comment: str | None) -> str:
    comment = without_control_characters(normalized_lines(comment)).strip()  # a line break counts once
    if len(comment) > MAX_COMMENT_CHARS:
        raise Invalid(f"Please keep your comment under {MAX_COMMENT_CHARS} characters.")
    return comment


def complete_stale_responses(limit: int = 1000) -> list[int]:
    """Counted scores whose comment never came: complete them after the grace period so they get
    handled (a pending or suspected one never is: it opens no item)."""
    cutoff = utcnow() - timedelta(minutes=current_app.config["COMMENT_GRACE_MINUTES"])
    ids = list(db.session.scalars(select(Response.id).where(
        Response.completed_at.is_(None), Response.answered_at <= cutoff, counts()).limit(limit)))
    if ids:
        db.session.execute(update(Response).where(Response.id.in_(ids), Response.completed_at.is_(None), counts())
                           .values(completed_at=utcnow()).execution_options(synchronize_session=False))
        db.session.commit()
    return ids


def unprocessed_response_ids(older_than_seconds: int = 60, limit: int = 1000) -> list[int]:
    """Completed responses whose classification or routing job never finished (lost or failed)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(db.session.scalars(select(Response.id).where(
        Response.processed_at.is_(None), Response.completed_at.is_not(None),
        Response.completed_at <= cutoff).order_by(Response.id).limit(limit)))
