"""The /api/v1 endpoints: parse with marshmallow, call a service, serialize. Paths are stable."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort
from flask.views import MethodView
from sqlalchemy import select

from vocloop.api import schemas
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
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
from vocloop.surveys import sends
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Survey, SurveySend

blp = api_blueprint("api_v1", __name__, "vocloop JSON API, version 1")


@blp.route("/contacts/bulk")
class ContactsBulk(MethodView):
    @blp.arguments(schemas.ContactsBulkIn)
    @blp.response(200, schemas.ContactsBulkOut)
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
    @blp.response(200, schemas.ContactExportOut)
    def get(self, contact_id):
        """Everything stored about one contact (a data subject access request). Admins only."""
        require_role("admin")
        return privacy.export_contact(db.get_or_404(Contact, contact_id))


@blp.route("/contacts/<int:contact_id>/erase")
class ContactErase(MethodView):
    @blp.response(200, schemas.ContactErasedOut)
    def post(self, contact_id):
        """Erase one contact: identity and free text removed, numbers kept for metrics. Admins only."""
        require_role("admin")
        counts = privacy.erase_contact(db.get_or_404(Contact, contact_id))
        return {"erased": contact_id, "changed": counts}


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.response(200, schemas.SurveyOut(many=True))
    def get(self):
        """Every survey, newest first."""
        require_role("lead", "admin")
        return db.session.scalars(select(Survey).order_by(Survey.id.desc())).all()

    @blp.arguments(schemas.SurveyIn)
    @blp.response(201, schemas.SurveyOut)
    def post(self, data):
        """Create a survey; wording defaults to the standard question of its kind."""
        require_role("lead", "admin")
        return surveys.create_survey(**data)


@blp.route("/surveys/<int:survey_id>")
class SurveyResource(MethodView):
    @blp.response(200, schemas.SurveyOut)
    def get(self, survey_id):
        require_role("lead", "admin")
        return db.get_or_404(Survey, survey_id)

    @blp.arguments(schemas.SurveyPatch)
    @blp.response(200, schemas.SurveyOut)
    def patch(self, data, survey_id):
        """Change wording or settings (emails already sent keep theirs); active=false stops sending."""
        require_role("lead", "admin")
        return surveys.update_survey(db.get_or_404(Survey, survey_id), **data)


@blp.route("/surveys/<int:survey_id>/invitations")
class Invitations(MethodView):
    @blp.arguments(schemas.InvitationsIn)
    @blp.response(202, schemas.InvitationsOut)
    def post(self, data, survey_id):
        """Send the survey to contacts; contacts who must not be asked now are listed as skipped."""
        require_role("lead", "admin")
        survey = db.get_or_404(Survey, survey_id)
        outcome = surveys.send_invitations(survey, data["contact_ids"])
        return {"invitations": outcome.invitations,
                "skipped": [{"contact_id": cid, "reason": reason} for cid, reason in outcome.skipped]}


@blp.route("/surveys/<int:survey_id>/sends")
class Sends(MethodView):
    @blp.response(200, schemas.SendOut(many=True))
    def get(self, survey_id):
        """The survey's sends, newest first."""
        require_role("lead", "admin")
        db.get_or_404(Survey, survey_id)
        return db.session.scalars(select(SurveySend).where(SurveySend.survey_id == survey_id)
                                  .order_by(SurveySend.id.desc()).limit(200)).all()

    @blp.arguments(schemas.SendIn)
    @blp.response(201, schemas.SendOut)
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
    @blp.response(200, schemas.SendOut)
    def post(self, send_id):
        require_role("lead", "admin")
        send = db.get_or_404(SurveySend, send_id)
        sends.cancel_send(send)
        return send


@blp.route("/invitations")
class Trigger(MethodView):
    @blp.arguments(schemas.TriggerIn)
    @blp.response(202, schemas.TriggerOut)
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
    @blp.arguments(schemas.ClosureQuery, location="query")
    @blp.response(200, schemas.ClosureOut)
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
    @blp.arguments(schemas.ScoresQuery, location="query")
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
    @blp.arguments(schemas.MetricsQuery, location="query")
    @blp.response(200, schemas.LoopEffectOut)
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
    @blp.arguments(schemas.MetricsQuery, location="query")
    @blp.response(200, schemas.RevenueAtRiskOut)
    def get(self, args):
        """The annual value of accounts with open detractor items (each account once), by team, topic
        and owner, the accounts with the oldest open item first; and the value of accounts whose
        detractor items had their loops closed in the period ("saved")."""
        period, scope = _period_and_scope(args)
        return {**effect.revenue_at_risk(period.start, period.end, utcnow(), scope), **period.query_args()}
