"""The Metrics page's figures: loop closure, NPS/CSAT/CES, the loop's effect, revenue at risk; each
computed by vocloop/metrics, for the days from `from` to `to`, both included."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from vocloop.api import schemas
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_v1 as blp
from vocloop.api.contract import positive_ids_in
from vocloop.api.schemas import ClosureGroupOut, Day, Int, _closure_fields, one_of
from vocloop.db import utcnow
from vocloop.items.permissions import visible_items_filter
from vocloop.metrics import effect, scores
from vocloop.metrics import queries as metrics
from vocloop.metrics.period import period_of_days
from vocloop.metrics.queries import GROUPS as METRIC_GROUPS
from vocloop.surveys.kinds import KINDS
from vocloop.values import PRIORITIES, SENTIMENTS


class ClosureQuery(Schema):
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)
    group_by = fields.String(load_default=None, validate=validate.OneOf(list(METRIC_GROUPS)))
    # Filters: the figures of these items only.
    owner_id = Int(load_default=None, validate=validate.Range(min=1))
    team_id = Int(load_default=None, validate=validate.Range(min=1))
    survey_id = Int(load_default=None, validate=validate.Range(min=1))
    account_id = Int(load_default=None, validate=validate.Range(min=1))
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    sentiment = fields.String(load_default=None, validate=validate.OneOf(SENTIMENTS))
    topic = fields.String(load_default=None, validate=validate.Length(min=1, max=60))


class MetricsQuery(ClosureQuery):
    """A period and filters, without grouping."""

    class Meta:
        exclude = ("group_by",)


class ScoresQuery(Schema):
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)
    interval = fields.String(load_default="week", validate=validate.OneOf(["day", "week", "month"]))
    survey_id = Int(load_default=None, validate=validate.Range(min=1))


class ClosureOut(Schema.from_dict({
        "from": fields.String(metadata={"description": "first day, included"}),
        "to": fields.String(metadata={"description": "last day, included, as the Metrics page shows it"}),
        "group_by": fields.String(validate=one_of(METRIC_GROUPS), metadata={"description": "only when grouped"}),
        "groups": fields.List(fields.Nested(ClosureGroupOut), metadata={"description": "only when grouped"}),
        **_closure_fields()})):
    class Meta:
        optional_output = ("group_by", "groups")


class EffectGroupOut(Schema):
    key = fields.String(validate=one_of(("closed_in_sla", "closed_late", "closed_without_message", "not_closed",
                                         "resolved", "not_resolved")))
    label = fields.String()
    customers = Int(metadata={"description": "customers who answered the same survey again after the loop ended"})
    enough = fields.Boolean(metadata={"description": "at least min_customers: below it, conclude nothing"})
    mean_change = fields.Float(allow_none=True, metadata={
        "description": "mean change from the opening answer to the next, on a 0-100 scale"})
    ci_low = fields.Float(allow_none=True, metadata={"description": "95% interval of mean_change (Student's t)"})
    ci_high = fields.Float(allow_none=True)
    mean_change_points = fields.Float(allow_none=True, metadata={
        "description": "the same in the survey's own points, when the group holds one kind of survey"})
    survey_kind = fields.String(allow_none=True, validate=one_of(KINDS))
    conclusion = fields.String(metadata={"description": "what the figures allow one to say, in words"})


class NextSurveyOut(Schema):
    key = fields.String(validate=one_of(("closed", "not_closed")))
    label = fields.String()
    asked_again = Int()
    answered = Int()
    response_rate = fields.Float(allow_none=True)


class LoopEffectOut(Schema):
    from_ = fields.String(attribute="from", data_key="from", metadata={"description": "first day, included"})
    to = fields.String(metadata={"description": "last day, included"})
    items = Int(metadata={"description": "items opened in the period (with the filters)"})
    answered_again = Int()
    min_customers = Int()
    outcomes = fields.List(fields.Nested(EffectGroupOut))
    verdicts = fields.List(fields.Nested(EffectGroupOut))
    next_survey = fields.List(fields.Nested(NextSurveyOut))


class RiskGroupOut(Schema):
    key = fields.Raw(allow_none=True, metadata={"oneOf": [{"type": "integer"}, {"type": "string"}],
                                                "description": "a team or owner id, or a topic"})
    label = fields.String()
    at_risk = Int()
    accounts = Int()


class RiskAccountOut(Schema):
    account_id = Int()
    account = fields.String()
    annual_value = Int()
    open_items = Int()
    oldest_item_id = Int()
    oldest_opened_at = fields.String()
    days_open = Int()
    owner_id = Int()
    owner = fields.String(allow_none=True)


class RevenueAtRiskOut(Schema):
    from_ = fields.String(attribute="from", data_key="from", metadata={"description": "first day, included"})
    to = fields.String(metadata={"description": "last day, included"})
    at_risk = Int(metadata={"description": "annual value of accounts with an open detractor item"})
    accounts_at_risk = Int()
    saved = Int(metadata={"description": "annual value of accounts whose detractor loops closed in the period"})
    accounts_saved = Int()
    by_team = fields.List(fields.Nested(RiskGroupOut))
    by_topic = fields.List(fields.Nested(RiskGroupOut))
    by_owner = fields.List(fields.Nested(RiskGroupOut))
    accounts = fields.List(fields.Nested(RiskAccountOut), metadata={"description": "oldest open item first"})


@blp.route("/metrics/closure")
class Closure(MethodView):
    @blp.arguments(ClosureQuery, location="query")
    @blp.response(200, ClosureOut)
    def get(self, args):
        """Loop-closure figures for items opened from `from` to `to`, both days included (UTC; the 30
        days ending today by default), as the Metrics page reads them (vocloop/metrics/period.py)."""
        period, scope = _period_and_scope(args)
        figures = metrics.closure(period.start, period.end, args["group_by"], scope)
        return {**figures, **period.query_args()}  # from/to: the days given, `to` included, as on the page


def _period_and_scope(args):
    """A lead's or admin's period (both days included) and the items they may count, with the filters."""
    user = require_role("lead", "admin")
    today = datetime.now(UTC).date()
    try:
        period = period_of_days(args["from_"], args["to"], today)
    except ValueError as exc:
        abort(422, description=str(exc))
    scope = None if user.role == "admin" else visible_items_filter(user)  # leads: their teams' items
    filters = metrics.item_filter(**{name: args[name] for name in metrics.FILTERS})
    return period, metrics.narrowed(scope, filters)


@blp.route("/metrics/scores")
class Scores(MethodView):
    @blp.arguments(ScoresQuery, location="query")
    @blp.response(200, schemas.ScoresOut)
    def get(self, args):
        """NPS, CSAT and CES per survey for answers of the period (both days included), with the split
        into promoters, passives and detractors (satisfied/neutral/dissatisfied, low/middle/high
        effort), the score of the period before, and the same per day, week or month: the Metrics
        page's "NPS, CSAT and CES" chart and table (vocloop/metrics/scores.py)."""
        require_role("lead", "admin")
        try:
            period = period_of_days(args["from_"], args["to"], datetime.now(UTC).date())
        except ValueError as exc:
            abort(422, description=str(exc))
        return {**period.query_args(), "interval": args["interval"],
                "surveys": scores.survey_trends(period.start, period.end, args["interval"], args["survey_id"])}


