"""Closure metrics, each defined once and computed in SQL (promise 6).

The cohort of a period [start, end) is the items opened in it; every item figure below is over it.
(The page, its CSVs and the API name a period by its first and last day, both included: period.py.)

loop-closure rate = loop-closed items / items opened.
closed within SLA = items loop-closed at or before the closing-message due time then in force / items opened
  (fixed at loop closure as loop_closed_in_sla: a reopen's new due times do not rewrite it; time spent
  waiting on the customer had moved the due time later, items/sla_clock.py).
verified-closure rate = items whose customer answered "yes, resolved" / items opened.
reopen rate = loop-closed items that came back at least once (a reply, "not resolved") / loop-closed items.
time to first action = seconds from creation to the owner's first note, status change or message.
time to close = seconds from creation to loop closure (the closing message accepted by the provider).
  Both as median and p90 by nearest rank (the ⌈n/2⌉-th and ⌈0.9·n⌉-th smallest: always a time some
  item really took, and the same on SQLite and PostgreSQL), in calendar seconds and in working
  seconds on the business calendar (fixed on the item when the action or closure happened).
backlog = items open now; aged by time since creation (see AGE_BUCKETS); overdue = past close_due_at on the
  item's SLA clock (an item waiting on the customer has its clock paused: overdue only if it was when it paused).
response rate = invitations answered / invitations delivered (sent or delivered, or answered), for the
  invitations created in the period.
NPS = % promoters (9–10) − % detractors (0–6); CSAT = % of 4–5 answers; CES = mean score (1–7): over the
  responses answered in the period.
sentiment mix = responses answered in the period per sentiment label.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, cast, func, literal, select, true, tuple_

from vocloop.accounts.models import Team, User
from vocloop.contacts.models import Account, Contact
from vocloop.extensions import db
from vocloop.items import sla_clock
from vocloop.items.models import FeedbackItem
from vocloop.metrics.sql import nearest_ranks, period_key, period_start, topic_values, without_jit
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import Invitation, Survey, reached_customer
from vocloop.values import OPEN_STATUSES, share

# name -> (key column, label column, table to join, join condition)
GROUPS = {
    "owner": (FeedbackItem.owner_id, User.name, User, FeedbackItem.owner_id == User.id),
    "team": (FeedbackItem.team_id, Team.name, Team, FeedbackItem.team_id == Team.id),
    "survey": (FeedbackItem.survey_id, Survey.name, Survey, FeedbackItem.survey_id == Survey.id),
    "sentiment": (FeedbackItem.sentiment_label, FeedbackItem.sentiment_label, None, None),
    "priority": (FeedbackItem.priority, FeedbackItem.priority, None, None),
    "account": (Contact.account_id, Account.name, Account, Contact.account_id == Account.id),
    "topic": (None, None, None, None),  # each topic of the answer (an item counts under each of its topics)
    "day": (None, None, None, None),  # the day, week or month the items were opened
    "week": (None, None, None, None),
    "month": (None, None, None, None),
}
TIME_GROUPS = ("day", "week", "month")
MEASURES = {  # name -> seconds column; NULL where the item has no such time (yet)
    "time_to_first_action": FeedbackItem.seconds_to_first_action,
    "time_to_close": FeedbackItem.seconds_to_close,
    "business_time_to_first_action": FeedbackItem.business_seconds_to_first_action,
    "business_time_to_close": FeedbackItem.business_seconds_to_close,
}
AGE_BUCKETS = (("under_1_day", 1), ("1_to_3_days", 3), ("3_to_7_days", 7), ("7_to_14_days", 14),
               ("over_14_days", None))
CLOSE_TIME_BUCKETS = (("under 4 h", 4), ("4–24 h", 24), ("1–2 days", 48), ("2–4 days", 96), ("4–7 days", 168),
                      ("over 7 days", None))


FILTERS = ("owner_id", "team_id", "survey_id", "account_id", "priority", "sentiment", "topic")


def item_filter(*, owner_id: int | None = None, team_id: int | None = None, survey_id: int | None = None,
                account_id: int | None = None, priority: str | None = None, sentiment: str | None = None,
                topic: str | None = None):
    """A WHERE clause narrowing the items (every item figure) to these values; None when none is set."""
    conditions = []
    for column, value in ((FeedbackItem.owner_id, owner_id), (FeedbackItem.team_id, team_id),
                          (FeedbackItem.survey_id, survey_id), (FeedbackItem.priority, priority),
                          (FeedbackItem.sentiment_label, sentiment)):
        if value is not None:
            conditions.append(column == value)
    if account_id is not None:
        conditions.append(FeedbackItem.contact_id.in_(select(Contact.id).where(Contact.account_id == account_id)))
    if topic is not None:  # topics are a JSON list: its quoted form in the text, on both databases
        quoted = json.dumps(topic).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(cast(FeedbackItem.topics, String).like(f"%{quoted}%", escape="\\"))
    return and_(*conditions) if conditions else None


def narrowed(scope, filters):
    """The viewer's scope and the chosen filters together (either may be None)."""
    parts = [clause for clause in (scope, filters) if clause is not None]
    return and_(*parts) if parts else None


