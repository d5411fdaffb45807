"""The CX leads' dashboard as data: headline figures against the previous period, and every table
behind a chart, each with the columns its CSV export uses. The page, the CSV and the weekly email
all read from here, so they cannot disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from vocloop.metrics import effect, queries, scores
from vocloop.metrics.parallel import gather

HEADLINE = (  # key, title, kind of figure, which way is better (None: neither)
    ("opened", "Items opened", "count", None),
    ("closure_rate", "Loop-closure rate", "rate", "up"),
    ("closed_within_sla_rate", "Closed within SLA", "rate", "up"),
    ("median_time_to_close_s", "Median time to close", "seconds", "down"),
    ("median_business_time_to_close_s", "Median time to close, business hours", "seconds", "down"),
    ("median_time_to_first_action_s", "Median time to first action", "seconds", "down"),
    ("verified_closure_rate", "Verified by the customer", "rate", "up"),
    ("reopen_rate", "Reopened", "rate", "down"),
)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[dict]
    note: str = ""  # said beside the table on the page (not in its caption: a phone scrolls a wide table's caption)


CLOSURE_COLUMNS = ("key", "label", "opened", "loop_closed", "closure_rate", "closed_within_sla_rate",
                   "verified_closure_rate", "reopen_rate", "median_time_to_close_s", "p90_time_to_close_s",
                   "median_business_time_to_close_s", "p90_business_time_to_close_s",
                   "median_time_to_first_action_s", "p90_time_to_first_action_s")  # the API has all four times
HEADLINE_MEASURES = ("time_to_close", "business_time_to_close", "time_to_first_action")
# the trend computes no times (a sort per period): its CSV has no empty time columns to suggest otherwise
TREND_COLUMNS = ("key", "opened", "loop_closed", "closure_rate", "closed_within_sla_rate", "verified_closure_rate",
                 "reopen_rate")


def headline(start: datetime, end: datetime, scope=None, now: dict | None = None,
             before: dict | None = None) -> list[dict]:
    """Each headline figure for the period and the one before, with the change between them; `now`
    and `before` are the two periods' overall closure figures when the caller has them already."""
    now = now or queries.closure(start, end, None, scope, measures=HEADLINE_MEASURES)
    before = before or queries.closure(*queries.previous_period(start, end), None, scope,
                                       measures=HEADLINE_MEASURES)
    tiles = []
    for key, title, kind, better in HEADLINE:
        value, previous = now[key], before[key]
        change = None if value is None or previous is None else _as_shown(kind, value) - _as_shown(kind, previous)
        tiles.append({"key": key, "title": title, "kind": kind, "value": value, "previous": previous,
                      "change": change, **_direction(change, better)})
    return tiles


def _as_shown(kind: str, value):
    """A figure as the page and the digest show it: a time in tenths of an hour. The change is taken
    between the shown figures, or 1.1 h against 1.0 h read "0.0 h up (worse)" (3,780 s against 3,690)."""
    return float(f"{value / 3600:.1f}") * 3600 if kind == "seconds" else value


def _direction(change, better: str | None) -> dict:
    """Which way a figure moved ("up", "down", "same"; None without an earlier figure) and whether
    that is "better" or "worse" for the team (None when neither way is better, or it did not move)."""
    if change is None:
        return {"direction": None, "verdict": None}
    direction = "up" if change > 0 else "down" if change < 0 else "same"
    verdict = None if better is None or direction == "same" else "better" if direction == better else "worse"
    return {"direction": direction, "verdict": verdict}


@dataclass(frozen=True)
class Dashboard:
    tiles: list[dict]
    tables: dict[str, Table]
    meanwhile: dict  # what build() was asked to look up on the request's thread meanwhile, by name
    backlog: dict = field(default_factory=dict)  # open and overdue now: the page leads with them


@dataclass(frozen=True)
class View:
    """What the page (or one CSV) shows: the period, the narrowing, the grouping and the trend interval.
    `scope` narrows the items; the answers' figures (scores, sentiment mix) follow the survey filter
    only, as answers have no owner yet."""

    start: datetime
    end: datetime
    now: datetime
    scope: object = None
    group_by: str = "owner"
    interval: str = "week"
    survey_id: int | None = None
    whole: bool = False  # a CSV: every row of a table the page shortens (the missed deadlines)


BREACHED_SHOWN = 50  # the page's list of missed deadlines, most recent first; its CSV has them all
TABLE_NAMES = ("closure", "trend", "distribution", "leaderboard-owner", "leaderboard-team", "worst-topics",
               "breached", "backlog", "scores", "score-trend", "sentiment")
