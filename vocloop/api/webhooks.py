"""Outbound webhooks, for admins: register URLs for events, read the delivery log, replay."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.api import schemas
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.extensions import db
from vocloop.outbound import service as webhooks
from vocloop.outbound.models import WebhookDelivery, WebhookEndpoint

blp = api_blueprint("api_v1_webhooks", __name__, "Outbound webhooks: signed event deliveries to your URLs")


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, schemas.WebhookOut(many=True))
    def get(self):
        require_role("admin")
        return db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()

    @blp.arguments(schemas.WebhookIn)
    @blp.response(201, schemas.WebhookCreatedOut)
    def post(self, data):
        """Register a URL for some events. The answer holds the signing secret, this once: each delivery
        carries `Vocloop-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`."""
        return webhooks.create_endpoint(require_role("admin"), **data)


@blp.route("/webhooks/<int:endpoint_id>")
class WebhookResource(MethodView):
    @blp.response(200, schemas.WebhookOut)
    def get(self, endpoint_id):
        require_role("admin")
        return db.get_or_404(WebhookEndpoint, endpoint_id)

    @blp.arguments(schemas.WebhookPatch)
    @blp.response(200, schemas.WebhookCreatedOut)
    def patch(self, data, endpoint_id):
        """Change the URL, events, description or active; rotate_secret=true makes a new secret
        (returned in this answer only)."""
        require_role("admin")
        endpoint = webhooks.update_endpoint(db.get_or_404(WebhookEndpoint, endpoint_id), **data)
        shown = {name: getattr(endpoint, name) for name in schemas.WebhookOut().fields}
        return {**shown, "secret": endpoint.secret} if data.get("rotate_secret") else shown

    @blp.response(204)
    def delete(self, endpoint_id):
        """Remove the endpoint and its delivery log."""
        require_role("admin")
        webhooks.delete_endpoint(db.get_or_404(WebhookEndpoint, endpoint_id))


@blp.route("/webhooks/<int:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(schemas.DeliveriesQuery, location="query")
    @blp.response(200, schemas.WebhookDeliveryOut(many=True))
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
    @blp.response(202, schemas.WebhookDeliveryOut)
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