def cohort_of(start: datetime, end: datetime, scope=None) -> tuple:
    return (FeedbackItem.created_at >= start, FeedbackItem.created_at < end) + (() if scope is None else (scope,))


def closure(start: datetime, end: datetime, group_by: str | None = None, scope=None,
            measures: tuple[str, ...] | None = None, overall: bool = True) -> dict:
    """opened, loop_closed and the rates, times to first action and to close (calendar and business),
    overall and per group; `scope` is an extra WHERE clause on items (a lead's teams).

    `measures` limits the percentiles computed (each is a sort) to those a caller shows; the others
    come back as None. `overall=False` skips the ungrouped figures when only the groups are wanted.
    """
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    measures = tuple(MEASURES) if measures is None else measures
    cohort = cohort_of(start, end, scope)
    without_jit()
    result = {"from": start.isoformat(), "to": end.isoformat()}
    # On PostgreSQL the overall figures come from the same scan as the groups (GROUPING SETS); a
    # topic expands each item into one row per topic, so its overall figures need their own query.
    together = bool(group_by) and overall and group_by != "topic" and _dialect() == "postgresql"
    if (overall or not group_by) and not together:
        result.update(_figures(cohort, None, measures).get(None, _empty()))
    if group_by:
        groups = _figures(cohort, group_by, measures, with_overall=together)
        if together:
            result.update(groups.pop(OVERALL, _empty()))
        result["group_by"] = group_by
        result["groups"] = [{"key": key, **values} for key, values in groups.items()]
    return result


OVERALL = object()  # the key of the ungrouped row in _figures' answer


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period of the same length just before: the comparison every headline figure shows."""
    return start - (end - start), start


def _empty() -> dict:
    return _row_figures(0, 0, 0, 0, 0, None)


def _row_figures(opened, closed, in_sla, resolved, reopened, label, group_by=None) -> dict:
    return {**({"label": label} if group_by else {}), "opened": opened, "loop_closed": closed,
            "closure_rate": share(closed, opened), "closed_within_sla_rate": share(in_sla or 0, opened),
            "verified_resolved": resolved or 0, "verified_closure_rate": share(resolved or 0, opened),
            "reopened": reopened or 0, "reopen_rate": share(reopened or 0, closed),
            **{f"{stat}_{name}_s": None for name in MEASURES for stat in ("median", "p90")}}


def _grouped(query, group_by: str | None):
    """The query with the group's key and label columns (and the joins they need) added."""
    if group_by is None:
        return query.add_columns(literal(None).label("key"), literal(None).label("label")), None
    if group_by in TIME_GROUPS:
        period = period_start(FeedbackItem.created_at, group_by)
        return query.add_columns(period.label("key"), period.label("label")), period
    if group_by == "topic":
        topics = topic_values(FeedbackItem.topics, db.session.get_bind().dialect.name)
        query = query.where(cast(FeedbackItem.topics, String) != "[]")  # cheaper than expanding nothing
        return query.join(topics, true()).add_columns(topics.c.value.label("key"), topics.c.value.label("label")), \
            topics.c.value
    key, label, table, on = GROUPS[group_by]
    if group_by == "account":
        query = query.join(Contact, Contact.id == FeedbackItem.contact_id)
    if table is not None:
        query = query.outerjoin(table, on)
    return query.add_columns(key.label("key"), label.label("label")), key


def _base(*columns, cohort: tuple, group_by: str | None):
    return _grouped(select(*columns).select_from(FeedbackItem).where(*cohort), group_by)


