"""Closure metrics, each defined once and computed in SQL (promise 6).

loop-closure rate = loop-closed items / items opened, for the cohort of items opened in [start, end).
closed within SLA = items loop-closed at or before their close_due_at / items opened (same cohort).
verified-closure rate = items whose customer answered "yes, resolved" / items opened (same cohort).
time to close = seconds from an item's creation to its loop closure (closing message accepted), for the
  loop-closed items of the cohort; median = the ⌈n/2⌉-th smallest, p90 = the ⌈0.9·n⌉-th smallest
  (nearest rank: always a time some item really took, and the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, literal, select, true

from vocloop.accounts.models import Team, User
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.metrics.sql import seconds_between, topic_values, week_start
from vocloop.responses.models import Response
from vocloop.surveys.models import Survey

GROUPS = {
    "owner": (FeedbackItem.owner_id, User.name, User, FeedbackItem.owner_id == User.id),
    "team": (FeedbackItem.team_id, Team.name, Team, FeedbackItem.team_id == Team.id),
    "survey": (FeedbackItem.survey_id, Survey.name, Survey, FeedbackItem.survey_id == Survey.id),
    "sentiment": (Response.sentiment_label, Response.sentiment_label, None, None),
    "week": (None, None, None, None),  # the week the items were opened; built per query below
    "topic": (None, None, None, None),  # each topic of the answer (an item counts under each of its topics)
}


def _rate(numerator, denominator):
    return None if not denominator else round(numerator / denominator, 4)


def closure(start: datetime, end: datetime, group_by: str | None = None, scope=None) -> dict:
    """opened, loop_closed, closure_rate, closed_within_sla_rate, verified_closure_rate and the median
    and p90 time to close, overall and per group; `scope` is an extra WHERE clause (a lead's teams)."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    cohort = (FeedbackItem.created_at >= start, FeedbackItem.created_at < end) + (() if scope is None else (scope,))
    result = {"from": start.isoformat(), "to": end.isoformat(), **_figures(cohort, None)[None]}
    if group_by:
        figures = _figures(cohort, group_by)
        result["group_by"] = group_by
        result["groups"] = [{"key": key, **values} for key, values in figures.items()]
    return result


def _grouped(query, group_by: str | None):
    """The query with the group's key and label columns (and the joins they need) added."""
    if group_by is None:
        return query.add_columns(literal(None).label("key"), literal(None).label("label")), None
    if group_by == "week":
        week = week_start(FeedbackItem.created_at)
        return query.add_columns(week.label("key"), week.label("label")), week
    if group_by == "topic":
        topics = topic_values(Response.topics, db.session.get_bind().dialect.name)
        return query.join(topics, true()).add_columns(topics.c.value.label("key"), topics.c.value.label("label")), \
            topics.c.value
    key, label, table, on = GROUPS[group_by]
    if table is not None:
        query = query.outerjoin(table, on)
    return query.add_columns(key.label("key"), label.label("label")), key


def _figures(cohort: tuple, group_by: str | None) -> dict:
    """Counts and rates per group key (None when not grouped), plus times to close."""
    loop_closed = func.count(FeedbackItem.loop_closed_at)
    within_sla = func.sum(case((FeedbackItem.loop_closed_at <= FeedbackItem.close_due_at, 1), else_=0))
    verified = func.sum(case((FeedbackItem.customer_verdict == "resolved", 1), else_=0))
    base = (select(func.count(FeedbackItem.id), loop_closed, within_sla, verified)
            .select_from(FeedbackItem).join(Response, FeedbackItem.response_id == Response.id).where(*cohort))
    query, key = _grouped(base, group_by)
    if key is not None:
        query = query.group_by(*[column for column in query.selected_columns][4:]).order_by(key)
    figures = {}
    for opened, closed, in_sla, resolved, group_key, label in db.session.execute(query):
        figures[group_key] = {
            **({"label": label} if group_by else {}), "opened": opened, "loop_closed": closed,
            "closure_rate": _rate(closed, opened), "closed_within_sla_rate": _rate(in_sla or 0, opened),
            "verified_resolved": resolved or 0, "verified_closure_rate": _rate(resolved or 0, opened),
            "median_time_to_close_s": None, "p90_time_to_close_s": None}
    for group_key, median, p90 in _times_to_close(cohort, group_by):
        if group_key in figures:
            figures[group_key].update(median_time_to_close_s=median, p90_time_to_close_s=p90)
    return figures


def _times_to_close(cohort: tuple, group_by: str | None):
    """(key, median, p90) of seconds to loop closure, by nearest rank, with window functions."""
    seconds = seconds_between(FeedbackItem.loop_closed_at, FeedbackItem.created_at)
    inner, _ = _grouped(select(seconds.label("s")).select_from(FeedbackItem)
                        .join(Response, FeedbackItem.response_id == Response.id)
                        .where(*cohort, FeedbackItem.loop_closed_at.is_not(None)), group_by)
    inner = inner.subquery()
    ranked = select(inner.c.key, inner.c.s,
                    func.row_number().over(partition_by=inner.c.key, order_by=inner.c.s).label("rn"),
                    func.count().over(partition_by=inner.c.key).label("n")).subquery()
    return db.session.execute(select(
        ranked.c.key,
        func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.s))),
        func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.s))),
    ).group_by(ranked.c.key)).all()