@blp.route("/metrics/loop-effect")
class LoopEffect(MethodView):
    @blp.arguments(MetricsQuery, location="query")
    @blp.response(200, LoopEffectOut)
    def get(self, args):
        """Does closing the loop pay? For items opened in the period: the change from the answer that
        opened each item to the customer's next answer to that survey after the loop ended, by how it
        ended and by the customer's verdict (mean on a 0-100 scale, 95% interval, and a plain-words
        conclusion that says when there are too few to conclude); and the next survey's response rate
        for loops closed with a message against the others (vocloop/metrics/effect.py)."""
        period, scope = _period_and_scope(args)
        return {**effect.loop_effect(period.start, period.end, scope), **period.query_args()}


@blp.route("/metrics/revenue-at-risk")
class RevenueAtRisk(MethodView):
    @blp.arguments(MetricsQuery, location="query")
    @blp.response(200, RevenueAtRiskOut)
    def get(self, args):
        """The annual value of accounts with open detractor items (each account once), by team, topic
        and owner, the accounts with the oldest open item first; and the value of accounts whose
        detractor items had their loops closed in the period ("saved")."""
        period, scope = _period_and_scope(args)
        return {**effect.revenue_at_risk(period.start, period.end, utcnow(), scope), **period.query_args()}


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
