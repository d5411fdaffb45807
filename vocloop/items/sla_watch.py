"""The SLA watch (a periodic job): warn owners before a deadline, record breaches, escalate. Items
waiting on the customer are skipped: their clock is paused.

Each step claims its flag with a conditional UPDATE first, so two clocks or a retried job never
warn, record or escalate twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from vocloop.accounts.models import Team, User
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.notifications import notify_owner_of, notify_user
from vocloop.outbound import service as webhooks

# Warn when this share of the time to the closing-message deadline has passed.
WARN_AT_SHARE = 0.75
BATCH = 500


def watch_sla(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts = {"warned": 0, "first_action_missed": 0, "breached": 0, "escalated": 0}
    open_items = select(FeedbackItem).where(*_clock_running())

    for item in db.session.scalars(select(FeedbackItem).where(FeedbackItem.id.in_(_due_for_warning(now)))
                                   .order_by(FeedbackItem.id)):
        if _claim(item, "sla_warned_at", now):
            left = item.close_due_at - now
            _record(item, "sla_warning", f"Closing message due in {_duration(left)}.")
            notify_owner_of(item, key=f"notice:sla-warning:{_clock(item)}",
                            subject=f"Item #{item.id}: closing message due in {_duration(left)}",
                            lines=[f"{item.contact.name or item.contact.email} is waiting for an answer; "
                                   f"the closing message is due {item.close_due_at:%Y-%m-%d %H:%M} UTC."])
            counts["warned"] += 1

    for item in db.session.scalars(open_items.where(
            FeedbackItem.first_action_at.is_(None), FeedbackItem.first_action_breached_at.is_(None),
            FeedbackItem.first_action_due_at < now).limit(BATCH)):
        if _claim(item, "first_action_breached_at", now):
            _record(item, "sla_first_action_missed", "No first action before its due time.")
            counts["first_action_missed"] += 1

    for item in db.session.scalars(open_items.where(
            FeedbackItem.sla_breached_at.is_(None), FeedbackItem.close_due_at < now).limit(BATCH)):
        if not _claim(item, "sla_breached_at", now):
            continue
        db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item.id)  # kept across reopens
                           .values(first_breached_at=func.coalesce(FeedbackItem.first_breached_at, now))
                           .execution_options(synchronize_session=False))
        item.first_breached_at = item.first_breached_at or now
        _record(item, "sla_breached", f"Closing message overdue since {item.close_due_at:%Y-%m-%d %H:%M} UTC.")
        webhooks.emit("sla.breached", webhooks.item_data(item))
        notify_owner_of(item, key=f"notice:sla-breached:{_clock(item)}",
                        subject=f"Item #{item.id} is past its SLA",
                        lines=["The closing message to the customer is overdue. Send it, or hand the item over."])
        counts["breached"] += 1
        leads = leads_of(item)
        if leads and _claim(item, "escalated_at", now):
            for lead in leads:
                _record(item, "escalated", f"Escalated to {lead.name}, lead of the owner's team.")
                notify_user(lead, item, key=f"notice:escalated:{_clock(item)}:{lead.id}",
                            subject=f"Escalation: item #{item.id} ({item.owner.name}) is past its SLA",
                            lines=[f"{item.owner.name} has not sent the closing message that was due "
                                   f"{item.close_due_at:%Y-%m-%d %H:%M} UTC."])
            counts["escalated"] += 1
    db.session.commit()
    return counts


def _clock_running() -> tuple:
    """Open items whose clock runs: one waiting on the customer is left alone (items/sla_clock.py)."""
    return FeedbackItem.status != "closed", FeedbackItem.sla_paused_at.is_(None)


def _due_for_warning(now: datetime) -> list[int]:
    """Items past WARN_AT_SHARE of their time to the closing-message deadline and not yet warned, the
    most urgent first, at most BATCH. Every unwarned open item is looked at (four columns each): the
    share is worked out here, so an install with thousands of young items still warns the old ones."""
    rows = db.session.execute(select(FeedbackItem.id, FeedbackItem.sla_started_at, FeedbackItem.created_at,
                                     FeedbackItem.close_due_at).where(
        *_clock_running(), FeedbackItem.sla_warned_at.is_(None), FeedbackItem.close_due_at > now))
    due = []
    for item_id, sla_started_at, created_at, close_due_at in rows:
        started = sla_started_at or created_at  # a reopened item's clock started at the reopen
        window = (close_due_at - started).total_seconds()
        if window > 0 and (now - started).total_seconds() >= WARN_AT_SHARE * window:
            due.append((close_due_at, item_id))
    return [item_id for _, item_id in sorted(due)[:BATCH]]


def leads_of(item: FeedbackItem) -> list[User]:
    """Who to escalate to: the lead of the item's team, else the leads of the owner's teams."""
    team_ids = [item.team_id] if item.team_id else [team.id for team in item.owner.teams]
    leads = db.session.scalars(select(User).join(Team, Team.lead_id == User.id)
                               .where(Team.id.in_(team_ids), User.active.is_(True), User.id != item.owner_id))
    return list({lead.id: lead for lead in leads}.values())


def _clock(item: FeedbackItem) -> str:
    """The notices' key part: one per item and SLA clock (a reopen starts a new one, which warns anew)."""
    return f"{item.id}:{item.reopen_count}" if item.reopen_count else str(item.id)


def _claim(item: FeedbackItem, flag: str, now: datetime) -> bool:
    column = getattr(FeedbackItem, flag)
    claimed = db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item.id, column.is_(None))
                                 .values({flag: now}).execution_options(synchronize_session=False)).rowcount == 1
    if claimed:
        setattr(item, flag, now)
    return claimed


def _record(item: FeedbackItem, kind: str, body: str) -> None:
    db.session.add(ItemEvent(item_id=item.id, kind=kind, body=body))


def _duration(delta) -> str:
    """How long until a deadline, in the warning's words: whole hours from two hours, else minutes."""
    hours = delta.total_seconds() / 3600
    if hours >= 2:
        return f"{hours:.0f} hours"
    minutes = max(1, round(hours * 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
