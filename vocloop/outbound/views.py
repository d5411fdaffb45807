"""The Webhooks page, for admins: the URLs that receive the loop's events, each with its delivery log.
Every change goes through the same service as /api/v1/webhooks: the URL through the same guard
(no private or loopback addresses), the signing secret shown once, a replay as a new delivery."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from vocloop.accounts.access import only_for
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.outbound import service as webhooks
from vocloop.outbound.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint

bp = Blueprint("outbound", __name__)
PAGE_SIZE = 25
STATUSES = ("pending", "delivered", "failed")

only_for(bp, "admin")


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")


def _typed() -> dict:
    return {"url": request.form.get("url", "").strip(), "description": request.form.get("description", "").strip(),
            "events": [name for name in request.form.getlist("events") if name in EVENT_TYPES]}


def _no_store(page: tuple, status: int):
    """A page showing a secret: no copy in any cache."""
    response = make_response(page[0], status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _list_page(typed: dict | None = None, problem: str | None = None, status: int = 200):
    endpoints = list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, state, count in db.session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)):
        counts.setdefault(endpoint_id, {})[state] = count
    return render_template("webhooks/index.html", endpoints=endpoints, counts=counts, events=EVENT_TYPES,
                           typed=typed or {"url": "", "description": "", "events": list(EVENT_TYPES)},
                           problem=problem, form=FlaskForm()), status


@bp.get("/")
def index():
    return _list_page()


@bp.post("/")
def create():
    _checked_form()
    typed = _typed()
    try:
        endpoint = webhooks.create_endpoint(current_user, url=typed["url"], events=typed["events"],
                                            description=typed["description"][:200])
    except DomainError as exc:
        db.session.rollback()
        return _list_page(typed, exc.detail, exc.status)
    return _no_store(_endpoint_page(endpoint, new_secret=endpoint.secret), 201)


def _endpoint_page(endpoint: WebhookEndpoint, *, new_secret: str | None = None, typed: dict | None = None,
                   problem: str | None = None, status: int = 200):
    """The endpoint's settings and its delivery log, newest first, PAGE_SIZE at a time (?before=<id>)."""
    shown = request.args.get("status", "")
    before = request.args.get("before", "")
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .options(selectinload(WebhookDelivery.attempt_log)))
    if shown in STATUSES:
        query = query.where(WebhookDelivery.status == shown)
    if before.isdigit():
        query = query.where(WebhookDelivery.id < int(before))
    deliveries = list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(PAGE_SIZE + 1)))
    older = deliveries[PAGE_SIZE - 1].id if len(deliveries) > PAGE_SIZE else None
    return render_template(
        "webhooks/endpoint.html", endpoint=endpoint, deliveries=deliveries[:PAGE_SIZE], older=older,
        newest=before.isdigit(), shown=shown if shown in STATUSES else "", statuses=STATUSES, events=EVENT_TYPES,
        typed=typed or {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events},
        problem=problem, new_secret=new_secret, form=FlaskForm()), status


@bp.get("/<int:endpoint_id>")
def endpoint(endpoint_id: int):
    return _endpoint_page(db.get_or_404(WebhookEndpoint, endpoint_id))


@bp.post("/<int:endpoint_id>")
def change(endpoint_id: int):
    _checked_form()
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    typed = _typed()
    try:
        webhooks.update_endpoint(endpoint, url=typed["url"], events=typed["events"],
                                 description=typed["description"][:200])
    except DomainError as exc:
        db.session.rollback()
        return _endpoint_page(db.get_or_404(WebhookEndpoint, endpoint_id), typed=typed, problem=exc.detail,
                              status=exc.status)
    flash("Endpoint saved.", "ok")
    return redirect(url_for("outbound.endpoint", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/active")
def set_active(endpoint_id: int):
    _checked_form()
    endpoint = webhooks.update_endpoint(db.get_or_404(WebhookEndpoint, endpoint_id),
                                        active=request.form.get("active") == "y")
    flash("Enabled: new events are posted to it." if endpoint.active
          else "Disabled: no new events are posted to it; deliveries still waiting fail.", "ok")
    return redirect(url_for("outbound.endpoint", endpoint_id=endpoint_id), code=303)


@bp.post("/<int:endpoint_id>/rotate")
def rotate(endpoint_id: int):
    """A new signing secret, shown this once; the old one stops working at once."""
    _checked_form()
    endpoint = webhooks.update_endpoint(db.get_or_404(WebhookEndpoint, endpoint_id), rotate_secret=True)
    return _no_store(_endpoint_page(endpoint, new_secret=endpoint.secret), 200)


@bp.post("/<int:endpoint_id>/delete")
def delete(endpoint_id: int):
    _checked_form()
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    url = endpoint.url
    webhooks.delete_endpoint(endpoint)
    flash(f"Endpoint {url} and its delivery log deleted.", "ok")
    return redirect(url_for("outbound.index"), code=303)


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
def replay(endpoint_id: int, delivery_id: int):
    _checked_form()
    delivery = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id))
    if delivery is None:
        abort(404)
    copy = webhooks.replay(delivery)
    flash(f"Delivery #{delivery_id} ({delivery.event_type}) queued again as #{copy.id}.", "ok")
    return redirect(url_for("outbound.endpoint", endpoint_id=endpoint_id), code=303)
