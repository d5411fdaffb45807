"""Answers and the items they opened: read, filter, page; work an item (status, owner, notes, close)."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.api import schemas
from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.paging import matching, page
from vocloop.extensions import db
from vocloop.items import queries
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.items.permissions import visible_items_filter
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import triage_response
from vocloop.responses import counting, scanners
from vocloop.responses.models import Response

blp = api_blueprint("api_v1_feedback", __name__, "Responses and feedback items")


def visible_responses(user):
    """Admins read every answer; others the answers behind items they may see (an answer that opened
    no item has no owner, so only an admin reads it)."""
    query = select(Response).options(selectinload(Response.item))
    if user.role != "admin":
        query = query.join(FeedbackItem, FeedbackItem.response_id == Response.id).where(visible_items_filter(user))
    return query


@blp.route("/responses")
class Responses(MethodView):
    @blp.arguments(schemas.ResponsesQuery, location="query")
    @blp.response(200, schemas.ResponseFullOut(many=True))
    def get(self, args):
        """Answers by id, with what the classifier made of them; pass the last id as after_id. People's
        (counted) answers unless `status` asks for the pending or the suspected ones."""
        query = matching(visible_responses(api_user()), args, {
            "survey_id": Response.survey_id, "contact_id": Response.contact_id, "sentiment": Response.sentiment_label})
        wanted = args["status"]
        query = query.where(counting.counts() if wanted == counting.COUNTED else Response.status == wanted)
        if args["answered_from"]:
            query = query.where(Response.answered_at >= args["answered_from"])
        if args["answered_to"]:
            query = query.where(Response.answered_at < args["answered_to"])
        return page(query, Response, args)


@blp.route("/responses/<int:response_id>")
class ResponseResource(MethodView):
    @blp.response(200, schemas.ResponseFullOut)
    def get(self, response_id):
        response = db.session.scalar(visible_responses(api_user()).where(Response.id == response_id))
        if response is None:
            abort(404)
        return response


@blp.route("/responses/<int:response_id>/count")
class CountResponse(MethodView):
    @blp.response(200, schemas.ResponseFullOut)
    def post(self, response_id):
        """Count a suspected (or pending) answer by hand (admins): it is handled like any other from
        now, and the item it opens says so on its timeline."""
        require_role("admin")
        response = db.session.scalar(visible_responses(api_user()).where(Response.id == response_id))
        if response is None:
            abort(404)
        enqueue(triage_response, counting.count_by_hand(response, api_user()), queue="classify")
        return response


@blp.route("/scanner-rules")
class ScannerRules(MethodView):
    @blp.response(200, schemas.ScannerRuleOut(many=True))
    def get(self):
        """The networks and User-Agent patterns of mail scanners (admins): a fetch that matches one is a
        sign that no person clicked."""
        require_role("admin")
        return scanners.list_rules()

    @blp.arguments(schemas.ScannerRuleIn)
    @blp.response(201, schemas.ScannerRuleOut)
    def post(self, data):
        """Add one; every process uses it within 30 s."""
        require_role("admin")
        return scanners.add_rule(**data)


@blp.route("/scanner-rules/<int:rule_id>")
class ScannerRuleResource(MethodView):
    @blp.response(204)
    def delete(self, rule_id):
        require_role("admin")
        scanners.delete_rule(rule_id)


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

    @blp.arguments(schemas.ItemPatch)
    @blp.response(200, schemas.ItemOut)
    def patch(self, data, item_id):
        """Set the working status, and/or reassign with a hand-over note (the new owner is told;
        tell_customer also emails the customer their new contact)."""
        user = api_user()
        item = items.get_item_for(user, item_id)
        if "owner_id" in data:
            if not data.get("handover_note"):
                abort(422, description="Reassigning needs a handover_note for the new owner.")
            items.reassign(user, item, data["owner_id"], data["handover_note"], data["tell_customer"])
        if "status" in data:
            items.set_status(user, item, data["status"])
        db.session.refresh(item)
        return item


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
        else:
            items.close_without_message(user, item, data["reason"])
        db.session.refresh(item)
        return item



@blp.route("/items/<int:item_id>/events")
class ItemEvents(MethodView):
    @blp.response(200, schemas.EventOut(many=True))
    def get(self, item_id):
        """The item's timeline, oldest first: notes, hand-overs, status changes, emails, replies."""
        return items.get_item_for(api_user(), item_id).events


@blp.route("/items/<int:item_id>/notes")
class ItemNotes(MethodView):
    @blp.arguments(schemas.NoteIn)
    @blp.response(201, schemas.EventOut)
    def post(self, data, item_id):
        """A note on the timeline; @name mentions email colleagues who may see the item."""
        user = api_user()
        event = items.add_note(user, items.get_item_for(user, item_id), data["body"])
        return event
