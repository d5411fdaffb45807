"""Does closing the loop pay? What happened to customers' next answers, and the revenue at risk.

Loop effect, over the items opened in a period (the same cohort as the closure figures):
  the change in a customer's score from the answer that opened the item to their next counted answer
  to the same survey given after the loop ended (the closing message accepted, the item closed without
  one) or, for loops not closed, after the opening answer. An answer given before the loop closed
  cannot show its effect, so it is not the "next" one. Changes are on a 0–100 scale (the survey's
  range mapped onto 100 points, so NPS, CSAT and CES can sit in one figure) and, when every answer
  in a group comes from one kind of survey, in that survey's own points as well.
  Split by how the loop ended: closed with a message within its SLA, closed with one late, closed
  without a message, not closed; and by the customer's verdict (resolved / not resolved).
  Each with its count and a 95% confidence interval of the mean (Student's t): a group of fewer than
  MIN_CUSTOMERS customers is reported, but flagged as too small to conclude anything.
next-survey response rate = of the customers asked again after their loop ended, the share who
  answered (counted answers only), for loops closed with a message against all others.

Revenue at risk = the annual value of accounts with at least one open item from a detractor (an
  answer in its survey's negative band), each account counted once; by team, topic and owner (an
  account counts once in each group it appears in), the oldest open item first.
saved = the annual value of the accounts whose detractor items had their loops closed in the period.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import (
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)

from vocloop.accounts.models import Team, User
from vocloop.contacts.models import Account, Contact
from vocloop.db import UTCDateTime
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.metrics.queries import cohort_of
from vocloop.metrics.sql import topic_values
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import Survey
from vocloop.values import OPEN_STATUSES, share

MIN_CUSTOMERS = 10  # below this a group's change says nothing, whatever its interval
OUTCOMES = {
    "closed_in_sla": "Closed with a message within SLA",
    "closed_late": "Closed with a message, late",
    "closed_without_message": "Closed without a message",
    "not_closed": "Not closed",
}
VERDICTS = {"resolved": "Customer said resolved", "not_resolved": "Customer said not resolved"}
# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)
_Z95 = 1.959964


def t95(degrees: int) -> float:
    """Student's t for a two-sided 95% interval: the table to 30, then the Cornish-Fisher expansion
    (within 0.001 of the exact value from 31 on)."""
    if degrees <= len(_T95):
        return _T95[degrees - 1]
    z = _Z95
    return z + (z**3 + z) / (4 * degrees) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * degrees**2)


def mean_interval(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and its 95% interval; no interval for fewer than two values."""
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def outcome_of(item) -> str:
    if item.loop_closed_at is not None:
        return "closed_in_sla" if item.loop_closed_in_sla else "closed_late"
    if item.closed_at is not None:
        return "closed_without_message"
    return "not_closed"


def loop_effect(start: datetime, end: datetime, scope=None) -> dict:
    """The loop's effect on the next answer and on the next survey's response rate (module docstring).

    One scan of the period's items, which carry their customer's next answer and next invitation
    (items/next_answer.py), summed in SQL per outcome, verdict and survey kind: the count, sum and sum of
    squares of the changes give each group's mean and interval exactly as the changes themselves would."""
    closed_in_sla = FeedbackItem.loop_closed_in_sla.is_(True)
    outcome = case((and_(FeedbackItem.loop_closed_at.is_not(None), closed_in_sla), "closed_in_sla"),
                   (FeedbackItem.loop_closed_at.is_not(None), "closed_late"),
                   (FeedbackItem.closed_at.is_not(None), "closed_without_message"), else_="not_closed")
    change = FeedbackItem.next_score_change
    rows = db.session.execute(
        select(outcome.label("outcome"), FeedbackItem.customer_verdict, Survey.kind, func.count().label("items"),
               func.count(change).label("answered"), func.sum(change).label("total"),
               func.sum(change * change).label("squares"),
               func.count(FeedbackItem.next_invitation_id).label("asked_again"),
               func.count(FeedbackItem.next_invitation_answered_at).label("asked_again_answered"))
        .join(Survey, Survey.id == FeedbackItem.survey_id)
        .where(*cohort_of(start, end, scope))
        .group_by(outcome, FeedbackItem.customer_verdict, Survey.kind)).all()
    by_outcome: dict[str, list] = defaultdict(list)
    by_verdict: dict[str, list] = defaultdict(list)
    response_rate = {"closed": [0, 0], "not_closed": [0, 0]}  # [asked again, answered]
    for row in rows:
        counts = response_rate["closed" if row.outcome in ("closed_in_sla", "closed_late") else "not_closed"]
        counts[0] += row.asked_again
        counts[1] += row.asked_again_answered
        if row.answered:
            sums = Sums(row.kind, row.answered, row.total, row.squares)
            by_outcome[row.outcome].append(sums)
            if row.customer_verdict in VERDICTS:
                by_verdict[row.customer_verdict].append(sums)
    return {
        "from": start.isoformat(), "to": end.isoformat(), "items": sum(row.items for row in rows),
        "answered_again": sum(row.answered for row in rows), "min_customers": MIN_CUSTOMERS,
        "outcomes": [_group(key, label, by_outcome[key]) for key, label in OUTCOMES.items()],
        "verdicts": [_group(key, label, by_verdict[key]) for key, label in VERDICTS.items()],
        "next_survey": [
            {"key": key, "label": label, "asked_again": response_rate[key][0], "answered": response_rate[key][1],
             "response_rate": share(response_rate[key][1], response_rate[key][0])}
            for key, label in (("closed", "Loop closed with a message"), ("not_closed", "All other loops"))],
    }