# "Does closing the loop pay?" has its own page (/metrics/effect), its queries side by side there (at a
# million items the loop effect about 60 ms, revenue at risk and saved about 330 together: benchmarks/).
EFFECT_TABLE_NAMES = ("loop-effect", "next-survey", "revenue-accounts", "revenue-by-team", "revenue-by-topic",
                      "revenue-by-owner")
EFFECT_COLUMNS = ("key", "label", "customers", "mean_change", "ci_low", "ci_high", "mean_change_points",
                  "survey_kind", "enough", "conclusion")
RISK_GROUP_COLUMNS = ("key", "label", "at_risk", "accounts")


def _queries(view: View) -> dict[str, Callable[[], object]]:
    """Every query the dashboard runs, by name; each is independent of the others. Longest first
    (the order the workers take them): the figures with their percentiles, the answers' scans, then
    the quick counts and the backlog (figures at 300,000 items: benchmarks/metrics.py)."""
    start, end, scope = view.start, view.end, view.scope
    # the leaderboards show the same times as the closure table (and the API)
    people = {f"people-{by}": (lambda by=by: queries.closure(start, end, by, scope, measures=HEADLINE_MEASURES,
                                                              overall=False)["groups"]) for by in ("owner", "team")}
    return {
        "figures": lambda: queries.closure(start, end, view.group_by, scope, measures=HEADLINE_MEASURES),
        # the scores, their trend and the sentiment mix: one scan of the period's answers
        "answers": lambda: scores.period_answers(start, end, view.interval, view.survey_id),
        **people,
        "worst-topics": lambda: queries.worst_topics(start, end, scope, measures=HEADLINE_MEASURES),
        "scores-before": lambda: queries.survey_scores(*queries.previous_period(start, end), view.survey_id),
        "previous": lambda: queries.closure(*queries.previous_period(start, end), None, scope,
                                            measures=HEADLINE_MEASURES),
        "trend": lambda: queries.closure(start, end, view.interval, scope, measures=(), overall=False)["groups"],
        "distribution": lambda: queries.close_time_distribution(start, end, scope),
        "backlog": lambda: queries.backlog(view.now, scope),
        "breached": lambda: queries.breached_items(start, end, scope, limit=None if view.whole else BREACHED_SHOWN),
        "loop-effect": lambda: effect.loop_effect(start, end, scope),
        "revenue": lambda: effect.value_at_risk(start, end, view.now, scope),
        "saved": lambda: effect.value_saved(start, end, scope),  # beside revenue at risk, side by side with it
    }


def _needs(name: str, view: View) -> tuple[str, ...]:
    """The queries a table is made from (a leaderboard by the grouping shown reuses its figures)."""
    if name == "closure":
        return ("figures",)
    if name.startswith("leaderboard-"):
        by = name.removeprefix("leaderboard-")
        return ("figures",) if by == view.group_by else (f"people-{by}",)
    if name == "next-survey":
        return ("loop-effect",)
    if name.startswith("revenue-"):
        return ("revenue",)
    if name == "scores":
        return ("answers", "scores-before")
    if name in ("score-trend", "sentiment"):
        return ("answers",)
    return (name,)


