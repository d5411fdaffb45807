"""Each user's own settings: how they hear about new items, time off with a delegate, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts import service as accounts
from vocloop.accounts.models import User
from vocloop.accounts.service import TOKEN_SCOPES
from vocloop.db import utcnow
from vocloop.errors import DomainError, Invalid
from vocloop.extensions import db
from vocloop.items import handover

bp = Blueprint("settings", __name__)
EXPIRY_CHOICES = {"30": "in 30 days", "90": "in 90 days", "365": "in a year", "never": "never"}
NOTIFY_CHOICES = {"immediate": "an email for each new item", "digest": "one email a day",
                  "off": "no email (P1 items still come at once)"}


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            _save(current_user)
            flash("Settings saved.", "ok")
            return redirect(url_for("settings.index"), code=303)
        except (DomainError, ValueError) as exc:
            db.session.rollback()
            flash(getattr(exc, "detail", None) or "That date is not valid (use YYYY-MM-DD).", "error")
    return _page(form)


def _page(form: FlaskForm, new_token: str | None = None, status: int = 200):
    colleagues = db.session.scalars(select(User).where(User.active.is_(True), User.id != current_user.id)
                                    .order_by(User.name))
    scopes = TOKEN_SCOPES if current_user.role == "admin" else tuple(s for s in TOKEN_SCOPES if s != "admin")
    response = make_response(render_template(
        "settings/index.html", form=form, choices=NOTIFY_CHOICES, colleagues=list(colleagues),
        tokens=accounts.tokens_of(current_user), scopes=scopes, expiry_choices=EXPIRY_CHOICES, new_token=new_token),
        status)
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the token is shown once: no copy in any cache
    return response


@bp.post("/tokens")
@login_required
def create_token():
    """A personal API token, shown on the page this once (only its hash is stored)."""
    days = request.form.get("expires_days", "")
    try:
        if days not in EXPIRY_CHOICES:
            raise Invalid("choose when the token expires")
        expires_at = utcnow() + timedelta(days=int(days)) if days != "never" else None
        token = accounts.create_api_token(current_user, name=request.form.get("name", "") or "token",
                                          scope=request.form.get("scope", ""), expires_at=expires_at)
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(FlaskForm(), status=exc.status)
    return _page(FlaskForm(), new_token=token, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    try:
        token = accounts.revoke_api_token(current_user, token_id)
    except DomainError as exc:
        abort(exc.status, exc.detail)
    flash(f"Token “{token.name}” revoked: it no longer works.", "ok")
    return redirect(url_for("settings.index"), code=303)


def _save(user: User) -> None:
    choice = request.form.get("notify_new_items", "immediate")
    accounts.set_preferences(user, notify_new_items=choice if choice in NOTIFY_CHOICES else None,
                             weekly_digest=request.form.get("weekly_digest") == "on"
                             if user.role in ("lead", "admin") else None, commit=False)
    until = request.form.get("away_until", "").strip()
    delegate = request.form.get("delegate_id", "")
    if until:
        end_of_day = datetime.combine(datetime.strptime(until, "%Y-%m-%d").date(), time(23, 59), UTC)
        handover.set_away(user, end_of_day, int(delegate) if delegate.isdigit() else None)
    else:
        handover.set_away(user, None, None)
