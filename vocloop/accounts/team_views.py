"""The Teams page: admins create, rename and delete teams, choose their lead and members; leads read
it. Every change goes through the same services as /api/v1/teams (taking someone out of a team hands
their open items of that team over, as DELETE /api/v1/teams/<id>/members/<user> does)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.accounts import service as accounts
from vocloop.accounts import teams as team_service
from vocloop.accounts.access import only_for
from vocloop.accounts.models import Team, User
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.items import handover

bp = Blueprint("teams", __name__)


only_for(bp, "lead", "admin")


def _page(status: int = 200, typed: dict | None = None):
    """typed: what was typed in a refused form, by team id ('new' for the create form), to show again."""
    teams = list(db.session.scalars(select(Team).options(selectinload(Team.members)).order_by(Team.name)))
    people = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))
    return render_template("teams/index.html", teams=teams, people=people, form=FlaskForm(), typed=typed or {},
                           pointing={team.id: team_service.what_points_at(team) for team in teams}), status


@bp.get("/")
def index():
    return _page()


def _admin_form() -> None:
    if current_user.role != "admin":
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")


def _lead_id() -> int | None:
    value = request.form.get("lead_id", "")
    return int(value) if value.isdigit() else None


def _refused(exc: DomainError, key, **typed):
    flash(exc.detail, "error")
    return _page(exc.status, {key: typed})


@bp.post("/")
def create():
    _admin_form()
    name = request.form.get("name", "").strip()
    try:
        team = accounts.create_team(name, _lead_id()) if name else None
    except DomainError as exc:
        db.session.rollback()
        return _refused(exc, "new", name=name)
    if team is None:
        flash("A team needs a name.", "error")
        return _page(422)
    flash(f"Team {team.name} created.", "ok")
    return redirect(url_for("teams.index") + f"#team-{team.id}", code=303)


@bp.post("/<int:team_id>")
def change(team_id: int):
    _admin_form()
    team = db.get_or_404(Team, team_id)
    name = request.form.get("name", "")
    try:
        team_service.change_team(team, name=name, lead_id=_lead_id())
    except DomainError as exc:
        db.session.rollback()
        return _refused(exc, team_id, name=name)
    flash(f"Team {team.name} saved.", "ok")
    return redirect(url_for("teams.index") + f"#team-{team.id}", code=303)


@bp.post("/<int:team_id>/delete")
def delete(team_id: int):
    _admin_form()
    team = db.get_or_404(Team, team_id)
    name = team.name
    try:
        detached = team_service.delete_team(team)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("teams.index") + f"#team-{team_id}", code=303)
    flash(f"Team {name} deleted" + (f"; its {detached} closed item(s) keep their owner." if detached else "."), "ok")
    return redirect(url_for("teams.index"), code=303)


@bp.post("/<int:team_id>/members")
def add_member(team_id: int):
    _admin_form()
    team = db.get_or_404(Team, team_id)
    value = request.form.get("user_id", "")
    try:
        user = accounts.add_team_member(current_user, team, int(value) if value.isdigit() else 0)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail if value else "Choose someone to add.", "error")
        return redirect(url_for("teams.index") + f"#team-{team_id}", code=303)
    flash(f"{user.name} joined {team.name}.", "ok")
    return redirect(url_for("teams.index") + f"#team-{team_id}", code=303)


@bp.post("/<int:team_id>/members/<int:user_id>/remove")
def remove_member(team_id: int, user_id: int):
    _admin_form()
    team, user = db.get_or_404(Team, team_id), db.get_or_404(User, user_id)
    try:
        moved = handover.remove_from_team(user, team, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("teams.index") + f"#team-{team_id}", code=303)
    flash(f"{user.name} left {team.name}; {moved} open item(s) of the team handed over.", "ok")
    return redirect(url_for("teams.index") + f"#team-{team_id}", code=303)
