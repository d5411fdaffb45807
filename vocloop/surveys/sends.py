"""Sending a survey to an audience now, later, or again every N days (a relationship NPS each quarter:
run it every 90 days, or more often, and the survey's quarantine keeps each contact to one
invitation per period). The clock runs due sends; the database says what is due, so nothing is
lost while Redis or a worker is down, and a run that died is taken over once its lease ends."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from vocloop.accounts.models import User
from vocloop.db import utcnow
from vocloop.errors import Conflict, Invalid
from vocloop.extensions import db
from vocloop.surveys import audience as audiences
from vocloop.surveys import service
from vocloop.surveys.models import Survey, SurveySend

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
CHUNK = 5000


def schedule_send(user: User | None, survey: Survey, audience: dict, run_at: datetime | None = None,
                  repeat_days: int | None = None) -> SurveySend:
    if not survey.active:
        raise Invalid("This survey is not active.")
    now = utcnow()
    if run_at is not None and run_at.tzinfo is None:
        raise Invalid("The time of a send needs its time zone.")
    if run_at is not None and not now - timedelta(minutes=5) <= run_at <= now + timedelta(days=366):
        raise Invalid("A send can be scheduled up to a year ahead, not in the past.")
    if repeat_days is not None and not 1 <= repeat_days <= 366:
        raise Invalid("A send repeats every 1 to 366 days.")
    send = SurveySend(survey_id=survey.id, audience=audiences.checked_audience(audience), run_at=run_at or now,
                      repeat_days=repeat_days, created_by_id=user.id if user else None)
    db.session.add(send)
    db.session.commit()
    return send


def cancel_send(send: SurveySend) -> None:
    if send.status not in ("scheduled", "running"):
        raise Conflict("This send is over already.")
    send.status = "cancelled"
    db.session.commit()


def due_send_ids(now: datetime) -> list[int]:
    return list(db.session.scalars(select(SurveySend.id).where(or_(
        (SurveySend.status == "scheduled") & (SurveySend.run_at <= now),
        (SurveySend.status == "running") & (SurveySend.leased_until < now))).order_by(SurveySend.run_at)))


def _claim(send_id: int, now: datetime) -> bool:
    claimed = db.session.execute(update(SurveySend).where(SurveySend.id == send_id, or_(
        (SurveySend.status == "scheduled") & (SurveySend.run_at <= now),
        (SurveySend.status == "running") & (SurveySend.leased_until < now)))
        .values(status="running", leased_until=now + LEASE).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def run_send(send_id: int, now: datetime | None = None) -> dict | None:
    """One run: the audience as it is now, through the fatigue rules, in chunks (each its own
    transaction). A run taken over after a crash skips whom it already invited. The caller relays
    the queued mail (enqueue_queued_work) afterwards."""
    now = now or utcnow()
    if not _claim(send_id, now):
        return None
    send = db.session.get(SurveySend, send_id)
    survey = send.survey
    run_started = send.run_at  # this run's invitations are all created after its scheduled time
    invited, skipped = 0, {}
    if survey.active:
        ids = audiences.contact_ids(send.audience)
        for start in range(0, len(ids), CHUNK):
            outcome = service.send_invitations(survey, ids[start:start + CHUNK], send_run=(send.id, run_started))
            invited += len(outcome.invitations)
            for _, reason in outcome.skipped:
                key = service.reason_key(reason)
                skipped[key] = skipped.get(key, 0) + 1
            db.session.execute(update(SurveySend).where(SurveySend.id == send.id)
                               .values(leased_until=utcnow() + LEASE).execution_options(synchronize_session=False))
            db.session.commit()
    db.session.refresh(send)
    send.runs += 1
    send.invited += invited
    send.skipped = {key: (send.skipped or {}).get(key, 0) + skipped.get(key, 0)
                    for key in set(send.skipped or {}) | set(skipped)}
    send.last_run_at, send.leased_until = run_started, None
    if send.status == "running":  # not cancelled meanwhile
        if send.repeat_days and survey.active:
            send.status, send.run_at = "scheduled", _next_run(send.run_at, send.repeat_days, now)
        else:
            send.status = "done"
    db.session.commit()
    log.info("survey send %s ran: %s invited, skipped %s", send.id, invited, skipped)
    return {"invited": invited, "skipped": skipped}


def _next_run(previous: datetime, repeat_days: int, now: datetime) -> datetime:
    """The next date on the send's own rhythm, after now (a clock that was down skips, not bunches)."""
    step = timedelta(days=repeat_days)
    following = previous + step
    while following <= now:
        following += step
    return following

