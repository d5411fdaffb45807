"""Asking contacts: a survey sent to chosen contacts, to an audience (now, later or again and again),
or to one contact now (a trigger); each goes through the fatigue and consent rules."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from vocloop.api import schemas
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_v1 as blp
from vocloop.api.contract import Shaped, positive_ids_in
from vocloop.api.schemas import ContactIn, Int, Moment, one_of
from vocloop.contacts import service as contacts
from vocloop.extensions import db
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import run_due_sends
from vocloop.surveys import sends
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Survey, SurveySend
from vocloop.surveys.service import INVITATION_STATUS_RANK


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


class TriggerIn(Schema):
    survey_id = Int(required=True)
    contact = Shaped(ContactIn, required=True, metadata={
        "description": "the contact, as for POST /contacts: created if new, updated by external_id or email"})


class TriggerOut(Schema):
    contact_id = Int()
    invitation = fields.Nested(InvitationOut, allow_none=True)
    skipped = fields.String(allow_none=True, metadata={
        "description": "why no survey was sent: open_item, quarantine, unsubscribed, suppressed (...)"})


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


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
