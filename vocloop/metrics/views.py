"""The CX leads' closure page (deepened by the metrics issue: charts, exports, trends)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from vocloop.items.permissions import visible_items_filter
from vocloop.metrics import queries
from vocloop.metrics.charts import Bar, rate_bars

bp = Blueprint("metrics", __name__)


def parse_period(args) -> tuple[datetime, datetime]:
    """from/to as YYYY-MM-DD (UTC, to exclusive); the last 30 days by default."""
    try:
        end = datetime.fromisoformat(args["to"]).replace(tzinfo=UTC) if args.get("to") \
            else datetime.now(UTC) + timedelta(seconds=1)
        start = datetime.fromisoformat(args["from"]).replace(tzinfo=UTC) if args.get("from") \
            else end - timedelta(days=30)
    except ValueError:
        raise ValueError("from and to must be dates like 2026-01-31") from None
    if start >= end:
        raise ValueError("from must be before to")
    return start, end


def _request_figures():
    """The figures the page (and its CSV) show: period, grouping, and the lead's scope."""
    if current_user.role not in ("lead", "admin"):
        abort(403)
    try:
        start, end = parse_period(request.args)
    except ValueError as exc:
        abort(400, str(exc))
    group_by = request.args.get("group_by", "owner")
    if group_by not in queries.GROUPS:
        abort(400, f"group_by must be one of {', '.join(queries.GROUPS)}")
    scope = None if current_user.role == "admin" else visible_items_filter(current_user)
    return queries.closure(start, end, group_by, scope), (start, end, scope)


@bp.get("/")
@login_required
def index():
    figures, (start, end, scope) = _request_figures()
    weeks = queries.closure(start, end, "week", scope)["groups"]
    chart = rate_bars([Bar(label=week["key"][5:], value=week["closure_rate"],
                           caption=f"Week of {week['key']}: {week['loop_closed']} of {week['opened']} loop-closed")
                       for week in weeks], "Loop-closure rate by week items were opened")
    return render_template("metrics/index.html", figures=figures, groups=queries.GROUPS,
                           group_by=figures["group_by"], chart=chart, weeks=weeks)


CSV_COLUMNS = ("key", "label", "opened", "loop_closed", "closure_rate", "closed_within_sla_rate",
               "verified_closure_rate", "median_time_to_close_s", "p90_time_to_close_s")


@bp.get("/closure.csv")
@login_required
def closure_csv():
    """The table on the page, as CSV (same period, grouping and scope)."""
    figures, _ = _request_figures()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for group in figures["groups"]:
        writer.writerow([_csv_safe(group.get(column)) for column in CSV_COLUMNS])
    filename = f"closure-by-{figures['group_by']}-{figures['from'][:10]}-{figures['to'][:10]}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv_safe(value):
    """Names starting with = + - @ would run as formulas in a spreadsheet: quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value
