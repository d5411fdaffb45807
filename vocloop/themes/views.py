"""The Themes page, for leads and admins: find themes in comments, then accept, rename, merge or dismiss them."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.errors import DomainError, Invalid
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import discover_themes
from vocloop.text import parse_day
from vocloop.themes import service as themes

bp = Blueprint("themes", __name__)


@bp.before_request
def leads_only():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if current_user.role not in ("lead", "admin"):
        abort(403, "Themes are for leads and admins.")
    return None


@bp.get("/")
def index():
    run = themes.latest_run()
    proposed = [t for t in run.themes if t.status == "proposed"] if run else []
    decided = [t for t in run.themes if t.status != "proposed"] if run else []
    examples = {theme.id: themes.examples_of(theme) for theme in proposed}
    response_ids = [answer.id for answers in examples.values() for answer in answers]
    item_of = dict(db.session.execute(select(FeedbackItem.response_id, FeedbackItem.id).where(
        FeedbackItem.response_id.in_(response_ids or [0]))).all())
    return render_template("themes/index.html", run=run, proposed=proposed, decided=decided, examples=examples,
                           item_of=item_of, form=FlaskForm())


def _day(name: str) -> date | None:
    try:
        return parse_day(request.form.get(name, ""), name.replace("_", " ").capitalize())
    except Invalid as exc:
        abort(400, exc.detail)


@bp.post("/runs")
def start():
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        run, started = themes.start_run(current_user, _day("created_from"), _day("created_to"),
                                        request.form.get("only_untagged") == "on")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("themes.index"), code=303)
    if started:
        enqueue(discover_themes, run.id, queue="classify")
        flash("Looking for themes: the list below shows them when the run is done.", "ok")
    else:
        flash("A run is under way already: its themes appear below when it is done.", "ok")
    return redirect(url_for("themes.index"), code=303)


@bp.post("/<int:theme_id>/<action>")
def act(theme_id: int, action: str):
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        theme = themes.get_theme(current_user, theme_id)
        if action == "accept":
            topic = themes.accept(current_user, theme, request.form.get("name"))
            flash(f"“{topic.name}” is a topic now, with the theme's phrases. Re-classify past answers on the "
                  "Topics page to tag them.", "ok")
        elif action == "rename":
            themes.rename(current_user, theme, request.form.get("name"))
            flash("Renamed.", "ok")
        elif action == "merge":
            into = themes.merge(current_user, theme, request.form.get("into"))
            flash(f"Merged into “{into.name}”.", "ok")
        elif action == "dismiss":
            themes.dismiss(current_user, theme)
            flash(f"Dismissed: “{theme.name}” will not be proposed again.", "ok")
        else:
            abort(404)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
    return redirect(url_for("themes.index") + f"#theme-{theme_id}", code=303)
