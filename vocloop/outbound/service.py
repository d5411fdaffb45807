"""Outbound webhooks: an event is written as delivery rows in the transaction that caused it (so it is
never lost and never sent for work that was rolled back), then posted by jobs, signed, and retried
with growing pauses for WEBHOOK_RETRY_HOURS. Delivery is at least once: every delivery of an event
carries the same event id, which receivers use to ignore repeats."""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import or_, select, update

from vocloop import post_commit
from vocloop.accounts.models import User
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.outbound import transport
from vocloop.outbound.models import EVENT_TYPES, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from vocloop.outbound.signing import SIGNATURE_HEADER, signature_header
from vocloop.security import SealBroken

log = logging.getLogger(__name__)

_QUEUED = "vocloop.queued_webhooks"
LEASE_SECONDS = 60
FIRST_PAUSE_SECONDS = 30
LONGEST_PAUSE_SECONDS = 4 * 3600
USER_AGENT = "vocloop-webhooks/1"


# --- endpoints -------------------------------------------------------------------------------------

def _checked_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("The URL must be an https:// address with a host.")
    if parts.scheme == "http" and not _allow_private():  # http only for a receiver nearby, in development
        raise Invalid("The URL must be an https:// address: the events would cross the internet unencrypted.")
    if parts.username or parts.password:
        raise Invalid("Put no credentials in the URL; verify the signature instead.")
    if problem := destination_problem(url):
        raise Invalid(f"The URL is refused: {problem}.")
    return url


# --- the guard every outbound post goes through (webhooks and Slack) ------------------------------

def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_URLS", False))


def destination_problem(url: str) -> str | None:
    """None, or why a post to this URL would be refused (its name resolves to a loopback, private
    or link-local address while WEBHOOK_ALLOW_PRIVATE_URLS is off, or does not resolve)."""
    try:
        transport.check_destination(url, allow_private=_allow_private())
    except transport.Refused as exc:
        return str(exc)
    return None


def guarded_post(url: str, body: bytes, headers: dict[str, str], *, ca_bundle: str | None = None
                 ) -> transport.Reply:
    """POST through the guard: the name resolved once, non-public addresses refused (unless allowed),
    the connection pinned to the address checked, no redirects, no environment proxies. Raises
    transport.Refused or transport.HTTPError."""
    return transport.post(url, body, headers, timeout=current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10),
                          allow_private=_allow_private(), ca_bundle=ca_bundle)


def _checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise Invalid(f"events must be some of {', '.join(EVENT_TYPES)}" + (f"; unknown: {', '.join(unknown)}"
                                                                           if unknown else ""))
    return [name for name in EVENT_TYPES if name in events]


def create_endpoint(user: User, *, url: str, events: list[str], description: str = "") -> WebhookEndpoint:
    """The secret is returned on the object this once (the API shows it at creation only)."""
    endpoint = WebhookEndpoint(url=_checked_url(url), events=_checked_events(events), description=description,
                               secret="whsec_" + secrets.token_urlsafe(32), created_by_id=user.id)
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, **values) -> WebhookEndpoint:
    if "url" in values:
        endpoint.url = _checked_url(values["url"])
    if "events" in values:
        endpoint.events = _checked_events(values["events"])
    for name in ("description", "active"):
        if name in values:
            setattr(endpoint, name, values[name])
    if values.get("rotate_secret"):
        endpoint.secret = "whsec_" + secrets.token_urlsafe(32)
    db.session.commit()
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """The endpoint and its delivery log; deliveries still waiting are never posted."""
    db.session.delete(endpoint)
    db.session.commit()


# --- events ----------------------------------------------------------------------------------------

def emit(event_type: str, data: dict) -> int:
    """One delivery per active endpoint subscribed to this event, in the caller's transaction; the
    caller's commit makes them real and enqueue_queued_work() then posts them. Returns how many."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = [endpoint for endpoint in db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.active.is_(True))) if event_type in endpoint.events]
    if not endpoints:
        return 0
    now = utcnow()
    event_id = "evt_" + secrets.token_hex(12)
    body = json.dumps({"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True, default=str)
    deliveries = [WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id, event_type=event_type, body=body,
                                  next_attempt_at=now, created_at=now) for endpoint in endpoints]
    db.session.add_all(deliveries)
    post_commit.add(db.session, _QUEUED, deliveries)
    return len(deliveries)


def take_queued_ids() -> list[int]:
    """Deliveries written by transactions of this session committed since the last call."""
    return [delivery.id for delivery in post_commit.take(db.session, _QUEUED) if delivery.id is not None]


def item_data(item) -> dict:
    """What a CRM needs to mirror the item; the customer's words stay in vocloop (fetch them by API)."""
    return {"item_id": item.id, "status": item.status, "priority": item.priority, "owner_id": item.owner_id,
            "owner_email": item.owner.email if item.owner else None, "team_id": item.team_id,
            "contact_id": item.contact_id, "contact_external_id": item.contact.external_id if item.contact else None,
            "survey_id": item.survey_id, "response_id": item.response_id, "sentiment": item.sentiment_label,
            "topics": list(item.topics or []), "close_due_at": item.close_due_at, "closed_at": item.closed_at,
            "close_reason": item.close_reason, "loop_closed": item.loop_closed_at is not None}


