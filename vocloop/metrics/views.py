"""The CX leads' dashboard: headline figures against the previous period, charts with their tables,
and a CSV export of every table, for the period, grouping and scope the page shows."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from vocloop.accounts.models import Team
from vocloop.announcements import service as announcements
from vocloop.classify.topics import all_topics
from vocloop.exports import csv_lines
from vocloop.extensions import db
from vocloop.items.permissions import visible_items_filter
from vocloop.metrics import dashboard, queries, scores
from vocloop.metrics.charts import Bar, Interval, count_bars, interval_chart, rate_bars, split_bars
from vocloop.metrics.effect import MIN_CUSTOMERS
from vocloop.metrics.period import period_from_args
from vocloop.surveys.models import Survey
from vocloop.values import PRIORITIES, SENTIMENTS

bp = Blueprint("metrics", __name__)


def parse_filters(args) -> dict:
    """The dashboard's filters from the query string: ids as numbers, the rest from their lists."""
    filters: dict = {}
    for name in ("owner_id", "team_id", "survey_id", "account_id"):
        value = (args.get(name) or "").strip()
        if value:
            if not value.isdigit():
                raise ValueError(f"{name} must be a number")
            filters[name] = int(value)
    for name, allowed in (("priority", PRIORITIES), ("sentiment", SENTIMENTS)):
        value = args.get(name) or ""
        if value:
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
            filters[name] = value
    topic = (args.get("topic") or "").strip()
    if topic:
        if len(topic) > 60:
            raise ValueError("topic is at most 60 characters")
        filters["topic"] = topic
    return filters


def _request_view():
    """Period, grouping, trend interval, filters and the viewer's scope (a lead sees their teams' items)."""
    if current_user.role not in ("lead", "admin"):
        abort(403)
    try:
        period = period_from_args(request.args, datetime.now(UTC).date())
    except ValueError as exc:
        abort(400, str(exc))
    group_by = request.args.get("group_by", "owner")
    if group_by not in queries.GROUPS:
        abort(400, f"group_by must be one of {', '.join(queries.GROUPS)}")
    interval = request.args.get("interval", "week")
    if interval not in queries.TIME_GROUPS:
        abort(400, f"interval must be one of {', '.join(queries.TIME_GROUPS)}")
    try:
        filters = parse_filters(request.args)
    except ValueError as exc:
        abort(400, str(exc))
    scope = None if current_user.role == "admin" else visible_items_filter(current_user)
    return period, group_by, interval, queries.narrowed(scope, queries.item_filter(**filters)), \
        scope is not None, filters


@bp.get("/")
@login_required
def index():
    period, group_by, interval, scope, scoped, filters = _request_view()
    board = dashboard.build(dashboard.View(period.start, period.end, datetime.now(UTC), scope, group_by, interval,
                                           filters.get("survey_id")), meanwhile={"choices": filter_choices})
    tables = board.tables
    trend = rate_bars([Bar(label=row["key"][5:], value=row["closure_rate"],
                           caption=f"{row['key']}: {row['loop_closed']} of {row['opened']} loop-closed")
                       for row in tables["trend"].rows], tables["trend"].title, "trend")
    distribution = count_bars([Bar(label=row["bucket"], value=row["items"], caption=f"{row['bucket']}: "
                                   f"{row['items']} items") for row in tables["distribution"].rows],
                              "Loop-closed items by time to close", "distribution")
    score_charts = []
    for survey_id in dict.fromkeys(row["survey_id"] for row in tables["score-trend"].rows):
        rows = [row for row in tables["score-trend"].rows if row["survey_id"] == survey_id]
        names = scores.BAND_NAMES[rows[0]["kind"]]
        score_charts.append((rows[0]["survey"], split_bars(rows, f"{rows[0]['survey']}: {rows[0]['score_name']} "
                                                                 f"by {interval}, with the share of {', '.join(names)}",
                                                           f"scores-{survey_id}", names)))
    return render_template("metrics/index.html", period=period, previous=period.previous(),
                           score_charts=score_charts, band_names=scores.BAND_NAMES,
                           tiles=board.tiles, tables=tables,
                           groups=queries.GROUPS,
                           intervals=queries.TIME_GROUPS, group_by=group_by, interval=interval,
                           trend_chart=trend, distribution_chart=distribution, scoped=scoped, filters=filters,
                           choices=board.meanwhile["choices"], backlog=board.backlog)


@bp.get("/effect")
@login_required
def effect_page():
    """Does closing the loop pay? The next answers by how loops ended, and the revenue at risk."""
    period, group_by, interval, scope, scoped, filters = _request_view()
    # The announcements' figures are read on this thread while the workers run the effect's queries
    # (after them, they added a sixth of the page's time).
    board = dashboard.build_effect(
        dashboard.View(period.start, period.end, datetime.now(UTC), scope, group_by, interval,
                       filters.get("survey_id")),
        meanwhile={"outer": lambda: announcements.figures(period.start, period.end, current_user)})
    chart = interval_chart([
        Interval(label=row["label"], mean=row["mean_change"], low=row["ci_low"], high=row["ci_high"],
                 caption=f"{row['label']}: {row['customers']} customers, mean change {row['mean_change']}")
        for row in board.tables["loop-effect"].rows], "Change in the next answer by how the loop ended", "effect")
    return render_template("metrics/effect.html", period=period, tables=board.tables, revenue=board.revenue,
                           effect_chart=chart, min_customers=MIN_CUSTOMERS,
                           answered_again=board.effect["answered_again"], scoped=scoped, filters=filters,
                           outer=board.meanwhile["outer"])


@bp.get("/<name>.csv")
@login_required
def table_csv(name: str):
    """One table of the page as CSV (same period, grouping and scope)."""
    period, group_by, interval, scope, _, filters = _request_view()
    if name not in dashboard.TABLE_NAMES + dashboard.EFFECT_TABLE_NAMES:
        abort(404)
    table = dashboard.table(name, dashboard.View(period.start, period.end, datetime.now(UTC), scope, group_by,
                                                 interval, filters.get("survey_id"), whole=True))
    suffix = f"-by-{group_by}" if name == "closure" else f"-by-{interval}" if name == "trend" else ""
    filename = f"{name}{suffix}-{period.first_day}-{period.last_day}.csv"
    return Response("".join(csv_lines(table.columns, table.rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def filter_choices() -> dict:
    """What the filter lists offer: surveys, teams and topics by name."""
    return {"surveys": db.session.execute(select(Survey.id, Survey.name).order_by(Survey.name)).all(),
            "teams": db.session.execute(select(Team.id, Team.name).order_by(Team.name)).all(),
            "topics": [topic.name for topic in all_topics()],
            "priorities": PRIORITIES, "sentiments": SENTIMENTS}