def _table(name: str, view: View, results: dict) -> Table:
    if name == "closure":
        return Table(f"Closure by {view.group_by}", CLOSURE_COLUMNS, results["figures"]["groups"])
    if name.startswith("leaderboard-"):
        by = name.removeprefix("leaderboard-")
        groups = results["figures"]["groups"] if by == view.group_by else results[f"people-{by}"]
        return Table("Owners" if by == "owner" else "Teams", CLOSURE_COLUMNS, queries.leaderboard(groups))
    if name == "trend":
        return Table(f"Loop-closure rate by {view.interval} opened", TREND_COLUMNS, results["trend"])
    if name == "distribution":
        return Table("Time to close", ("bucket", "items"), results["distribution"])
    if name == "worst-topics":
        return Table("Topics with the lowest closure (5 items or more)", CLOSURE_COLUMNS, results["worst-topics"])
    if name == "breached":
        breached, shown = results["breached"], len(results["breached"]["items"])
        note = (f"Showing the {shown} most recent of {breached['total']} items that missed their deadline; "
                "the CSV below has every one." if breached["total"] > shown else "")
        return Table("Items that missed their deadline", ("id", "priority", "status", "owner", "breached_at",
                                                          "close_due_at", "loop_closed_at"), breached["items"], note)
    if name == "backlog":
        backlog = results["backlog"]
        return Table(f"Backlog now: {backlog['open']} open, {backlog['overdue']} overdue", ("bucket", "items"),
                     backlog["by_age"])
    if name == "scores":
        before = {row["survey_id"]: row["score"] for row in results["scores-before"]}
        rows = [{**row, "previous_score": before.get(row["survey_id"]),
                 "change": None if row["score"] is None or before.get(row["survey_id"]) is None
                 else round(row["score"] - before[row["survey_id"]], 2)} for row in results["answers"]["scores"]]
        return Table("Survey scores and response rates", (
            "survey", "kind", "score_name", "score", "previous_score", "change", "responses", "positive", "negative",
            "invitations_delivered", "invitations_answered", "response_rate"), rows)
    if name == "score-trend":
        return Table(f"Scores by {view.interval} answered", scores.COLUMNS, results["answers"]["trend"])
    if name == "sentiment":
        return Table("Sentiment of the answers", ("sentiment", "responses"),
                     [{"sentiment": label, "responses": count}
                      for label, count in results["answers"]["sentiment"].items()])
    if name == "loop-effect":
        found = results["loop-effect"]
        return Table(f"The next answer after the loop ended: {found['answered_again']} of {found['items']} "
                     f"customers answered again", EFFECT_COLUMNS, found["outcomes"] + found["verdicts"])
    if name == "next-survey":
        return Table("Did they answer the next survey?", ("key", "label", "asked_again", "answered", "response_rate"),
                     results["loop-effect"]["next_survey"])
    if name == "revenue-accounts":
        return Table("Accounts at risk, oldest open item first", (
            "account_id", "account", "annual_value", "open_items", "oldest_item_id", "oldest_opened_at", "days_open",
            "owner"), results["revenue"]["accounts"])
    if name.startswith("revenue-by-"):
        by = name.removeprefix("revenue-by-")
        return Table(f"Value at risk by {by}", RISK_GROUP_COLUMNS, results["revenue"][f"by_{by}"])
    raise LookupError(name)


def build(view: View, meanwhile: dict[str, Callable[[], object]] | None = None) -> Dashboard:
    """The headline tiles and every table; the queries behind them run side by side on PostgreSQL
    (see parallel.py), each once, and `meanwhile` (the page's own small lookups) on this thread."""
    wanted = {"previous", *(need for name in TABLE_NAMES for need in _needs(name, view))}
    everything = _queries(view)
    results = gather({name: everything[name] for name in everything if name in wanted}, meanwhile)
    overall = {key: value for key, value in results["figures"].items() if key != "groups"}
    return Dashboard(tiles=headline(view.start, view.end, view.scope, now=overall, before=results["previous"]),
                     tables={name: _table(name, view, results) for name in TABLE_NAMES},
                     meanwhile={name: results[name] for name in meanwhile or {}},
                     backlog={key: results["backlog"][key] for key in ("open", "overdue")})


@dataclass(frozen=True)
class EffectBoard:
    tables: dict[str, Table]
    revenue: dict  # the totals beside the revenue tables (at risk, saved)
    effect: dict  # the counts beside the loop-effect tables (items, answered again)
    meanwhile: dict = field(default_factory=dict)  # the results of build_effect's `meanwhile`, by name


def build_effect(view: View, meanwhile: dict[str, Callable[[], object]] | None = None) -> EffectBoard:
    """The loop effect and revenue-at-risk tables (their three queries side by side), and `meanwhile`
    (the page's other figures) on this thread while they run."""
    everything = _queries(view)
    results = gather({name: everything[name] for name in ("loop-effect", "revenue", "saved")}, meanwhile)
    return EffectBoard(tables={name: _table(name, view, results) for name in EFFECT_TABLE_NAMES},
                       revenue=_totals({**results["revenue"], **results["saved"]}),
                       effect=_totals(results["loop-effect"]),
                       meanwhile={name: results[name] for name in meanwhile or {}})


def _totals(result: dict) -> dict:
    """A result's single figures, without its tables."""
    return {key: value for key, value in result.items() if not isinstance(value, list)}


def table(name: str, view: View) -> Table:
    """One table (a CSV export), from only the queries it needs."""
    if name not in TABLE_NAMES + EFFECT_TABLE_NAMES:
        raise LookupError(name)
    everything = _queries(view)
    return _table(name, view, gather({need: everything[need] for need in _needs(name, view)}))
