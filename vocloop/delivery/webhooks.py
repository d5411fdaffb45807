"""Endpoints SendGrid calls: the signed Event Webhook and Inbound Parse (customer replies)."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, abort, current_app, jsonify, request

from vocloop.db import utcnow
from vocloop.delivery import events, inbound, outcomes
from vocloop.extensions import csrf, db
from vocloop.items.models import FeedbackItem
from vocloop.items.service import record_customer_reply

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
    reply = inbound.parse(request.form)
    stored = inbound.record(reply)
    if stored is None:
        return jsonify({"status": "duplicate"})
    item = db.session.get(FeedbackItem, reply.item_id) if reply.item_id else None
    if item is None:
        # Acknowledged (or SendGrid retries for days) but attached to nothing: not a reply address of ours.
        db.session.commit()
        log.info("inbound email from %s matches no item", reply.from_email)
        return jsonify({"status": "unmatched"})
    event = record_customer_reply(item, reply.body or "(empty reply)", reply.from_email)
    db.session.commit()
    if event.data.get("from_another_address"):
        return jsonify({"status": "attached", "item_id": item.id, "flag": "from_another_address"})
    return jsonify({"status": "attached", "item_id": item.id})
