"""The /api/v1 endpoints: parse with marshmallow, call a service, serialize. Paths are stable."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from vocloop.api import schemas
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import Shaped, positive_ids_in
from vocloop.api.schemas import LANGUAGES, ClosureGroupOut, ContactIn, Day, Int, Moment, _closure_fields, one_of
from vocloop.contacts import privacy
from vocloop.contacts import service as contacts
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.permissions import visible_items_filter
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import run_due_sends
from vocloop.metrics import effect, scores
from vocloop.metrics import queries as metrics
from vocloop.metrics.period import period_of_days
from vocloop.metrics.queries import GROUPS as METRIC_GROUPS
from vocloop.surveys import sends
from vocloop.surveys import service as surveys
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import OPEN_ITEM_RULES, Survey, SurveySend
from vocloop.surveys.service import INVITATION_STATUS_RANK
from vocloop.values import PRIORITIES, SENTIMENTS

blp = api_blueprint("api_v1", __name__, "vocloop JSON API, version 1")


class ContactsBulkIn(Schema):
    # Rows are checked one by one (as ContactIn) so that one bad row does not refuse the others.
    contacts = fields.List(Shaped(ContactIn), required=True, validate=validate.Length(min=1, max=1000))


class BulkRowOut(Schema):
    index = Int()
    status = fields.String(validate=one_of(("created", "updated", "unchanged", "rejected")))
    id = Int(allow_none=True)
    error = fields.String(allow_none=True)


class ContactsBulkOut(Schema):
    created = Int()
    updated = Int()
    unchanged = Int()
    rejected = Int()
    results = fields.List(fields.Nested(BulkRowOut))


class SurveyIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "internal: never shown to customers"})
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                          metadata={"description": "what customers may see it called; null: never named to them"})
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    company = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100),
                            metadata={"description": "named in the standard question; default: the company profile's"})
    question = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500))
    comment_prompt = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500))
    subject = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    intro = fields.String(load_default="", validate=validate.Length(max=2000))
    sender_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                                metadata={"description": "null: the company profile's sender"})
    sender_email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=320),
                                 metadata={"description": "null: the company profile's sender address"})
    quarantine_days = Int(load_default=90, validate=validate.Range(min=0, max=3650))
    link_expiry_days = Int(load_default=30, validate=validate.Range(min=1, max=365))
    followups = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                            values=fields.String(validate=validate.Length(max=500)), load_default=dict,
                            metadata={"description": "a second question on the answer page, by score band"})
    thanks = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                         values=fields.String(validate=validate.Length(max=1000)), load_default=dict,
                         metadata={"description": "the thank-you page's message, by score band"})
    review_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                               metadata={"description": "an https:// review site offered to promoters on the "
                                                        "thank-you page"})
    brand_color = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"),
                                metadata={"description": "buttons' colour; white text on it must reach 4.5:1; "
                                                         "null: the company profile's"})
    logo_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    open_items_for = fields.String(load_default=None, validate=validate.OneOf(OPEN_ITEM_RULES))
    reminder_days = Int(load_default=3, allow_none=True, validate=validate.Range(min=1, max=30),
                        metadata={"description": "one reminder to non-responders after this many days; null: none"})
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))


class SurveyOut(Schema):
    id = Int()
    name = fields.String()
    title = fields.String(allow_none=True)
    kind = fields.String(validate=one_of(KINDS))
    question = fields.String()
    comment_prompt = fields.String()
    subject = fields.String()
    intro = fields.String()
    sender_name = fields.String(allow_none=True)
    sender_email = fields.String(allow_none=True)
    followups = fields.Dict(keys=fields.String(), values=fields.String())
    thanks = fields.Dict(keys=fields.String(), values=fields.String())
    review_url = fields.String(allow_none=True)
    brand_color = fields.String(allow_none=True)
    logo_url = fields.String(allow_none=True)
    open_items_for = fields.String(validate=one_of(OPEN_ITEM_RULES))
    reminder_days = Int(allow_none=True)
    language = fields.String(validate=one_of(LANGUAGES))
    quarantine_days = Int()
    link_expiry_days = Int()
    active = fields.Boolean()
    created_at = fields.DateTime()


class InvitationsIn(Schema):
    contact_ids = fields.List(Int(), required=True, validate=validate.Length(min=1, max=1000))


class InvitationOut(Schema):
    id = Int()
    contact_id = Int()
    status = fields.String(validate=one_of(INVITATION_STATUS_RANK), metadata={
        "description": "the survey email's status, which only moves up the list (bounced, dropped, failed: never "
                       "arrived)"})
    expires_at = fields.DateTime()


class SkippedOut(Schema):
    contact_id = Int()
    reason = fields.String()


class InvitationsOut(Schema):
    invitations = fields.List(fields.Nested(InvitationOut))
    skipped = fields.List(fields.Nested(SkippedOut))


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


class SurveyPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    title = fields.String(allow_none=True, validate=validate.Length(max=200))
    question = fields.String(validate=validate.Length(min=1, max=500))
    comment_prompt = fields.String(validate=validate.Length(min=1, max=500))
    subject = fields.String(validate=validate.Length(min=1, max=200))
    intro = fields.String(validate=validate.Length(max=2000))
    sender_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    sender_email = fields.String(allow_none=True, validate=validate.Length(max=320))
    quarantine_days = Int(validate=validate.Range(min=0, max=3650))
    link_expiry_days = Int(validate=validate.Range(min=1, max=365))
    active = fields.Boolean()
    followups = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                            values=fields.String(validate=validate.Length(max=500)))
    thanks = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                         values=fields.String(validate=validate.Length(max=1000)))
    review_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    brand_color = fields.String(allow_none=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"))
    logo_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    open_items_for = fields.String(validate=validate.OneOf(OPEN_ITEM_RULES))
    reminder_days = Int(allow_none=True, validate=validate.Range(min=1, max=30))
    language = fields.String(validate=validate.Length(min=2, max=10))


class TriggerIn(Schema):
    survey_id = Int(required=True)
    contact = Shaped(ContactIn, required=True, metadata={
        "description": "the contact, as for POST /contacts: created if new, updated by external_id or email"})


class TriggerOut(Schema):
    contact_id = Int()
    invitation = fields.Nested(InvitationOut, allow_none=True)
    skipped = fields.String(allow_none=True, metadata={
        "description": "why no survey was sent: open_item, quarantine, unsubscribed, suppressed (...)"})


class ClosureOut(Schema.from_dict({
        "from": fields.String(metadata={"description": "first day, included"}),
        "to": fields.String(metadata={"description": "last day, included, as the Metrics page shows it"}),
        "group_by": fields.String(validate=one_of(METRIC_GROUPS), metadata={"description": "only when grouped"}),
        "groups": fields.List(fields.Nested(ClosureGroupOut), metadata={"description": "only when grouped"}),
        **_closure_fields()})):
    class Meta:
        optional_output = ("group_by", "groups")


class ContactExportOut(Schema):
    exported_at = fields.String()
    contact = fields.Dict()
    invitations = fields.List(fields.Dict())
    responses = fields.List(fields.Dict())
    items = fields.List(fields.Dict())
    emails = fields.List(fields.Dict())
    replies = fields.List(fields.Dict())


class ContactErasedOut(Schema):
    erased = Int()
    changed = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "rows changed, by kind"})


class Audience(Schema):
    """Who a send goes to: one of list_id, attributes (optionally with account_id) or all."""

    list_id = Int(validate=validate.Range(min=1))
    attributes = fields.Dict(metadata={"description": "contact attribute name -> value"})
    account_id = Int(validate=validate.Range(min=1))
    all = fields.Boolean()


class SendIn(Schema):
    audience = Shaped(Audience, required=True, metadata={
        "description": '{"list_id": 3}, {"attributes": {"plan": "pro"}, "account_id": 7} or {"all": true}'})
    run_at = Moment(load_default=None, metadata={"description": "when (with its UTC offset); now if absent"})
    repeat_days = Int(load_default=None, allow_none=True, validate=validate.Range(min=1, max=366),
                      metadata={"description": "run again every this many days (the quarantine still applies)"})


class SendOut(Schema):
    id = Int()
    survey_id = Int()
    audience = Shaped(Audience)
    status = fields.String(validate=one_of(("scheduled", "running", "done", "cancelled")))
    run_at = fields.DateTime()
    repeat_days = Int(allow_none=True)
    runs = Int()
    invited = Int()
    skipped = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "reason -> contacts"})
    last_run_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


@blp.route("/contacts/bulk")
class ContactsBulk(MethodView):
    @blp.arguments(ContactsBulkIn)
    @blp.response(200, ContactsBulkOut)
    def post(self, data):
        """Create or update up to 1,000 contacts by external_id, else email. Each row is checked on its
        own: valid rows are stored, invalid ones come back rejected with the reason. Consent is never
        changed here (an unsubscribed contact stays unsubscribed)."""
        require_role("lead", "admin")
        rows = []
        for row in data["contacts"]:
            errors = schemas.ContactIn().validate(row)
            rows.append(schemas.describe_errors(errors) if errors else schemas.ContactIn().load(row))
        report = contacts.upsert_contacts(rows)
        return {**report.counts(), "results": report.rows}


@blp.route("/contacts/<int:contact_id>/export")
class ContactExport(MethodView):
    @blp.response(200, ContactExportOut)
    def get(self, contact_id):
        """Everything stored about one contact (a data subject access request). Admins only."""
        require_role("admin")
        return privacy.export_contact(db.get_or_404(Contact, contact_id))


@blp.route("/contacts/<int:contact_id>/erase")
class ContactErase(MethodView):
    @blp.response(200, ContactErasedOut)
    def post(self, contact_id):
        """Erase one contact: identity and free text removed, numbers kept for metrics. Admins only."""
        require_role("admin")
        counts = privacy.erase_contact(db.get_or_404(Contact, contact_id))
        return {"erased": contact_id, "changed": counts}


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.response(200, SurveyOut(many=True))
    def get(self):
        """Every survey, newest first."""
        require_role("lead", "admin")
        return db.session.scalars(select(Survey).order_by(Survey.id.desc())).all()

    @blp.arguments(SurveyIn)
    @blp.response(201, SurveyOut)
    def post(self, data):
        """Create a survey; wording defaults to the standard question of its kind."""
        require_role("lead", "admin")
        return surveys.create_survey(**data)


@blp.route("/surveys/<int:survey_id>")
class SurveyResource(MethodView):
    @blp.response(200, SurveyOut)
    def get(self, survey_id):
        require_role("lead", "admin")
        return db.get_or_404(Survey, survey_id)

    @blp.arguments(SurveyPatch)
    @blp.response(200, SurveyOut)
    def patch(self, data, survey_id):
        """Change wording or settings (emails already sent keep theirs); active=false stops sending."""
        require_role("lead", "admin")
        return surveys.update_survey(db.get_or_404(Survey, survey_id), **data)


@blp.route("/surveys/<int:survey_id>/invitations")
class Invitations(MethodView):
    @blp.arguments(InvitationsIn)
    @blp.response(202, InvitationsOut)
    def post(self, data, survey_id):
        """Send the survey to contacts; contacts who must not be asked now are listed as skipped."""
        require_role("lead", "admin")
        survey = db.get_or_404(Survey, survey_id)
        outcome = surveys.send_invitations(survey, data["contact_ids"])
        return {"invitations": outcome.invitations,
                "skipped": [{"contact_id": cid, "reason": reason} for cid, reason in outcome.skipped]}


@blp.route("/surveys/<int:survey_id>/sends")
class Sends(MethodView):
    @blp.response(200, SendOut(many=True))
    def get(self, survey_id):
        """The survey's sends, newest first."""
        require_role("lead", "admin")
        db.get_or_404(Survey, survey_id)
        return db.session.scalars(select(SurveySend).where(SurveySend.survey_id == survey_id)
                                  .order_by(SurveySend.id.desc()).limit(200)).all()

    @blp.arguments(SendIn)
    @blp.response(201, SendOut)
    def post(self, data, survey_id):
        """Send to an audience now, at run_at, or every repeat_days; each run goes through the fatigue
        and consent rules and counts whom it skipped and why."""
        user = require_role("lead", "admin")
        send = sends.schedule_send(user, db.get_or_404(Survey, survey_id), data["audience"], data["run_at"],
                                   data["repeat_days"])
        if data["run_at"] is None:
            enqueue(run_due_sends)
        return send


