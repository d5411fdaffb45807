"""/api/v1/items/export.csv and /api/v1/responses/export.csv: the same filters as the JSON lists,
as CSV for spreadsheets and BI tools (formula-safe cells), read from the database in batches."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from vocloop.api.auth import api_user
from vocloop.api.blueprint import api_blueprint
from vocloop.api.schemas import Day, Int
from vocloop.exports import csv_download
from vocloop.items.queries import ITEM_EXPORT_COLUMNS, export_items
from vocloop.responses.queries import RESPONSE_EXPORT_COLUMNS, export_responses

blp = api_blueprint("api_v1_exports", __name__, "CSV exports")
CSV_DOC = {"responses": {"200": {
    "description": "CSV (UTF-8, with a header row), one row per record",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}}


class ItemsExportQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "in_progress", "waiting", "closed"]))
    owner_id = Int(load_default=None)
    from_ = Day(data_key="from", load_default=None, metadata={"description": "created on or after (UTC)"})
    to = Day(load_default=None, metadata={"description": "created on or before (UTC)"})


class ResponsesExportQuery(Schema):
    survey_id = Int(load_default=None)
    from_ = Day(data_key="from", load_default=None, metadata={"description": "answered on or after (UTC)"})
    to = Day(load_default=None, metadata={"description": "answered on or before (UTC)"})


def _bounds(args) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(args["from_"], time(), UTC) if args["from_"] else None
    end = datetime.combine(args["to"] + timedelta(days=1), time(), UTC) if args["to"] else None
    return start, end


@blp.route("/items/export.csv")
class ItemsExport(MethodView):
    @blp.arguments(ItemsExportQuery, location="query")
    @blp.doc(**CSV_DOC)
    def get(self, args):
        """Every item the token's user may see, with the list's filters and a creation date range."""
        start, end = _bounds(args)
        rows = export_items(api_user(), status=args["status"], owner_id=args["owner_id"], created_from=start,
                            created_to=end)
        return csv_download("items", ITEM_EXPORT_COLUMNS, rows)


@blp.route("/responses/export.csv")
class ResponsesExport(MethodView):
    @blp.arguments(ResponsesExportQuery, location="query")
    @blp.doc(**CSV_DOC)
    def get(self, args):
        """Answers with their classification: every one for admins, those behind visible items for others."""
        start, end = _bounds(args)
        rows = export_responses(api_user(), survey_id=args["survey_id"], answered_from=start, answered_to=end)
        return csv_download("responses", RESPONSE_EXPORT_COLUMNS, rows)
