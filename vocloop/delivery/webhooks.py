"""Endpoints SendGrid calls: the signed Event Webhook and Inbound Parse (customer replies)."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, abort, current_app, jsonify, request

from vocloop.db import utcnow
from vocloop.delivery import events, inbound, outcomes
from vocloop.extensions import csrf

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)

EVENTS_MAX_BYTES = 8 * 1024 * 1024
INBOUND_MAX_BYTES = 10 * 1024 * 1024


@bp.post("/sendgrid/events")
def sendgrid_events():
    key = current_app.config.get("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if not key:
        abort(404, description="The event webhook is not configured (SENDGRID_WEBHOOK_PUBLIC_KEY).")
    request.max_content_length = EVENTS_MAX_BYTES
    try:
        batch = events.verify(request.get_data(cache=False), request.headers.get(
            "X-Twilio-Email-Event-Webhook-Signature"), request.headers.get(
            "X-Twilio-Email-Event-Webhook-Timestamp"), key, utcnow())
    except events.InvalidWebhook as exc:
        log.warning("event webhook refused: %s", exc)
        abort(403, description=str(exc))
    counts = events.record_events(batch, on_change=outcomes.on_provider_events)
    return jsonify(counts)


@bp.post("/sendgrid/inbound/<secret>")
def sendgrid_inbound(secret: str):
    expected = current_app.config.get("INBOUND_PARSE_SECRET")
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        abort(404)
    request.max_content_length = INBOUND_MAX_BYTES
    return jsonify(inbound.receive(inbound.parse(request.form)))
