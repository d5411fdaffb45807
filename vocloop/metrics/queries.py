"""Closure metrics, each defined once and computed in SQL (promise 6).

loop-closure rate = loop-closed items / items opened, for the cohort of items opened in [start, end).
closed within SLA = items loop-closed at or before their close_due_at / items opened (same cohort).
verified-closure rate = items whose customer answered "yes, resolved" / items opened (same cohort).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from vocloop.accounts.models import Team, User
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response
from vocloop.surveys.models import Survey

GROUPS = {
    "owner": (FeedbackItem.owner_id, User.name, User, FeedbackItem.owner_id == User.id),
    "team": (FeedbackItem.team_id, Team.name, Team, FeedbackItem.team_id == Team.id),
    "survey": (FeedbackItem.survey_id, Survey.name, Survey, FeedbackItem.survey_id == Survey.id),
    "sentiment": (Response.sentiment_label, Response.sentiment_label, None, None),
}


def _rate(numerator, denominator):
    return None if not denominator else round(numerator / denominator, 4)


def closure(start: datetime, end: datetime, group_by: str | None = None, scope=None) -> dict:
    """opened, loop_closed, closure_rate, closed_within_sla_rate and verified_closure_rate, overall and
    per group; `scope` is an extra WHERE clause (a lead's teams), None for everything."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    loop_closed = func.count(FeedbackItem.loop_closed_at)
    within_sla = func.sum(case((FeedbackItem.loop_closed_at <= FeedbackItem.close_due_at, 1), else_=0))
    verified = func.sum(case((FeedbackItem.customer_verdict == "resolved", 1), else_=0))
    cohort = (FeedbackItem.created_at >= start, FeedbackItem.created_at < end) + (() if scope is None else (scope,))
    base = (select(func.count(FeedbackItem.id), loop_closed, within_sla, verified)
            .join(Response, FeedbackItem.response_id == Response.id).where(*cohort))
    opened, closed, in_sla, resolved = db.session.execute(base).one()
    result = {"from": start.isoformat(), "to": end.isoformat(), "opened": opened, "loop_closed": closed,
              "closure_rate": _rate(closed, opened), "closed_within_sla_rate": _rate(in_sla or 0, opened),
              "verified_resolved": resolved or 0, "verified_closure_rate": _rate(resolved or 0, opened)}
    if group_by:
        key, label, table, on = GROUPS[group_by]
        query = base.add_columns(key, label)  # row: opened, loop_closed, within_sla, verified, key, label
        if table is not None:
            query = query.outerjoin(table, on)
        rows = db.session.execute(query.group_by(key, label).order_by(key)).all()
        result["group_by"] = group_by
        result["groups"] = [
            {"key": row[4], "label": row[5], "opened": row[0], "loop_closed": row[1],
             "closure_rate": _rate(row[1], row[0]), "closed_within_sla_rate": _rate(row[2] or 0, row[0]),
             "verified_closure_rate": _rate(row[3] or 0, row[0])}
            for row in rows
        ]
    return result