def _figures(cohort: tuple, group_by: str | None, measures: tuple[str, ...], with_overall: bool = False) -> dict:
    """Counts, rates and percentiles per group key (the key is None when not grouped); with_overall
    (PostgreSQL) adds the ungrouped figures, keyed OVERALL, from the same scan."""
    counts = [func.count(FeedbackItem.id), func.count(FeedbackItem.loop_closed_at),
              func.sum(case((FeedbackItem.loop_closed_in_sla.is_(True), 1), else_=0)),
              func.sum(case((FeedbackItem.customer_verdict == "resolved", 1), else_=0)),
              func.sum(case((and_(FeedbackItem.reopen_count > 0, FeedbackItem.loop_closed_at.is_not(None)), 1),
                            else_=0))]
    postgres = _dialect() == "postgresql"
    ranks = [nearest_ranks(MEASURES[name]) for name in measures] if postgres else []
    query, key = _base(*counts, *ranks, cohort=cohort, group_by=group_by)
    if key is not None:
        group_columns = list(query.selected_columns)[len(counts) + len(ranks):]
        if with_overall:
            query = query.add_columns(func.grouping(*group_columns).label("is_overall")).group_by(
                func.grouping_sets(tuple_(*group_columns), tuple_()))
        else:
            query = query.group_by(*group_columns)
        query = query.order_by(key)
    figures = {}
    for row in db.session.execute(query):
        opened, closed, in_sla, resolved, reopened = row[:5]
        if with_overall and row.is_overall:
            group_key, label = OVERALL, None
        elif group_by in TIME_GROUPS:
            group_key = label = period_key(row.key)
        else:
            group_key, label = row.key, row.label
        figures[group_key] = _row_figures(opened, closed, in_sla, resolved, reopened, label,
                                          None if group_key is OVERALL else group_by)
        for index, name in enumerate(measures):
            if postgres and row[5 + index] is not None:
                figures[group_key][f"median_{name}_s"], figures[group_key][f"p90_{name}_s"] = row[5 + index]
    if not postgres:
        for name in measures:
            for group_key, median, p90 in _ranks_by_window(cohort, group_by, MEASURES[name]):
                group_key = period_key(group_key) if group_by in TIME_GROUPS else group_key
                if group_key in figures:
                    figures[group_key].update({f"median_{name}_s": median, f"p90_{name}_s": p90})
    return figures


def _ranks_by_window(cohort: tuple, group_by: str | None, expression):
    """(key, median, p90) by nearest rank with window functions (SQLite has no percentile_disc)."""
    inner, _ = _base(expression.label("s"), cohort=cohort + (expression.is_not(None),), group_by=group_by)
    inner = inner.subquery()
    ranked = select(inner.c.key, inner.c.s,
                    func.row_number().over(partition_by=inner.c.key, order_by=inner.c.s).label("rn"),
                    func.count().over(partition_by=inner.c.key).label("n")).subquery()
    return db.session.execute(select(
        ranked.c.key,
        func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.s))),
        func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.s))),
    ).group_by(ranked.c.key)).all()


def close_time_distribution(start: datetime, end: datetime, scope=None) -> list[dict]:
    """Loop-closed items of the cohort per time-to-close bucket (calendar hours)."""
    seconds = MEASURES["time_to_close"]
    bucket = case(*[(seconds < hours * 3600, literal(name)) for name, hours in CLOSE_TIME_BUCKETS if hours],
                  else_=literal(CLOSE_TIME_BUCKETS[-1][0]))
    rows = dict(db.session.execute(
        select(bucket, func.count()).select_from(FeedbackItem)
        .where(*cohort_of(start, end, scope), FeedbackItem.loop_closed_at.is_not(None)).group_by(bucket)).all())
    return [{"bucket": name, "items": rows.get(name, 0)} for name, _ in CLOSE_TIME_BUCKETS]


def backlog(now: datetime, scope=None) -> dict:
    """Items open now, by age since creation, and how many are past their closing-message due time."""
    age_cases = []
    lower = None
    for name, days in AGE_BUCKETS:
        conditions = []
        if lower is not None:
            conditions.append(FeedbackItem.created_at <= now - timedelta(days=lower))
        if days is not None:
            conditions.append(FeedbackItem.created_at > now - timedelta(days=days))
        age_cases.append(func.sum(case((and_(*conditions), 1), else_=0)).label(name))
        lower = days
    row = db.session.execute(
        select(func.count(), func.sum(case((sla_clock.overdue(now), 1), else_=0)), *age_cases)
        .select_from(FeedbackItem)
        .where(FeedbackItem.status.in_(OPEN_STATUSES), *(() if scope is None else (scope,)))).one()
    return {"open": row[0], "overdue": row[1] or 0,
            "by_age": [{"bucket": name, "items": row[2 + i] or 0} for i, (name, _) in enumerate(AGE_BUCKETS)]}


