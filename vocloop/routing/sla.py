"""SLA policies and the business calendar: reading, editing, and computing due times."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.routing.calendar import BusinessCalendar, add_business_hours, business_seconds_between, due_at
from vocloop.routing.models import BusinessCalendarRow, SlaPolicy
from vocloop.values import PRIORITIES


def business_calendar() -> BusinessCalendar:
    row = db.session.scalar(select(BusinessCalendarRow).order_by(BusinessCalendarRow.id).limit(1))
    if row is None:
        return BusinessCalendar()
    return BusinessCalendar(timezone=row.timezone, workdays=tuple(row.workdays), start=time.fromisoformat(row.start),
                            end=time.fromisoformat(row.end),
                            holidays=frozenset(date.fromisoformat(day) for day in row.holidays))


def policies() -> dict[str, SlaPolicy]:
    return {policy.priority: policy for policy in db.session.scalars(select(SlaPolicy))}


def due_times(priority: str, start: datetime) -> tuple[datetime, datetime]:
    """(first action due, closing message due) for an item of this priority opened at start."""
    policy = policies().get(priority)
    if policy is None:  # a database without the seeded rows: the SLA_HOURS setting
        first, close = current_app.config["SLA_HOURS"][priority]
        return due_at(start, first, False, BusinessCalendar()), due_at(start, close, False, BusinessCalendar())
    calendar = business_calendar() if policy.business_hours else BusinessCalendar()
    return (due_at(start, policy.first_action_hours, policy.business_hours, calendar),
            due_at(start, policy.close_hours, policy.business_hours, calendar))


def _clock(priority: str) -> tuple[bool, BusinessCalendar]:
    """(business hours?, calendar) of this priority's policy; calendar time without a policy row."""
    policy = policies().get(priority)
    if policy is None or not policy.business_hours:
        return False, BusinessCalendar()
    return True, business_calendar()


def time_waited(priority: str, start: datetime, end: datetime) -> tuple[float, bool]:
    """(hours, business hours?) from start to end on this priority's SLA clock: working hours on a
    business-hours policy, calendar hours otherwise."""
    business, calendar = _clock(priority)
    if business:
        return business_seconds_between(start, end, calendar) / 3600, True
    return max(0.0, (end - start).total_seconds() / 3600), False


def later_by(priority: str, due: datetime, hours: float) -> datetime:
    """A due time moved later by hours on this priority's SLA clock (time spent waiting)."""
    if hours <= 0:  # a due time at the end of a working day must not jump to the next morning
        return due
    business, calendar = _clock(priority)
    return add_business_hours(due, hours, calendar) if business else due + timedelta(hours=hours)


def ensure_defaults() -> None:
    """The policies (from SLA_HOURS, calendar time) and calendar a new database starts with, where
    missing; the first migration inserts the same rows."""
    existing = policies()
    for priority in PRIORITIES:
        if priority not in existing:
            first, close = current_app.config["SLA_HOURS"][priority]
            db.session.add(SlaPolicy(priority=priority, first_action_hours=first, close_hours=close,
                                     business_hours=False))
    if db.session.scalar(select(BusinessCalendarRow.id).limit(1)) is None:
        db.session.add(BusinessCalendarRow(timezone="UTC", workdays=[0, 1, 2, 3, 4], start="09:00", end="17:00",
                                           holidays=[]))
    db.session.commit()


def update_policy(priority: str, *, first_action_hours: float, close_hours: float, business_hours: bool) -> SlaPolicy:
    if priority not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}")
    if not 0 < first_action_hours <= close_hours <= 24 * 365:
        raise Invalid("hours must satisfy 0 < first_action_hours <= close_hours <= 8760")
    policy = policies().get(priority) or SlaPolicy(priority=priority)
    policy.first_action_hours, policy.close_hours = first_action_hours, close_hours
    policy.business_hours = business_hours
    db.session.add(policy)
    db.session.commit()
    return policy


def update_calendar(*, timezone: str, workdays: list[int], start: str, end: str,
                    holidays: list[str]) -> BusinessCalendarRow:
    """Checked by building the calendar first: a bad zone, day or hour is refused before saving."""
    try:
        BusinessCalendar(timezone=timezone, workdays=tuple(workdays), start=time.fromisoformat(start),
                         end=time.fromisoformat(end), holidays=frozenset(date.fromisoformat(d) for d in holidays))
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise Invalid(f"not a usable calendar: {exc}") from None
    row = db.session.scalar(select(BusinessCalendarRow).order_by(BusinessCalendarRow.id).limit(1)) \
        or BusinessCalendarRow()
    row.timezone, row.workdays, row.start, row.end = timezone, sorted(set(workdays)), start, end
    row.holidays = sorted(set(holidays))
    db.session.add(row)
    db.session.commit()
    return row
