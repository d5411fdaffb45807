"""Which answers count: the one definition that metrics, items, reminders and the API use.

An answer counts once a person gave it. A one-click score starts `pending`; it counts at once when
the person shows themselves on the page (a comment or follow-up, "yes, that is my answer", or the
page's beacon after a real key press, touch or pointer movement), and otherwise when the sweep finds
it ANSWER_SETTLE_SECONDS old: `counted` if its fetches showed no sign of a mail scanner, `suspected`
if they did (vocloop.responses.scanners). A suspected answer counts nowhere and blocks nothing: the
person's own later click replaces it, and an admin can count it by hand.

Every change of status is one conditional UPDATE (status and score re-checked in its WHERE), so a
sweep deciding while a comment arrives, or a scanner fetching while the person clicks, can neither
lose an answer nor count one twice. The invitation's answered_at is stamped in the same transaction
as the count: it suppresses the reminder and makes the response rate.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from vocloop.db import utcnow
from vocloop.errors import Conflict, NotFound
from vocloop.extensions import db
from vocloop.items import next_answer
from vocloop.responses.models import Response
from vocloop.responses.scanners import NO_INTERACTION, describe, reason
from vocloop.surveys.models import Invitation

PENDING, COUNTED, SUSPECTED = "pending", "counted", "suspected"
STATUSES = (COUNTED, PENDING, SUSPECTED)
# Why an answer counts (Response.counted_by).
BY_COMMENT, BY_CONFIRMATION, BY_INTERACTION, BY_SETTLING, BY_ADMIN = \
    "comment", "confirmed", "interaction", "settled", "admin"


def counts(response=Response):
    """THE definition: the answers any metric, list or export counts (a table or alias of responses)."""
    return response.status == COUNTED


def count_answer(connection, response_id: int, by: str, score: int | None = None, now=None) -> bool:
    """A person gave this answer: count it (with `score`, only while that is still its score). Runs on
    the caller's connection or session, inside its transaction; True if this call counted it."""
    now = now or utcnow()
    responses, invitations = Response.__table__, Invitation.__table__
    where = [responses.c.id == response_id, responses.c.status != COUNTED]
    if score is not None:
        where.append(responses.c.score == score)
    counted = connection.execute(update(responses).where(*where)
                                 .values(status=COUNTED, counted_by=by, counted_at=now)
                                 .returning(responses.c.invitation_id, responses.c.contact_id)).first()
    if counted is None:
        return False
    connection.execute(update(invitations).where(invitations.c.id == counted.invitation_id,
                                                 invitations.c.answered_at.is_(None)).values(answered_at=now))
    next_answer.refresh(connection, [counted.contact_id])  # it may be the next answer after an item
    return True


def settle_answers(limit: int = 5000) -> dict[str, int]:
    """The sweep: pending answers past the settle window count, or are suspected if a signal showed."""
    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["ANSWER_SETTLE_SECONDS"])
    settled = {COUNTED: 0, SUSPECTED: 0}
    ids = list(db.session.scalars(select(Response.id).where(Response.status == PENDING, Response.answered_at <= cutoff)
                                  .order_by(Response.answered_at).limit(limit)))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        unsettled = (Response.id.in_(chunk), Response.status == PENDING, Response.answered_at <= cutoff)
        clean = db.session.execute(update(Response).where(*unsettled, Response.signals == 0)
                                   .values(status=COUNTED, counted_by=BY_SETTLING, counted_at=now)
                                   .returning(Response.invitation_id, Response.contact_id)
                                   .execution_options(synchronize_session=False)).all()
        invitation_ids = [row.invitation_id for row in clean]
        if invitation_ids:
            db.session.execute(update(Invitation).where(Invitation.id.in_(invitation_ids),
                                                        Invitation.answered_at.is_(None))
                               .values(answered_at=now).execution_options(synchronize_session=False))
        suspected = db.session.execute(update(Response).where(*unsettled, Response.signals != 0)
                                       .values(status=SUSPECTED, signals=Response.signals.op("|")(NO_INTERACTION))
                                       .returning(Response.contact_id)
                                       .execution_options(synchronize_session=False)).all()
        # a counted answer may now be someone's next answer; a suspected one (a click that replaced a
        # counted answer) may no longer be
        next_answer.refresh(db.session, [row.contact_id for row in clean] + [row.contact_id for row in suspected])
        db.session.commit()
        settled[COUNTED] += len(invitation_ids)
        settled[SUSPECTED] += len(suspected)
    return settled


def count_by_hand(response: Response, user) -> int:
    """An admin counts a suspected (or pending) answer: it is complete from now (the person had their
    chance to comment) and the caller enqueues its triage; the item it opens names the admin on its
    timeline. Returns the response id to triage."""
    if response.status == COUNTED:
        raise Conflict("This answer already counts.")
    now = utcnow()
    if not count_answer(db.session, response.id, BY_ADMIN, now=now):
        raise Conflict("This answer changed meanwhile; look again.")
    db.session.execute(update(Response).where(Response.id == response.id).values(
        counted_by_user_id=user.id, completed_at=func.coalesce(Response.completed_at, now), processed_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(response)
    return response.id


def status_of(response: Response) -> dict:
    """The answer's status and the reason for it, as the API and the survey page show them."""
    signals = describe(response.signals or 0)
    if response.status == COUNTED and response.counted_by == BY_ADMIN:
        admin = response.counted_by_user
        why = f"counted by hand by {admin.name or admin.email if admin else 'an admin'}"
    elif response.status == COUNTED:
        why = {BY_COMMENT: "the customer wrote a comment", BY_CONFIRMATION: "the customer confirmed the score",
               BY_INTERACTION: "the customer used the answer page",
               BY_SETTLING: "no sign of a mail scanner within the settle window"}.get(
            response.counted_by, "recorded before answers were checked for scanners")
    elif response.status == SUSPECTED:
        why = "looks like a mail scanner: " + reason(response.signals)
    else:
        why = "waiting out the settle window" + (f" (signals: {reason(response.signals)})" if response.signals else "")
    return {"status": response.status, "status_reason": why, "signals": signals, "counted_by": response.counted_by}


def uncounted(survey_id: int, limit: int = 50) -> list[Response]:
    """A survey's latest pending and suspected answers, for its page."""
    return list(db.session.scalars(select(Response).where(Response.survey_id == survey_id, ~counts())
                                   .order_by(Response.answered_at.desc()).limit(limit)))


def find(response_id: int) -> Response:
    response = db.session.get(Response, response_id)
    if response is None:
        raise NotFound("No such answer.")
    return response