@dataclass(frozen=True)
class Sums:
    """Changes of one survey kind in one group, summed: how many, their sum and the sum of their squares."""

    kind: str
    count: int
    total: int
    squares: int


def summed_interval(parts: list[Sums]) -> tuple[float | None, float | None, float | None]:
    """mean_interval of the changes on the 0-100 scale, from their sums per kind, in exact fractions (what
    statistics.stdev computes from the values themselves)."""
    count = sum(part.count for part in parts)
    if not count:
        return None, None, None
    scale = {part.kind: Fraction(100, KINDS[part.kind].high - KINDS[part.kind].low) for part in parts}
    total = sum(scale[part.kind] * part.total for part in parts)
    squares = sum(scale[part.kind] ** 2 * part.squares for part in parts)
    mean = total / count
    if count < 2:
        return float(mean), None, None
    half = t95(count - 1) * math.sqrt((squares - total * mean) / (count - 1)) / math.sqrt(count)
    # A change on the 0-100 scale lies between -100 and +100, and so does any mean of changes: a small
    # group's t interval reached past that ("-114.2 to +97.5" for two customers), which no mean can.
    return float(mean), max(-100.0, float(mean) - half), min(100.0, float(mean) + half)


def _group(key: str, label: str, parts: list[Sums]) -> dict:
    count = sum(part.count for part in parts)
    mean, low, high = summed_interval(parts)
    kinds = {part.kind for part in parts}
    points = sum(part.total for part in parts) / count if len(kinds) == 1 else None
    enough = count >= MIN_CUSTOMERS
    if not count:
        verdict = "No customer in this group answered again."
    elif not enough:
        verdict = f"Too few customers answered again ({count} of at least {MIN_CUSTOMERS}) to conclude anything."
    elif low is not None and low > 0:
        verdict = "Their next answers were higher: the whole interval is above zero."
    elif high is not None and high < 0:
        verdict = "Their next answers were lower: the whole interval is below zero."
    else:
        verdict = "No clear change: the interval includes zero."
    return {"key": key, "label": label, "customers": count, "enough": enough,
            "mean_change": _round(mean), "ci_low": _round(low), "ci_high": _round(high),
            "mean_change_points": _round(points),
            "survey_kind": next(iter(kinds)) if len(kinds) == 1 else None, "conclusion": verdict}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _detractor(kind_column, score_column):
    """The answer is in its survey's negative band (as KINDS defines it), in SQL."""
    return or_(*(and_(kind_column == code, score_column <= kind.negative_max) for code, kind in KINDS.items()))


def revenue_at_risk(start: datetime, end: datetime, now: datetime, scope=None, limit: int = 20) -> dict:
    """Accounts' annual value behind open detractor items, by team, topic and owner; and what was saved."""
    return {**value_at_risk(start, end, now, scope, limit), **value_saved(start, end, scope)}


def _detractor_items(scope, *columns):
    """Items opened by a detractor's answer (the item keeps its opening score: items/next_answer.py), of
    accounts with an annual value."""
    query = (select(*columns).select_from(FeedbackItem)
             .join(Contact, Contact.id == FeedbackItem.contact_id)
             .join(Account, Account.id == Contact.account_id)
             .join(Survey, Survey.id == FeedbackItem.survey_id)
             .where(Account.annual_value.is_not(None), Account.annual_value > 0,
                    _detractor(Survey.kind, FeedbackItem.opening_score)))
    return query if scope is None else query.where(scope)


