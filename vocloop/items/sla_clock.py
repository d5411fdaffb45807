"""An item's SLA clock: it stops while the item waits on the customer, and starts afresh on a reopen.

Decided in issue #23, as help desks do: the status "waiting" is the owner saying the next move is
the customer's, so neither deadline runs against the owner meanwhile. `sla_paused_at` says since
when. When the item leaves "waiting" (the customer replies, its owner moves it on or closes it),
both due times move later by the time waited, counted in the SLA's own clock: working time on a
business-hours policy (a weekend spent waiting moves a Monday-to-Friday deadline by nothing),
calendar time otherwise. While paused, the due times stay those of the moment it paused: the SLA
watch leaves the item alone, and it counts as overdue only if it already was when it paused
(`overdue`). Each pause and resume is on the item's timeline. A hand-over does not touch the clock.

A reopen (the customer replies to a closed item or says "not resolved") is a new request: the item
gets fresh first-action and closing-message due times from that moment, per its priority's policy,
and the current clock's flags (warned, first action missed, breached, escalated) are cleared so the
watch can warn and record again. What happened before stays: the timeline keeps the earlier breach
(and the reopen entry names it), `first_breached_at` keeps its first time for the metrics, and
"closed within SLA" was fixed when the loop closed (`loop_closed_in_sla`). The times to first
action and to close stay those of the first time (metrics measure from creation); `first_action_at`
becomes the new clock's. A closing message that bounces is not a reopen: the customer never got an
answer, so the deadline they were promised still stands.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_

from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.routing import sla

PAUSING_STATUS = "waiting"


def overdue(now: datetime):
    """SQL: past the closing-message due time on the item's own clock (a paused clock reads the
    moment it paused). `close_due_at < now` comes first, so the due-time indexes still serve it."""
    return and_(FeedbackItem.close_due_at < now,
                or_(FeedbackItem.sla_paused_at.is_(None), FeedbackItem.close_due_at < FeedbackItem.sla_paused_at))


def pause(item: FeedbackItem, when: datetime, actor_id: int | None = None) -> None:
    if item.sla_paused_at is None:
        item.sla_paused_at = when
        db.session.add(ItemEvent(item_id=item.id, kind="sla_paused", actor_id=actor_id,
                                 body="SLA paused while waiting on the customer.", data={"at": when.isoformat()}))


def resume(item: FeedbackItem, when: datetime, actor_id: int | None = None) -> None:
    """Start the clock again, with both due times later by the time waited (in the SLA's clock)."""
    paused_at = item.sla_paused_at
    if paused_at is None:
        return
    waited_hours, business = sla.time_waited(item.priority, paused_at, when)
    if item.first_action_at is None:
        item.first_action_due_at = sla.later_by(item.priority, item.first_action_due_at, waited_hours)
    item.close_due_at = sla.later_by(item.priority, item.close_due_at, waited_hours)
    item.sla_paused_at = None
    clock = "working hours" if business else "hours"
    db.session.add(ItemEvent(
        item_id=item.id, kind="sla_resumed", actor_id=actor_id,
        body=f"SLA resumed after {_hours(waited_hours)} {clock} waiting on the customer; the closing message "
             f"is now due {item.close_due_at:%Y-%m-%d %H:%M} UTC.",
        data={"paused_at": paused_at.isoformat(), "waited_hours": round(waited_hours, 4),
              "clock": "business" if business else "calendar", "close_due_at": item.close_due_at.isoformat(),
              "first_action_due_at": item.first_action_due_at.isoformat()}))


def _hours(hours: float) -> str:
    return f"{hours:.1f}" if hours < 10 else f"{hours:.0f}"


def restart(item: FeedbackItem, when: datetime) -> dict:
    """A new clock from `when` for a reopened item; returns the old clock's due times and breaches."""
    earlier = {name: value.isoformat() for name in ("first_action_due_at", "close_due_at", "first_action_breached_at",
                                                    "sla_breached_at", "escalated_at")
               if (value := getattr(item, name)) is not None}
    item.first_action_due_at, item.close_due_at = sla.due_times(item.priority, when)
    item.sla_started_at, item.sla_paused_at, item.first_action_at = when, None, None
    item.sla_warned_at = item.first_action_breached_at = item.sla_breached_at = item.escalated_at = None
    return earlier
