"""/api/v1 for leads and admins: routing rules (with dry run), SLA policies, the calendar, closing
templates, and the people changes that move ownership (deactivation, time off, leaving a team)."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from sqlalchemy import select

from vocloop.accounts import service as accounts
from vocloop.accounts.models import Team, User
from vocloop.api import schemas
from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.extensions import db
from vocloop.items import closing_templates, handover
from vocloop.routing import service as routing
from vocloop.routing import sla
from vocloop.routing.decide import RuleSpec
from vocloop.routing.models import RoutingRule
from vocloop.routing.rules import condition_errors
from vocloop.values import PRIORITIES

RULE_SPEC_FIELDS = ("name", "position", "conditions", "action", "user_id", "team_id", "team_strategy", "enabled")
blp = api_blueprint("api_v1_routing", __name__, "Routing, SLA and ownership")


@blp.route("/routing-rules")
class RoutingRules(MethodView):
    @blp.response(200, schemas.RoutingRuleOut(many=True))
    def get(self):
        """All rules in the order they are tried."""
        require_role("lead", "admin")
        return db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)).all()

    @blp.arguments(schemas.RoutingRuleIn)
    @blp.response(201, schemas.RoutingRuleOut)
    def post(self, data):
        """Add a rule; rules are tried by position, the first that yields an owner wins."""
        require_role("lead", "admin")
        return routing.create_rule(**data)


@blp.route("/routing-rules/<int:rule_id>")
class RoutingRuleResource(MethodView):
    @blp.arguments(schemas.RoutingRulePatch)
    @blp.response(200, schemas.RoutingRuleOut)
    def patch(self, data, rule_id):
        require_role("lead", "admin")
        return routing.update_rule(db.get_or_404(RoutingRule, rule_id), **data)

    @blp.response(204)
    def delete(self, rule_id):
        require_role("lead", "admin")
        routing.delete_rule(db.get_or_404(RoutingRule, rule_id))


@blp.route("/routing-rules/dry-run")
class RoutingDryRun(MethodView):
    @blp.arguments(schemas.DryRunIn)
    @blp.response(200, schemas.DryRunOut)
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
    @blp.response(200, schemas.SlaPolicyIO(many=True))
    def get(self):
        require_role("lead", "admin")
        return [policy for _, policy in sorted(sla.policies().items())]


@blp.route("/sla-policies/<priority>", parameters=[{"in": "path", "name": "priority", "required": True,
                                                    "schema": {"type": "string", "enum": list(PRIORITIES)}}])
class SlaPolicyResource(MethodView):
    @blp.arguments(schemas.SlaPolicyIO)
    @blp.response(200, schemas.SlaPolicyIO)
    def put(self, data, priority):
        """Applies to items opened from now on; open items keep the due times they were given."""
        require_role("admin")
        return sla.update_policy(priority, **data)


@blp.route("/business-calendar")
class Calendar(MethodView):
    @blp.response(200, schemas.CalendarIO)
    def get(self):
        require_role("lead", "admin")
        calendar = sla.business_calendar()
        return {"timezone": calendar.timezone, "workdays": list(calendar.workdays),
                "start": calendar.start.strftime("%H:%M"), "end": calendar.end.strftime("%H:%M"),
                "holidays": sorted(day.isoformat() for day in calendar.holidays)}

    @blp.arguments(schemas.CalendarIO)
    @blp.response(200, schemas.CalendarIO)
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

    @blp.arguments(schemas.UserPatch)
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
    @blp.response(200, schemas.ClosingTemplateIO(many=True))
    def get(self):
        require_role("lead", "admin")
        return closing_templates.all_templates()

    @blp.arguments(schemas.ClosingTemplateIO)
    @blp.response(201, schemas.ClosingTemplateIO)
    def post(self, data):
        """A closing-message template for a survey and/or topic (or all), with placeholders
        {first_name} {name} {owner_name} {survey_title} {score} ({survey_name} is {survey_title})."""
        require_role("lead", "admin")
        return closing_templates.create_template(**data)


@blp.route("/closing-templates/<int:template_id>")
class ClosingTemplateResource(MethodView):
    @blp.response(200, schemas.ClosingTemplateIO)
    def get(self, template_id):
        require_role("lead", "admin")
        return closing_templates.get_template(template_id)

    @blp.arguments(schemas.ClosingTemplatePatch)
    @blp.response(200, schemas.ClosingTemplateIO)
    def patch(self, data, template_id):
        """Change a template: only the fields sent change (survey_id or topic null: every survey or topic)."""
        require_role("lead", "admin")
        return closing_templates.update_template(closing_templates.get_template(template_id), **data)

    @blp.response(204)
    def delete(self, template_id):
        require_role("lead", "admin")
        closing_templates.delete_template(closing_templates.get_template(template_id))
