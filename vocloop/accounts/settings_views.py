"""Each user's own settings: how they hear about new items, and time off with a delegate."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts.models import User
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.items import handover

bp = Blueprint("settings", __name__)
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
    colleagues = db.session.scalars(select(User).where(User.active.is_(True), User.id != current_user.id)
                                    .order_by(User.name))
    return render_template("settings/index.html", form=form, choices=NOTIFY_CHOICES, colleagues=list(colleagues))


def _save(user: User) -> None:
    choice = request.form.get("notify_new_items", "immediate")
    if choice in NOTIFY_CHOICES:
        user.notify_new_items = choice
    until = request.form.get("away_until", "").strip()
    delegate = request.form.get("delegate_id", "")
    if until:
        end_of_day = datetime.combine(datetime.strptime(until, "%Y-%m-%d").date(), time(23, 59), UTC)
        handover.set_away(user, end_of_day, int(delegate) if delegate.isdigit() else None)
    else:
        handover.set_away(user, None, None)