def value_at_risk(start: datetime, end: datetime, now: datetime, scope=None, limit: int = 20) -> dict:
    """Revenue at risk now (module docstring), summed in SQL: one statement reads the open detractor items
    once and returns the total, each team's, owner's and topic's value (each account once per group) and
    the `limit` accounts whose oldest open item is oldest."""
    items = _detractor_items(scope, FeedbackItem.id, FeedbackItem.created_at, FeedbackItem.team_id,
                             FeedbackItem.owner_id, FeedbackItem.topics, Account.id.label("account_id"),
                             Account.name.label("account"), Account.annual_value
                             ).where(FeedbackItem.status.in_(OPEN_STATUSES)).cte("open_detractor_items")
    topics = topic_values(items.c.topics, db.session.get_bind().dialect.name)
    by_topic = union(
        select(topics.c.value.label("key"), items.c.account_id, items.c.annual_value).join_from(items, topics, true()),
        select(null().label("key"), items.c.account_id, items.c.annual_value)
        .where(or_(items.c.topics.is_(None), cast(items.c.topics, String) == "[]"))).subquery()

    def per_group(name: str, accounts) -> Select:
        """Each group's value: every account once in it (its distinct accounts summed)."""
        return select(literal_column(f"'{name}'").label("grouping"), cast(accounts.c.key, String).label("key"),
                      func.sum(accounts.c.annual_value).label("value"), func.count().label("accounts"),
                      *_nothing).group_by(accounts.c.key)

    def distinct_accounts(key) -> Subquery:
        return select(key.label("key"), items.c.account_id, items.c.annual_value).distinct().subquery()

    ranked = select(items.c.account_id, items.c.account, items.c.annual_value, items.c.id, items.c.created_at,
                    items.c.owner_id, func.count().over(partition_by=items.c.account_id).label("open_items"),
                    func.row_number().over(partition_by=items.c.account_id,
                                           order_by=(items.c.created_at, items.c.id)).label("place")).subquery()
    oldest = (select(literal_column("'account'").label("grouping"), cast(ranked.c.account_id, String).label("key"),
                     ranked.c.annual_value.label("value"), ranked.c.open_items.label("accounts"),
                     ranked.c.id.label("item_id"), ranked.c.created_at.label("opened_at"),
                     ranked.c.owner_id.label("owner_id"), ranked.c.account.label("name"))
              .where(ranked.c.place == 1).order_by(ranked.c.created_at, ranked.c.account_id).limit(limit).subquery())
    everyone = select(items.c.account_id, items.c.annual_value).distinct().subquery()
    rows = db.session.execute(union_all(
        select(literal_column("'total'").label("grouping"), null().label("key"),
               func.coalesce(func.sum(everyone.c.annual_value), 0).label("value"), func.count().label("accounts"),
               *_nothing),
        per_group("team", distinct_accounts(items.c.team_id)),
        per_group("owner", distinct_accounts(items.c.owner_id)),
        per_group("topic", by_topic),
        select(oldest))).all()
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[row.grouping].append(row)
    [total] = groups["total"]
    as_id = lambda key: None if key is None else int(key)  # noqa: E731 (the team's and owner's ids came as text)
    names = _names({as_id(row.key) for row in groups["team"]} - {None},
                   {as_id(row.key) for row in groups["owner"]} | {row.owner_id for row in groups["account"]})
    accounts = [{"account_id": int(row.key), "account": row.name, "annual_value": row.value,
                 "open_items": row.accounts, "oldest_item_id": row.item_id,
                 "oldest_opened_at": row.opened_at.isoformat(), "owner_id": row.owner_id,
                 "owner": names["owner"].get(row.owner_id), "days_open": max(0, (now - row.opened_at).days)}
                for row in groups["account"]]
    return {
        "from": start.isoformat(), "to": end.isoformat(), "at_risk": total.value, "accounts_at_risk": total.accounts,
        "by_team": _by(groups["team"], as_id, names["team"], "No team"),
        "by_topic": _by(groups["topic"], lambda key: key, {}, "No topic"),
        "by_owner": _by(groups["owner"], as_id, names["owner"], "Nobody"),
        "accounts": sorted(accounts, key=lambda account: (account["oldest_opened_at"], account["account_id"])),
    }


# the columns only the accounts' rows fill
_nothing = (cast(null(), Integer).label("item_id"), cast(null(), UTCDateTime()).label("opened_at"),
            cast(null(), Integer).label("owner_id"), cast(null(), String).label("name"))  # typed: a UNION's types


def value_saved(start: datetime, end: datetime, scope=None) -> dict:
    """The annual value of the accounts whose detractor loops closed in [start, end), each account once."""
    accounts = _detractor_items(scope, Account.id, Account.annual_value).where(
        FeedbackItem.loop_closed_at >= start, FeedbackItem.loop_closed_at < end).distinct().subquery()
    saved, count = db.session.execute(select(func.coalesce(func.sum(accounts.c.annual_value), 0),
                                             func.count())).one()
    return {"saved": saved, "accounts_saved": count}


def _names(team_ids: set, owner_ids: set) -> dict[str, dict]:
    teams = dict(db.session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()) \
        if team_ids else {}
    owners = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(owner_ids))).all()) \
        if owner_ids else {}
    return {"team": teams, "owner": owners}


def _by(rows, key_of, names: dict, nobody: str) -> list[dict]:
    """Value at risk per group (each account once per group, summed in SQL), the largest first."""
    found = [{"key": key_of(row.key), "label": names.get(key_of(row.key), key_of(row.key))
              if row.key is not None else nobody, "at_risk": row.value, "accounts": row.accounts} for row in rows]
    return sorted(found, key=lambda group: (-group["at_risk"], str(group["label"])))
