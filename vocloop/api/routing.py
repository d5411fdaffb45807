"""/api/v1 for leads and admins: routing rules (with dry run), SLA policies, the calendar, closing
templates, and the people changes that move ownership (deactivation, time off, leaving a team)."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from vocloop.accounts import service as accounts
from vocloop.accounts.models import Team, User
from vocloop.api import schemas
from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import Shaped, positive_ids_in
from vocloop.api.schemas import CLOCK_TIME, Int, Moment
from vocloop.extensions import db
from vocloop.items import closing_templates, handover
from vocloop.routing import service as routing
from vocloop.routing import sla
from vocloop.routing.decide import RuleSpec
from vocloop.routing.models import RoutingRule
from vocloop.routing.rules import condition_errors
from vocloop.values import BANDS, PRIORITIES, SENTIMENTS

RULE_SPEC_FIELDS = ("name", "position", "conditions", "action", "user_id", "team_id", "team_strategy", "enabled")
blp = api_blueprint("api_v1_routing", __name__, "Routing, SLA and ownership")


class RoutingConditions(Schema):
    """The conditions of a routing rule, all of which must hold (routing.rules checks them)."""

    survey_ids = fields.List(Int(validate=validate.Range(min=1)))
    score_min = Int()
    score_max = Int()
    sentiments = fields.List(fields.String(validate=validate.OneOf(SENTIMENTS)))
    bands = fields.List(fields.String(validate=validate.OneOf(BANDS)),
                        metadata={"description": "the score's band: detractor/passive/promoter and the like"})
    priorities = fields.List(fields.String(validate=validate.OneOf(PRIORITIES)))
    topics = fields.List(fields.String())
    languages = fields.List(fields.String())
    account_ids = fields.List(Int(validate=validate.Range(min=1)))
    urgent = fields.Boolean()
    attributes = fields.Dict(metadata={"description": "contact attribute name -> a value or a list of values"})


class RoutingRuleIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    position = Int(load_default=100)
    enabled = fields.Boolean(load_default=True)
    conditions = Shaped(RoutingConditions, load_default=dict)
    action = fields.String(required=True, validate=validate.OneOf(["user", "team", "account_owner"]))
    user_id = Int(load_default=None, allow_none=True)
    team_id = Int(load_default=None, allow_none=True)
    team_strategy = fields.String(load_default="round_robin",
                                  validate=validate.OneOf(["round_robin", "least_loaded"]))
    notify_user_id = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    notify_team_id = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    notify_slack_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class RoutingRuleOut(Schema):
    id = Int()
    name = fields.String()
    position = Int()
    enabled = fields.Boolean()
    conditions = Shaped(RoutingConditions)
    action = fields.String()
    user_id = Int(allow_none=True)
    team_id = Int(allow_none=True)
    team_strategy = fields.String()
    notify_user_id = Int(allow_none=True)
    notify_team_id = Int(allow_none=True)
    notify_slack_url = fields.String(allow_none=True)


class RoutingRulePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    position = Int()
    enabled = fields.Boolean()
    conditions = Shaped(RoutingConditions)
    action = fields.String(validate=validate.OneOf(["user", "team", "account_owner"]))
    user_id = Int(allow_none=True)
    team_id = Int(allow_none=True)
    team_strategy = fields.String(validate=validate.OneOf(["round_robin", "least_loaded"]))
    notify_user_id = Int(allow_none=True, validate=validate.Range(min=1))
    notify_team_id = Int(allow_none=True, validate=validate.Range(min=1))
    notify_slack_url = fields.String(allow_none=True, validate=validate.Length(max=500))


class DryRunIn(Schema):
    rules = fields.List(fields.Nested(RoutingRuleIn), required=True, validate=validate.Length(max=200))
    days = Int(load_default=30, validate=validate.Range(min=1, max=365))


class SlaPolicyIO(Schema):
    priority = fields.String(dump_only=True)
    first_action_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    close_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    business_hours = fields.Boolean(load_default=False)


class CalendarIO(Schema):
    timezone = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "an IANA time zone, like Europe/Berlin (not an enum: generated clients cannot name "
                       "GMT+0 and GMT-0 apart)"})
    workdays = fields.List(Int(validate=validate.Range(min=0, max=6)), required=True)
    start = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME))
    end = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME), metadata={"description": "after start"})
    holidays = fields.List(fields.String(validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$")), load_default=list)


class UserPatch(Schema):
    active = fields.Boolean()
    notify_new_items = fields.String(validate=validate.OneOf(["immediate", "digest", "off"]))
    weekly_digest = fields.Boolean(metadata={"description": "leads and admins: the weekly metrics email"})
    away_until = Moment(allow_none=True)
    delegate_id = Int(allow_none=True)


class ClosingTemplateIO(Schema):
    id = Int(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    survey_id = Int(load_default=None, allow_none=True)
    topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class ClosingTemplatePatch(ClosingTemplateIO):
    """The same fields, each optional: only what is sent changes."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class DryRunSampleOut(Schema):
    item_id = Int()
    current_owner = fields.String()
    proposed_owner = fields.String()
    proposed_reason = fields.String()


class DryRunOut(Schema):
    days = Int()
    items = Int()
    changed = Int(metadata={"description": "items that would go to another team or person (a team rule that "
                                           "still applies does not count, whichever member its rotation picks)"})
    current = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "owner name -> items"})
    proposed = fields.Dict(keys=fields.String(), values=Int())
    samples = fields.List(fields.Nested(DryRunSampleOut))


@blp.route("/routing-rules")
class RoutingRules(MethodView):
    @blp.response(200, RoutingRuleOut(many=True))
    def get(self):
        """All rules in the order they are tried."""
        require_role("lead", "admin")
        return db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)).all()

    @blp.arguments(RoutingRuleIn)
    @blp.response(201, RoutingRuleOut)
    def post(self, data):
        """Add a rule; rules are tried by position, the first that yields an owner wins."""
        require_role("lead", "admin")
        return routing.create_rule(**data)