@blp.route("/sends/<int:send_id>/cancel")
class CancelSend(MethodView):
    @blp.response(200, SendOut)
    def post(self, send_id):
        require_role("lead", "admin")
        send = db.get_or_404(SurveySend, send_id)
        sends.cancel_send(send)
        return send


@blp.route("/invitations")
class Trigger(MethodView):
    @blp.arguments(TriggerIn)
    @blp.response(202, TriggerOut)
    def post(self, data):
        """Ask one contact now (e.g. when their support ticket closes): the contact is created or updated
        as by POST /contacts/bulk, then sent the survey unless the fatigue and consent rules say no
        (then `skipped` says why and nothing is sent)."""
        require_role("lead", "admin")
        survey = db.get_or_404(Survey, data["survey_id"])
        errors = schemas.ContactIn().validate(data["contact"])
        if errors:
            abort(422, description="contact: " + schemas.describe_errors(errors))
        report = contacts.upsert_contacts([schemas.ContactIn().load(data["contact"])])
        result = report.rows[0]
        if result["status"] == "rejected":
            abort(422, description=f"contact: {result['error']}")
        outcome = surveys.send_invitations(survey, [result["id"]])
        return {"contact_id": result["id"],
                "invitation": outcome.invitations[0] if outcome.invitations else None,
                "skipped": outcome.skipped[0][1] if outcome.skipped else None}


