"""Outbound webhooks, for admins: register URLs for events, read the delivery log, replay."""

from __future__ import annotations

import json

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import positive_ids_in
from vocloop.api.schemas import Int, one_of
from vocloop.extensions import db
from vocloop.outbound import service as webhooks
from vocloop.outbound.models import EVENT_TYPES as WEBHOOK_EVENTS
from vocloop.outbound.models import WebhookDelivery, WebhookEndpoint

blp = api_blueprint("api_v1_webhooks", __name__, "Outbound webhooks: signed event deliveries to your URLs")


class WebhookIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_EVENTS)), required=True,
                         validate=validate.Length(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookPatch(WebhookIn):
    active = fields.Boolean()
    rotate_secret = fields.Boolean(metadata={"description": "make a new signing secret (returned once)"})

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class WebhookOut(Schema):
    id = Int()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(metadata={"description": "the signing secret: shown now only, keep it"})


class WebhookAttemptOut(Schema):
    status_code = Int(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = Int()
    created_at = fields.DateTime()


class WebhookDeliveryOut(Schema):
    id = Int()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(validate=one_of(("pending", "delivered", "failed")),
                           metadata={"description": "failed: retries given up"})
    attempts = Int()
    last_status_code = Int(allow_none=True)
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    replay_of_id = Int(allow_none=True)
    created_at = fields.DateTime()
    body = fields.Function(lambda delivery: json.loads(delivery.body), metadata={
        "type": "object", "additionalProperties": True,
        "description": "the JSON object posted to the endpoint, exactly as sent (see the event types)"})
    attempt_log = fields.List(fields.Nested(WebhookAttemptOut))


class DeliveriesQuery(Schema):
    before_id = Int(load_default=None, validate=validate.Range(min=1),
                               metadata={"description": "cursor: the last (oldest) id of the previous page"})
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "delivered", "failed"]))
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookOut(many=True))
    def get(self):
        require_role("admin")
        return db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()

    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookCreatedOut)
    def post(self, data):
        """Register a URL for some events. The answer holds the signing secret, this once: each delivery
        carries `Vocloop-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`."""
        return webhooks.create_endpoint(require_role("admin"), **data)


@blp.route("/webhooks/<int:endpoint_id>")
class WebhookResource(MethodView):
    @blp.response(200, WebhookOut)
    def get(self, endpoint_id):
        require_role("admin")
        return db.get_or_404(WebhookEndpoint, endpoint_id)

    @blp.arguments(WebhookPatch)
    @blp.response(200, WebhookCreatedOut)
    def patch(self, data, endpoint_id):
        """Change the URL, events, description or active; rotate_secret=true makes a new secret
        (returned in this answer only)."""
        require_role("admin")
        endpoint = webhooks.update_endpoint(db.get_or_404(WebhookEndpoint, endpoint_id), **data)
        shown = {name: getattr(endpoint, name) for name in WebhookOut().fields}
        return {**shown, "secret": endpoint.secret} if data.get("rotate_secret") else shown

    @blp.response(204)
    def delete(self, endpoint_id):
        """Remove the endpoint and its delivery log."""
        require_role("admin")
        webhooks.delete_endpoint(db.get_or_404(WebhookEndpoint, endpoint_id))


@blp.route("/webhooks/<int:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveriesQuery, location="query")
    @blp.response(200, WebhookDeliveryOut(many=True))
    def get(self, args, endpoint_id):
        """The delivery log, newest first, with every attempt's response code or error."""
        require_role("admin")
        db.get_or_404(WebhookEndpoint, endpoint_id)
        query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                 .options(selectinload(WebhookDelivery.attempt_log)))
        if args["before_id"]:
            query = query.where(WebhookDelivery.id < args["before_id"])
        if args["status"]:
            query = query.where(WebhookDelivery.status == args["status"])
        return db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(args["limit"])).all()


@blp.route("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
class Replay(MethodView):
    @blp.response(202, WebhookDeliveryOut)
    def post(self, endpoint_id, delivery_id):
        """Post the same event (same bytes, same event id) again, as a new delivery."""
        require_role("admin")
        delivery = db.session.scalar(select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id))
        if delivery is None:
            abort(404)
        copy = webhooks.replay(delivery)
        db.session.refresh(copy)
        return copy


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