def breached_items(start: datetime, end: datetime, scope=None, limit: int | None = 50) -> dict:
    """Items of the cohort that missed a closing-message deadline, the most recent first: by the first time
    (first_breached_at, kept when a reopen clears the current clock's flags and gives new due times).
    `total` is how many missed, whatever the limit (None: every one), counted by the same statement."""
    rows = db.session.execute(
        select(FeedbackItem.id, FeedbackItem.priority, FeedbackItem.status, FeedbackItem.first_breached_at,
               FeedbackItem.close_due_at, FeedbackItem.loop_closed_at, User.name, func.count().over().label("total"))
        .join(User, User.id == FeedbackItem.owner_id)
        .where(*cohort_of(start, end, scope), FeedbackItem.first_breached_at.is_not(None))
        .order_by(FeedbackItem.first_breached_at.desc(), FeedbackItem.id.desc()).limit(limit)).all()
    return {"total": rows[0].total if rows else 0,
            "items": [{"id": r.id, "priority": r.priority, "status": r.status, "owner": r.name,
                       "breached_at": r.first_breached_at.isoformat(), "close_due_at": r.close_due_at.isoformat(),
                       "loop_closed_at": r.loop_closed_at.isoformat() if r.loop_closed_at else None} for r in rows]}


def worst_topics(start: datetime, end: datetime, scope=None, min_opened: int = 5, limit: int = 5,
                 measures: tuple[str, ...] | None = None) -> list[dict]:
    """Topics by lowest loop-closure rate, among those with at least `min_opened` items (small counts
    swing too much to rank), with their times (`measures` as for closure(); all by default)."""
    groups = [g for g in closure(start, end, "topic", scope, measures=measures, overall=False)["groups"]
              if g["opened"] >= min_opened]
    return sorted(groups, key=lambda g: (g["closure_rate"], -g["opened"], g["key"]))[:limit]


def leaderboard(groups: list[dict]) -> list[dict]:
    """Owners or teams (closure groups) by loop-closure rate, then by items opened; counts kept."""
    return sorted(groups, key=lambda g: (-(g["closure_rate"] or 0), -g["opened"], str(g["label"])))


def survey_scores(start: datetime, end: datetime, survey_id: int | None = None) -> list[dict]:
    """NPS, CSAT or CES per survey and the response rate, for answers and invitations of the period:
    counted answers only (vocloop.responses.counting), as invitations' answered_at stamps only those."""
    one = () if survey_id is None else (Survey.id == survey_id,)
    answered = db.session.execute(
        select(Survey.id, Survey.name, Survey.kind, func.count(Response.id), func.avg(Response.score),
               *[func.sum(case((and_(Survey.kind == kind.code, Response.score >= kind.positive_min), 1), else_=0))
                 for kind in KINDS.values()],
               *[func.sum(case((and_(Survey.kind == kind.code, Response.score <= kind.negative_max), 1), else_=0))
                 for kind in KINDS.values()])
        .join(Response, Response.survey_id == Survey.id)
        .where(Response.answered_at >= start, Response.answered_at < end, counting.counts(), *one)
        .group_by(Survey.id, Survey.name, Survey.kind).order_by(Survey.name)).all()
    kinds = list(KINDS)
    by_survey = []
    for row in answered:
        survey, name, kind, responses, mean = row[:5]
        at = kinds.index(kind)
        by_survey.append((survey, name, kind, responses, mean, row[5 + at] or 0, row[5 + len(kinds) + at] or 0))
    return scores_with_invitations(by_survey, invitation_counts(start, end))


def invitation_counts(start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """Per survey, the invitations of the period that reached the customer and those answered."""
    delivered = func.sum(case((reached_customer(), 1), else_=0))
    return {row[0]: (row[1] or 0, row[2]) for row in db.session.execute(
        select(Invitation.survey_id, delivered, func.count(Invitation.answered_at))
        .where(Invitation.created_at >= start, Invitation.created_at < end).group_by(Invitation.survey_id))}


def scores_with_invitations(answered: list[tuple], invitations: dict[int, tuple[int, int]]) -> list[dict]:
    """survey_scores' rows from (survey id, name, kind, responses, mean score, positive, negative) per
    survey and invitation_counts: the one place a survey's score and response rate are made."""
    results = []
    for survey_id, name, kind, responses, mean, positive, negative in answered:
        sent, replied = invitations.get(survey_id, (0, 0))
        results.append({"survey_id": survey_id, "survey": name, "kind": kind, "responses": responses,
                        "score_name": {"nps": "NPS", "csat": "CSAT", "ces": "CES"}[kind],
                        "score": _kind_score(kind, responses, positive, negative, mean),
                        "positive": positive, "negative": negative,
                        "invitations_delivered": sent, "invitations_answered": replied,
                        "response_rate": share(replied, sent)})
    return results


def _kind_score(kind: str, responses: int, positive: int, negative: int, mean) -> float | None:
    if not responses:
        return None
    if kind == "nps":
        return round(100 * (positive - negative) / responses, 1)
    if kind == "csat":
        return round(100 * positive / responses, 1)
    return round(float(mean), 2)
