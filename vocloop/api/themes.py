"""/api/v1/themes: themes found in comments, and a lead's decisions on them (the Themes page's service)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.schemas import Day, Int, TopicOut, one_of
from vocloop.errors import NotFound
from vocloop.extensions import db
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import discover_themes
from vocloop.themes import service as themes
from vocloop.themes.models import RUN_STATUSES, THEME_STATUSES, ThemeRun

blp = api_blueprint("api_v1_themes", __name__, "Themes found in comments")


class WeekOut(Schema):
    week = fields.String(metadata={"description": "the week's Monday"})
    comments = Int()


class ThemeOut(Schema):
    id = Int()
    run_id = Int()
    name = fields.String()
    key_phrases = fields.List(fields.String())
    comments = Int()
    sentiment = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "comments by sentiment"})
    trend = fields.List(fields.Nested(WeekOut))
    example_ids = fields.List(Int(), metadata={"description": "up to five representative answers (response ids), "
                                                             "near-duplicates counted once"})
    status = fields.String(validate=one_of(THEME_STATUSES))
    topic_name = fields.String(allow_none=True, metadata={"description": "the topic it became, once accepted"})
    merged_into_id = Int(allow_none=True)


class RunIn(Schema):
    created_from = Day(load_default=None)
    created_to = Day(load_default=None)
    only_untagged = fields.Boolean(load_default=True, metadata={"description": "only comments without a topic"})


class RunOut(Schema):
    id = Int()
    created_from = fields.Date(allow_none=True)
    created_to = fields.Date(allow_none=True)
    only_untagged = fields.Boolean()
    status = fields.String(validate=one_of(RUN_STATUSES))
    comments = Int()
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    themes = fields.List(fields.Nested(ThemeOut))


class NameIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=themes.MAX_NAME))


class AcceptIn(Schema):
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=themes.MAX_NAME),
                         metadata={"description": "the topic's name (default: the theme's)"})


class MergeIn(Schema):
    into_id = Int(required=True, validate=validate.Range(min=1))


def _lead():
    return require_role("lead", "admin")


@blp.route("/themes")
class Themes(MethodView):
    @blp.response(200, RunOut)
    def get(self):
        """The latest run with its themes (404 before the first run)."""
        _lead()
        run = themes.latest_run()
        if run is None:
            raise NotFound("No themes yet: POST /api/v1/themes/runs finds some.")
        return run


@blp.route("/themes/runs")
class Runs(MethodView):
    @blp.arguments(RunIn)
    @blp.response(202, RunOut)
    def post(self, data):
        """Find themes in the comments of a period, as a job (a run under way is returned instead)."""
        run, started = themes.start_run(_lead(), data["created_from"], data["created_to"], data["only_untagged"])
        if started:
            enqueue(discover_themes, run.id, queue="classify")
            db.session.refresh(run)
        return run


@blp.route("/themes/runs/<int:run_id>")
class RunResource(MethodView):
    @blp.response(200, RunOut)
    def get(self, run_id):
        _lead()
        return db.get_or_404(ThemeRun, run_id)


@blp.route("/themes/<int:theme_id>")
class ThemeResource(MethodView):
    @blp.arguments(NameIn)
    @blp.response(200, ThemeOut)
    def patch(self, data, theme_id):
        """Rename a proposed theme."""
        user = _lead()
        return themes.rename(user, themes.get_theme(user, theme_id), data["name"])


@blp.route("/themes/<int:theme_id>/accept")
class Accept(MethodView):
    @blp.arguments(AcceptIn)
    @blp.response(201, TopicOut)
    def post(self, data, theme_id):
        """The theme becomes a topic with its key phrases (409 when a topic has that name)."""
        user = _lead()
        return themes.accept(user, themes.get_theme(user, theme_id), data["name"])


@blp.route("/themes/<int:theme_id>/merge")
class Merge(MethodView):
    @blp.arguments(MergeIn)
    @blp.response(200, ThemeOut)
    def post(self, data, theme_id):
        """Merge this theme into another of the same run; the other is returned."""
        user = _lead()
        return themes.merge(user, themes.get_theme(user, theme_id), data["into_id"])


@blp.route("/themes/<int:theme_id>/dismiss")
class Dismiss(MethodView):
    @blp.response(200, ThemeOut)
    def post(self, theme_id):
        """Not proposed again by later runs."""
        user = _lead()
        theme = themes.get_theme(user, theme_id)
        themes.dismiss(user, theme)
        return theme