@blp.route("/metrics/closure")
class Closure(MethodView):
    @blp.arguments(ClosureQuery, location="query")
    @blp.response(200, ClosureOut)
    def get(self, args):
        """Loop-closure figures for items opened from `from` to `to`, both days included (UTC; the 30
        days ending today by default), as the Metrics page reads them (vocloop/metrics/period.py)."""
        user = require_role("lead", "admin")
        try:
            period = period_of_days(args["from_"], args["to"], datetime.now(UTC).date())
        except ValueError as exc:
            abort(422, description=str(exc))
        scope = None if user.role == "admin" else visible_items_filter(user)  # leads: their teams
        filters = metrics.item_filter(**{name: args[name] for name in metrics.FILTERS})
        figures = metrics.closure(period.start, period.end, args["group_by"], metrics.narrowed(scope, filters))
        return {**figures, **period.query_args()}  # from/to: the days given, `to` included, as on the page


def _period_and_scope(args):
    """A lead's or admin's period (both days included) and the items they may count, with the filters."""
    user = require_role("lead", "admin")
    today = datetime.now(UTC).date()
    try:
        period = period_of_days(args["from_"], args["to"], today)
    except ValueError as exc:
        abort(422, description=str(exc))
    scope = None if user.role == "admin" else visible_items_filter(user)
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
