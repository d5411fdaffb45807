"""The CX leads' closure page (deepened by the metrics issue: charts, exports, trends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from vocloop.items.permissions import visible_items_filter
from vocloop.metrics import queries

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


@bp.get("/")
@login_required
def index():
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
    return render_template("metrics/index.html", figures=queries.closure(start, end, group_by, scope),
                           groups=queries.GROUPS, group_by=group_by)
