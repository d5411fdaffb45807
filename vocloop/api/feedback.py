"""Answers and the items they opened: read, filter, page; work an item (status, owner, notes, close)."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import positive_ids_in
from vocloop.api.paging import matching, page
from vocloop.api.schemas import Int, Moment, PageQuery, one_of
from vocloop.extensions import db
from vocloop.items import queries
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.items.permissions import visible_items_filter
from vocloop.items.service import ALL_CLOSE_REASONS, CLOSE_REASONS
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import triage_response
from vocloop.responses import counting, scanners
from vocloop.responses.counting import status_of
from vocloop.responses.models import Response
from vocloop.responses.scanners import SIGNALS as SCANNER_SIGNALS
from vocloop.responses.scanners import describe
from vocloop.values import ITEM_STATUSES as STATUSES
from vocloop.values import PRIORITIES, SENTIMENTS

blp = api_blueprint("api_v1_feedback", __name__, "Responses and feedback items")


class TopicMatchOut(Schema):
    """Why an answer has a topic: the taxonomy keyword, and the customer's own words that matched it."""

    topic = fields.String(required=True)
    keyword = fields.String(required=True, metadata={"description": "the topic's keyword or phrase"})
    phrase = fields.String(required=True, metadata={"description": "the words of the comment that matched it"})


class ResponseOut(Schema):
    id = Int()
    score = Int()
    comment = fields.String(allow_none=True)
    answered_at = fields.DateTime()
    polarity = fields.Float(allow_none=True)
    subjectivity = fields.Float(allow_none=True)
    sentiment_label = fields.String(allow_none=True, validate=one_of(SENTIMENTS))
    sentiment_confidence = fields.Float(allow_none=True)
    sentiment_mismatch = fields.Boolean()
    topics = fields.List(fields.String())
    topic_matches = fields.List(fields.Nested(TopicMatchOut), metadata={
        "description": "per topic, the keyword and the comment's phrase that matched (empty for answers "
                       "classified before phrases were kept)"})
    urgent = fields.Boolean()
    urgency_flags = fields.List(fields.String())
    classifier = fields.String(allow_none=True, metadata={"description": "the model version that labelled it"})
    classified_at = fields.DateTime(allow_none=True)
    corrected_at = fields.DateTime(allow_none=True, metadata={
        "description": "when a person last corrected its sentiment or topics (see its corrections)"})


class ItemOut(Schema):
    id = Int()
    status = fields.String(validate=one_of(STATUSES))
    priority = fields.String(validate=one_of(PRIORITIES))
    owner_id = Int()
    team_id = Int(allow_none=True)
    contact_id = Int()
    survey_id = Int()
    response = fields.Nested(ResponseOut)
    first_action_due_at = fields.DateTime()
    close_due_at = fields.DateTime(metadata={
        "description": "while sla_paused_at is set, the due time as it stood when the clock paused; it moves "
                       "later by the time waited when the item leaves 'waiting'"})
    sla_paused_at = fields.DateTime(allow_none=True, metadata={
        "description": "set while the item waits on the customer: its SLA clock is paused since then"})
    first_action_at = fields.DateTime(allow_none=True, metadata={
        "description": "the owner's first action on the current SLA clock (a reopen starts a new one)"})
    sla_breached_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the current clock's closing-message deadline passed; a reopen clears it"})
    first_breached_at = fields.DateTime(allow_none=True, metadata={
        "description": "the first time the item missed a closing-message deadline, kept across reopens"})
    reopen_count = Int()
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True, validate=one_of(ALL_CLOSE_REASONS))
    loop_closed = fields.Function(lambda item: item.loop_closed_at is not None, metadata={
        "type": "boolean",
        "description": "the provider accepted the closing message (never for an item closed without one)"})
    loop_closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ItemsQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    owner_id = Int(load_default=None)
    after_id = Int(load_default=None, metadata={"description": "cursor: the last id of the previous page"})
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


class CloseIn(Schema):
    """Exactly one of message (the loop closes once the provider accepts it) or reason (no message).
    Not written as a oneOf in the spec: generated clients then lose the CloseIn model itself."""

    message = fields.String(load_default=None, allow_none=False, validate=validate.Length(min=1, max=10_000))
    reason = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(CLOSE_REASONS))


class ResponsesQuery(PageQuery):
    survey_id = Int(load_default=None, validate=validate.Range(min=1))
    contact_id = Int(load_default=None, validate=validate.Range(min=1))
    sentiment = fields.String(load_default=None, validate=validate.OneOf(SENTIMENTS))
    answered_from = Moment(load_default=None)
    answered_to = Moment(load_default=None)
    status = fields.String(load_default="counted", validate=validate.OneOf(["counted", "pending", "suspected"]),
                           metadata={"description": "counted (people's answers, the default), pending (waiting "
                                                    "out ANSWER_SETTLE_SECONDS) or suspected (a mail scanner's, "
                                                    "by its signals)"})


