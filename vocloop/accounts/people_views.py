"""The People page, for admins: who can sign in, invitations, deactivation (with hand-over)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.accounts import links
from vocloop.accounts.access import only_for
from vocloop.accounts.models import ROLES, Team, User
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.items import handover

bp = Blueprint("people", __name__)


only_for(bp, "admin")


def _page(status: int = 200):
    people = db.session.scalars(select(User).options(selectinload(User.teams)).order_by(User.active.desc(), User.name))
    teams = db.session.scalars(select(Team).order_by(Team.name))
    return render_template("people/index.html", people=list(people), teams=list(teams), roles=ROLES,
                           form=FlaskForm()), status


@bp.get("/")
def index():
    return _page()


@bp.post("/invite")
def invite():
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        user = links.invite(current_user, request.form.get("email", ""), name=request.form.get("name", "").strip(),
                            role=request.form.get("role", "owner"), team=request.form.get("team", "").strip())
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(exc.status)
    flash(f"Invitation sent to {user.email}.", "ok")
    return redirect(url_for("people.index"), code=303)


@bp.post("/<int:user_id>/deactivate")
def deactivate(user_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    user = db.get_or_404(User, user_id)
    try:
        moved = handover.deactivate_user(user, current_user)
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for("people.index"), code=303)
    flash(f"{user.name} can no longer sign in; {moved} open item(s) handed over.", "ok")
    return redirect(url_for("people.index"), code=303)
