"""The /api/v1 endpoints: parse with marshmallow, call a service, serialize. Paths are stable."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import abort
from flask.views import MethodView

from vocloop.api import schemas
from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.contacts import privacy
from vocloop.contacts import service as contacts
from vocloop.contacts.models import Contact
from vocloop.extensions import db
from vocloop.items import queries
from vocloop.items import service as items
from vocloop.items.permissions import visible_items_filter
from vocloop.jobs.queue import enqueue_queued_mail
from vocloop.metrics import queries as metrics
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Survey

blp = api_blueprint("api_v1", __name__, "vocloop JSON API, version 1")


@blp.route("/contacts")
class Contacts(MethodView):
    @blp.arguments(schemas.ContactIn)
    @blp.response(201, schemas.ContactOut)
    def post(self, data):
        """Create a contact (and its account, by name or external id, if new)."""
        require_role("lead", "admin")
        return contacts.create_contact(**data)


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
            rows.append(schemas.ContactIn().load(row) if not errors else
                        "; ".join(f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                                  for field, messages in sorted(errors.items())))
        report = contacts.upsert_contacts(rows)
        return {**report.counts(), "results": report.rows}


@blp.route("/contacts/<int:contact_id>/export")
class ContactExport(MethodView):
    def get(self, contact_id):
        """Everything stored about one contact (a data subject access request). Admins only."""
        require_role("admin")
        return privacy.export_contact(db.get_or_404(Contact, contact_id))


@blp.route("/contacts/<int:contact_id>/erase")
class ContactErase(MethodView):
    def post(self, contact_id):
        """Erase one contact: identity and free text removed, numbers kept for metrics. Admins only."""
        require_role("admin")
        counts = privacy.erase_contact(db.get_or_404(Contact, contact_id))
        db.session.commit()
        return {"erased": contact_id, "changed": counts}


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.arguments(schemas.SurveyIn)
    @blp.response(201, schemas.SurveyOut)
    def post(self, data):
        """Create a survey; wording defaults to the standard question of its kind."""
        require_role("lead", "admin")
        return surveys.create_survey(**data)


@blp.route("/surveys/<int:survey_id>/invitations")
class Invitations(MethodView):
    @blp.arguments(schemas.InvitationsIn)
    @blp.response(202, schemas.InvitationsOut)
    def post(self, data, survey_id):
        """Send the survey to contacts; contacts who must not be asked now are listed as skipped."""
        require_role("lead", "admin")
        survey = db.get_or_404(Survey, survey_id)
        outcome = surveys.send_invitations(survey, data["contact_ids"])
        enqueue_queued_mail()
        return {"invitations": outcome.invitations,
                "skipped": [{"contact_id": cid, "reason": reason} for cid, reason in outcome.skipped]}


@blp.route("/items")
class Items(MethodView):
    @blp.arguments(schemas.ItemsQuery, location="query")
    @blp.response(200, schemas.ItemOut(many=True))
    def get(self, args):
        """Items the token's user may see, by id; pass the last id as after_id for the next page."""
        return queries.item_page(api_user(), **args)


@blp.route("/items/<int:item_id>")
class Item(MethodView):
    @blp.response(200, schemas.ItemOut)
    def get(self, item_id):
        return items.get_item_for(api_user(), item_id)


@blp.route("/items/<int:item_id>/close")
class CloseItem(MethodView):
    @blp.arguments(schemas.CloseIn)
    @blp.response(200, schemas.ItemOut)
    def post(self, data, item_id):
        """Close with a message to the customer (closes the loop), or without one given a reason."""
        if bool(data["message"]) == bool(data["reason"]):
            abort(422, description="Give either message (to close the loop) or reason (to close without one).")
        user = api_user()
        item = items.get_item_for(user, item_id)
        if data["message"]:
            items.close_with_message(user, item, data["message"])
            enqueue_queued_mail()
        else:
            items.close_without_message(user, item, data["reason"])
        db.session.refresh(item)
        return item


@blp.route("/metrics/closure")
class Closure(MethodView):
    @blp.arguments(schemas.ClosureQuery, location="query")
    def get(self, args):
        """Loop-closure figures for items opened in [from, to] (dates, UTC; last 30 days by default)."""
        user = require_role("lead", "admin")
        end_day = args["to"]
        end = datetime.combine(end_day + timedelta(days=1), time(), UTC) if end_day \
            else datetime.now(UTC) + timedelta(seconds=1)
        start = datetime.combine(args["from_"], time(), UTC) if args["from_"] else end - timedelta(days=30)
        if start >= end:
            abort(422, description="from must not be after to")
        if end - start > timedelta(days=3 * 366):
            abort(422, description="a period is at most three years")
        scope = None if user.role == "admin" else visible_items_filter(user)  # leads: their teams
        filters = metrics.item_filter(**{name: args[name] for name in metrics.FILTERS})
        return metrics.closure(start, end, args["group_by"], metrics.narrowed(scope, filters))
