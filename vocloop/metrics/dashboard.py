"""The CX leads' dashboard as data: headline figures against the previous period, and every table
behind a chart, each with the columns its CSV export uses. The page, the CSV and the weekly email
all read from here, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vocloop.metrics import queries
from vocloop.metrics.parallel import gather

HEADLINE = (  # key, title, kind of figure
    ("opened", "Items opened", "count"),
    ("closure_rate", "Loop-closure rate", "rate"),
    ("closed_within_sla_rate", "Closed within SLA", "rate"),
    ("median_time_to_close_s", "Median time to close", "seconds"),
    ("median_business_time_to_close_s", "Median time to close, business hours", "seconds"),
    ("median_time_to_first_action_s", "Median time to first action", "seconds"),
    ("verified_closure_rate", "Verified by the customer", "rate"),
    ("reopen_rate", "Reopened", "rate"),
)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[dict]


CLOSURE_COLUMNS = ("key", "label", "opened", "loop_closed", "closure_rate", "closed_within_sla_rate",
                   "verified_closure_rate", "reopen_rate", "median_time_to_close_s", "p90_time_to_close_s",
                   "median_business_time_to_close_s", "p90_business_time_to_close_s",
                   "median_time_to_first_action_s", "p90_time_to_first_action_s")  # the API has all four times
HEADLINE_MEASURES = ("time_to_close", "business_time_to_close", "time_to_first_action")


def headline(start: datetime, end: datetime, scope=None, now: dict | None = None,
             before: dict | None = None) -> list[dict]:
    """Each headline figure for the period and the one before, with the change between them; `now`
    and `before` are the two periods' overall closure figures when the caller has them already."""
    now = now or queries.closure(start, end, None, scope, measures=HEADLINE_MEASURES)
    before = before or queries.closure(*queries.previous_period(start, end), None, scope,
                                       measures=HEADLINE_MEASURES)
    tiles = []
    for key, title, kind in HEADLINE:
        value, previous = now[key], before[key]
        change = None if value is None or previous is None else value - previous
        tiles.append({"key": key, "title": title, "kind": kind, "value": value, "previous": previous,
                      "change": change})
    return tiles


@dataclass(frozen=True)
class Dashboard:
    tiles: list[dict]
    tables: dict[str, Table]


def build(start: datetime, end: datetime, now: datetime, *, scope=None, group_by: str = "owner",
          interval: str = "week", survey_id: int | None = None) -> Dashboard:
    """The headline tiles and every table of the dashboard (by its CSV name); the queries behind
    them run side by side on PostgreSQL (see parallel.py). `scope` narrows the items; the answers'
    figures (scores, sentiment mix) follow the survey filter only, as answers have no owner yet."""
    people_measures = ("time_to_close",)  # the leaderboards show the median time to close only
    other_people = [by for by in ("owner", "team") if by != group_by]
    results = gather({
        "figures": lambda: queries.closure(start, end, group_by, scope, measures=HEADLINE_MEASURES),
        "previous": lambda: queries.closure(*queries.previous_period(start, end), None, scope,
                                            measures=HEADLINE_MEASURES),
        **{f"people-{by}": (lambda by=by: queries.closure(start, end, by, scope, measures=people_measures,
                                                           overall=False)["groups"]) for by in other_people},
        "trend": lambda: queries.closure(start, end, interval, scope, measures=(), overall=False)["groups"],
        "distribution": lambda: queries.close_time_distribution(start, end, scope),
        "worst-topics": lambda: queries.worst_topics(start, end, scope),
        "breached": lambda: queries.breached_items(start, end, scope),
        "backlog": lambda: queries.backlog(now, scope),
        "scores": lambda: queries.survey_scores(start, end, survey_id),
        "sentiment": lambda: queries.sentiment_mix(start, end, survey_id),
    })
    figures = results["figures"]
    detail = figures.pop("groups")
    by_people = {by: detail if by == group_by else results[f"people-{by}"] for by in ("owner", "team")}
    backlog, mix = results["backlog"], results["sentiment"]
    return Dashboard(tiles=headline(start, end, scope, now=figures, before=results["previous"]), tables={
        "closure": Table(f"Closure by {group_by}", CLOSURE_COLUMNS, detail),
        "trend": Table(f"Loop-closure rate by {interval} opened", CLOSURE_COLUMNS, results["trend"]),
        "distribution": Table("Time to close", ("bucket", "items"), results["distribution"]),
        "leaderboard-owner": Table("Owners", CLOSURE_COLUMNS, queries.leaderboard(by_people["owner"])),
        "leaderboard-team": Table("Teams", CLOSURE_COLUMNS, queries.leaderboard(by_people["team"])),
        "worst-topics": Table("Topics with the lowest closure (5 items or more)", CLOSURE_COLUMNS,
                              results["worst-topics"]),
        "breached": Table("Items that missed their deadline", ("id", "priority", "status", "owner", "breached_at",
                                                               "close_due_at", "loop_closed_at"), results["breached"]),
        "backlog": Table(f"Backlog now: {backlog['open']} open, {backlog['overdue']} overdue", ("bucket", "items"),
                         backlog["by_age"]),
        "scores": Table("Survey scores and response rates", (
            "survey", "kind", "score_name", "score", "responses", "positive", "negative", "invitations_delivered",
            "invitations_answered", "response_rate"), results["scores"]),
        "sentiment": Table("Sentiment of the answers", ("sentiment", "responses"),
                           [{"sentiment": label, "responses": count} for label, count in mix.items()]),
    })