class ResponseFullOut(ResponseOut):
    survey_id = Int()
    contact_id = Int()
    invitation_id = Int()
    completed_at = fields.DateTime(allow_none=True)
    item_id = fields.Function(lambda response: response.item.id if response.item else None, allow_none=True,
                              metadata={"type": "integer",
                                        "description": "the feedback item this answer opened, if any"})
    status = fields.String(validate=one_of(counting.STATUSES), metadata={
        "description": "counted, pending or suspected: only counted answers are "
                                                    "in metrics, open items or stop reminders"})
    status_reason = fields.Function(lambda response: status_of(response)["status_reason"],
                                    metadata={"type": "string", "description": "why, in words"})
    signals = fields.Function(lambda response: describe(response.signals or 0), metadata={
        "type": "array", "items": {"type": "string", "enum": list(SCANNER_SIGNALS.values())},
        "description": "signs of a mail scanner: all_links, at_delivery, head_first, scanner_network, "
                       "scanner_user_agent, no_interaction"})
    counted_by = fields.String(allow_none=True, validate=one_of((
        counting.BY_COMMENT, counting.BY_CONFIRMATION, counting.BY_INTERACTION, counting.BY_SETTLING,
        counting.BY_ADMIN)), metadata={
        "description": "comment, confirmed, interaction, settled or admin (null: counted before checks)"})
    counted_at = fields.DateTime(allow_none=True)


class ScannerRuleIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["network", "user_agent"]))
    pattern = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "a network in CIDR notation (203.0.113.0/24), or a regular expression searched in the "
                       "User-Agent, case-insensitive"})
    label = fields.String(load_default="", validate=validate.Length(max=120),
                          metadata={"description": "whose it is (vendor, customer gateway)"})


class ScannerRuleOut(Schema):
    id = Int()
    kind = fields.String(validate=one_of(("network", "user_agent")))
    pattern = fields.String()
    label = fields.String()
    created_at = fields.DateTime()


class ItemPatch(Schema):
    status = fields.String(validate=validate.OneOf(["open", "in_progress", "waiting"]),
                           metadata={"description": "close with POST /items/{id}/close"})
    owner_id = Int(metadata={"description": "reassign: needs handover_note"})
    handover_note = fields.String(validate=validate.Length(min=1, max=10_000))
    tell_customer = fields.Boolean(load_default=False)


class NoteIn(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class EventOut(Schema):
    id = Int()
    kind = fields.String()
    actor_id = Int(allow_none=True)
    body = fields.String()
    data = fields.Dict()
    created_at = fields.DateTime()


def visible_responses(user):
    """Admins read every answer; others the answers behind items they may see (an answer that opened
    no item has no owner, so only an admin reads it)."""
    query = select(Response).options(selectinload(Response.item))
    if user.role != "admin":
        query = query.join(FeedbackItem, FeedbackItem.response_id == Response.id).where(visible_items_filter(user))
    return query


@blp.route("/responses")
class Responses(MethodView):
    @blp.arguments(ResponsesQuery, location="query")
    @blp.response(200, ResponseFullOut(many=True))
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
    @blp.response(200, ResponseFullOut)
    def get(self, response_id):
        response = db.session.scalar(visible_responses(api_user()).where(Response.id == response_id))
        if response is None:
            abort(404)
        return response


@blp.route("/responses/<int:response_id>/count")
class CountResponse(MethodView):
    @blp.response(200, ResponseFullOut)
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
    @blp.response(200, ScannerRuleOut(many=True))
    def get(self):
        """The networks and User-Agent patterns of mail scanners (admins): a fetch that matches one is a
        sign that no person clicked."""
        require_role("admin")
        return scanners.list_rules()

    @blp.arguments(ScannerRuleIn)
    @blp.response(201, ScannerRuleOut)
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
    @blp.arguments(ItemsQuery, location="query")
    @blp.response(200, ItemOut(many=True))
    def get(self, args):
        """Items the token's user may see, by id; pass the last id as after_id for the next page."""
        return queries.item_page(api_user(), **args)


@blp.route("/items/<int:item_id>")
class Item(MethodView):
    @blp.response(200, ItemOut)
    def get(self, item_id):
        return items.get_item_for(api_user(), item_id)

    @blp.arguments(ItemPatch)
    @blp.response(200, ItemOut)
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
    @blp.arguments(CloseIn)
    @blp.response(200, ItemOut)
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
    @blp.response(200, EventOut(many=True))
    def get(self, item_id):
        """The item's timeline, oldest first: notes, hand-overs, status changes, emails, replies."""
        return items.get_item_for(api_user(), item_id).events


@blp.route("/items/<int:item_id>/notes")
class ItemNotes(MethodView):
    @blp.arguments(NoteIn)
    @blp.response(201, EventOut)
    def post(self, data, item_id):
        """A note on the timeline; @name mentions email colleagues who may see the item."""
        user = api_user()
        event = items.add_note(user, items.get_item_for(user, item_id), data["body"])
        return event


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