@blp.route("/routing-rules/<int:rule_id>")
class RoutingRuleResource(MethodView):
    @blp.arguments(RoutingRulePatch)
    @blp.response(200, RoutingRuleOut)
    def patch(self, data, rule_id):
        require_role("lead", "admin")
        return routing.update_rule(db.get_or_404(RoutingRule, rule_id), **data)

    @blp.response(204)
    def delete(self, rule_id):
        require_role("lead", "admin")
        routing.delete_rule(db.get_or_404(RoutingRule, rule_id))


@blp.route("/routing-rules/dry-run")
class RoutingDryRun(MethodView):
    @blp.arguments(DryRunIn)
    @blp.response(200, DryRunOut)
    def post(self, data):
        """How the last `days` of items would be routed by these rules (the whole proposed set, in
        order) compared with the rules in force; nothing is saved."""
        require_role("lead", "admin")
        proposed = []
        for index, rule in enumerate(data["rules"]):
            problems = condition_errors(rule["conditions"])
            if problems:
                abort(422, description=f"rule {index + 1}: {'; '.join(problems)}")
            proposed.append(RuleSpec(id=-(index + 1), **{key: rule[key] for key in RULE_SPEC_FIELDS}))
        return routing.dry_run(proposed, data["days"])


@blp.route("/sla-policies")
class SlaPolicies(MethodView):
    @blp.response(200, SlaPolicyIO(many=True))
    def get(self):
        require_role("lead", "admin")
        return [policy for _, policy in sorted(sla.policies().items())]


@blp.route("/sla-policies/<priority>", parameters=[{"in": "path", "name": "priority", "required": True,
                                                    "schema": {"type": "string", "enum": list(PRIORITIES)}}])
class SlaPolicyResource(MethodView):
    @blp.arguments(SlaPolicyIO)
    @blp.response(200, SlaPolicyIO)
    def put(self, data, priority):
        """Applies to items opened from now on; open items keep the due times they were given."""
        require_role("admin")
        return sla.update_policy(priority, **data)


@blp.route("/business-calendar")
class Calendar(MethodView):
    @blp.response(200, CalendarIO)
    def get(self):
        require_role("lead", "admin")
        calendar = sla.business_calendar()
        return {"timezone": calendar.timezone, "workdays": list(calendar.workdays),
                "start": calendar.start.strftime("%H:%M"), "end": calendar.end.strftime("%H:%M"),
                "holidays": sorted(day.isoformat() for day in calendar.holidays)}

    @blp.arguments(CalendarIO)
    @blp.response(200, CalendarIO)
    def put(self, data):
        require_role("admin")
        return sla.update_calendar(**data)


@blp.route("/users/<int:user_id>")
class UserResource(MethodView):
    @blp.response(200, schemas.UserOut)
    def get(self, user_id):
        """One user. Admins; anyone may read their own."""
        if api_user().id != user_id:
            require_role("admin")
        return db.get_or_404(User, user_id)

    @blp.arguments(UserPatch)
    @blp.response(200, schemas.UserOut)
    def patch(self, data, user_id):
        """Deactivate (open items are handed over first), set time off with a delegate, or choose how
        new items are announced (immediate, digest, off). Admins; anyone may change their own."""
        actor = api_user()
        user = db.get_or_404(User, user_id)
        if "active" in data or actor.id != user.id:
            require_role("admin")
        if "away_until" in data or "delegate_id" in data:
            handover.set_away(user, data.get("away_until"), data.get("delegate_id"))
        accounts.set_preferences(user, notify_new_items=data.get("notify_new_items"),
                                 weekly_digest=data.get("weekly_digest"))
        if data.get("active") is False:
            handover.deactivate_user(user, actor)
        elif data.get("active") is True and not user.active:
            accounts.reactivate_user(user)
        return user


@blp.route("/teams/<int:team_id>/members/<int:user_id>")
class TeamMember(MethodView):
    @blp.response(204)
    def delete(self, team_id, user_id):
        """Take someone out of a team (admins anyone, a team's lead owners only); their open items
        of that team are handed over."""
        require_role("lead", "admin")
        handover.remove_from_team(db.get_or_404(User, user_id), db.get_or_404(Team, team_id), api_user())


@blp.route("/closing-templates")
class ClosingTemplates(MethodView):
    @blp.response(200, ClosingTemplateIO(many=True))
    def get(self):
        require_role("lead", "admin")
        return closing_templates.all_templates()

    @blp.arguments(ClosingTemplateIO)
    @blp.response(201, ClosingTemplateIO)
    def post(self, data):
        """A closing-message template for a survey and/or topic (or all), with placeholders
        {first_name} {name} {owner_name} {survey_title} {score} ({survey_name} is {survey_title})."""
        require_role("lead", "admin")
        return closing_templates.create_template(**data)


@blp.route("/closing-templates/<int:template_id>")
class ClosingTemplateResource(MethodView):
    @blp.response(200, ClosingTemplateIO)
    def get(self, template_id):
        require_role("lead", "admin")
        return closing_templates.get_template(template_id)

    @blp.arguments(ClosingTemplatePatch)
    @blp.response(200, ClosingTemplateIO)
    def patch(self, data, template_id):
        """Change a template: only the fields sent change (survey_id or topic null: every survey or topic)."""
        require_role("lead", "admin")
        return closing_templates.update_template(closing_templates.get_template(template_id), **data)

    @blp.response(204)
    def delete(self, template_id):
        require_role("lead", "admin")
        closing_templates.delete_template(closing_templates.get_template(template_id))


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