def response_data(response) -> dict:
    return {"response_id": response.id, "survey_id": response.survey_id, "contact_id": response.contact_id,
            "contact_external_id": response.contact.external_id if response.contact else None,
            "score": response.score, "sentiment": response.sentiment_label, "topics": list(response.topics or []),
            "urgency_flags": list(response.urgency_flags or []), "answered_at": response.answered_at}


# --- delivery --------------------------------------------------------------------------------------

def due_delivery_ids(limit: int = 1000) -> list[int]:
    """For the sweep: pending deliveries whose time has come (a retry, or a job lost with Redis)."""
    now = utcnow()
    return list(db.session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now))
        .order_by(WebhookDelivery.id).limit(limit)))


def _claim(delivery_id: int) -> bool:
    """Only one worker posts a delivery at a time; a worker killed mid-post loses the lease."""
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now))
        .values(leased_until=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def next_pause(attempts: int) -> float:
    """30 s, 90 s, 4.5 min, ... growing threefold up to 4 h, with 10% jitter so that a receiver coming
    back is not hit by every retry at once."""
    pause = min(FIRST_PAUSE_SECONDS * 3 ** (attempts - 1), LONGEST_PAUSE_SECONDS)
    return pause * random.uniform(0.9, 1.1)


def deliver(delivery_id: int) -> str | None:
    """Post one delivery once; record the attempt; schedule the next or give up after the window."""
    if not _claim(delivery_id):
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its endpoint was deleted (with its log) meanwhile
        return None
    endpoint = delivery.endpoint
    started = time.monotonic()
    status_code, error = None, None
    if not endpoint.active:
        error = "endpoint disabled"
    else:
        body = delivery.body.encode()
        try:
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                       "Vocloop-Event-Id": delivery.event_id, "Vocloop-Event-Type": delivery.event_type,
                       "Vocloop-Delivery-Id": str(delivery.id),
                       SIGNATURE_HEADER: signature_header(endpoint.secret, body)}
            reply = guarded_post(endpoint.url, body, headers, ca_bundle=current_app.config.get("WEBHOOK_CA_BUNDLE"))
            status_code = reply.status
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}: {reply.text[:200]}"
        except transport.Refused as exc:
            error = str(exc)
        except SealBroken as exc:
            error = f"cannot sign: the endpoint's secret was {exc}; rotate the secret (rotate_secret)"
        except transport.HTTPError as exc:
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
    now = utcnow()
    delivery.attempts += 1
    delivery.leased_until = None
    delivery.last_status_code = status_code
    delivery.last_error = error[:500] if error else None
    db.session.add(WebhookAttempt(delivery_id=delivery.id, status_code=status_code, error=delivery.last_error,
                                  duration_ms=int((time.monotonic() - started) * 1000), created_at=now))
    window = timedelta(hours=current_app.config.get("WEBHOOK_RETRY_HOURS", 24))
    if error is None:
        delivery.status, delivery.delivered_at = "delivered", now
    elif not endpoint.active or now - delivery.created_at >= window:
        delivery.status = "failed"
        log.warning("webhook delivery %s to endpoint %s given up: %s", delivery.id, endpoint.id, error)
    else:
        delivery.next_attempt_at = now + timedelta(seconds=next_pause(delivery.attempts))
    db.session.commit()
    return delivery.status


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """Post an event again (after a receiver's bug is fixed): a new delivery of the same bytes and
    event id, so a receiver that already has it can tell."""
    copy = WebhookDelivery(endpoint_id=delivery.endpoint_id, event_id=delivery.event_id,
                           event_type=delivery.event_type, body=delivery.body, next_attempt_at=utcnow(),
                           replay_of_id=delivery.id)
    db.session.add(copy)
    post_commit.add(db.session, _QUEUED, [copy])
    db.session.commit()
    return copy
