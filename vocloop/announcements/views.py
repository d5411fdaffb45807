"""The Announcements pages, for leads and admins: pick who raised a topic, write to them, preview
each person's email, send once; then see whom it reached."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts.models import Team
from vocloop.announcements import service as announcements
from vocloop.announcements.models import Announcement
from vocloop.classify.topics import all_topics
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.i18n import DEFAULT_LANGUAGE, available_languages
from vocloop.items import permissions
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import send_announcement
from vocloop.surveys.models import Survey

bp = Blueprint("announcements", __name__)
FIELDS = ("topic", "created_from", "created_to", "team_id", "survey_id", "subject", "body")
OTHER_LANGUAGES = tuple(code for code in available_languages() if code != DEFAULT_LANGUAGE)


@bp.app_template_filter("language_name")
def language_name(code: str) -> str:
    """ "de" -> "German", in English (the staff pages' language), by Babel's names."""
    try:
        return Locale.parse(code).get_display_name("en").capitalize()
    except (ValueError, UnknownLocaleError):
        return code


@bp.before_request
def leads_only():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if current_user.role not in ("lead", "admin"):
        abort(403, "Announcements are written by leads and admins.")
    return None


def _choices():
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    if current_user.role != "admin":
        mine = permissions.team_ids_of(current_user) | permissions.led_team_ids(current_user)
        teams = [team for team in teams if team.id in mine]
    return {"topics": all_topics(), "teams": teams, "languages": OTHER_LANGUAGES,
            "surveys": db.session.scalars(select(Survey).order_by(Survey.name)).all()}


def _posted() -> dict:
    values = {name: request.form.get(name, "") for name in FIELDS}
    values["only_open"] = request.form.get("only_open") == "on"
    values["close_open_items"] = request.form.get("close_open_items") == "on"
    values["translations"] = {code: {"subject": request.form.get(f"subject_{code}", ""),
                                     "body": request.form.get(f"body_{code}", "")} for code in OTHER_LANGUAGES}
    return values


@bp.get("/")
def index():
    listed = announcements.listed_for(current_user)
    return render_template("announcements/index.html", announcements=listed,
                           progress={a.id: announcements.progress(a) for a in listed if a.status != "draft"})


@bp.get("/new")
def new(values: dict | None = None, status: int = 200):
    draft = values or {"topic": request.args.get("topic", ""), "only_open": False, "close_open_items": False,
                       "translations": {}}
    return render_template("announcements/new.html", draft=draft, form=FlaskForm(), **_choices()), status


@bp.post("/")
def create():
    if not FlaskForm().validate_on_submit():
        abort(400)
    values = _posted()
    try:
        announcement = announcements.create(current_user, values)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return new(values, exc.status)
    flash("Draft saved. Check who raised it and preview their email before you send it.", "ok")
    return redirect(url_for("announcements.show", announcement_id=announcement.id), code=303)


@bp.get("/<int:announcement_id>")
def show(announcement_id: int, values: dict | None = None, status: int = 200):
    announcement = _get(announcement_id)
    if announcement.status != "draft":
        return render_template("announcements/sent.html", announcement=announcement,
                               progress=announcements.progress(announcement),
                               recipients=announcements.recipients_of(announcement),
                               describe_skip=announcements.describe_skip), status
    members, problem, preview, chosen = [], None, None, None
    try:
        members = announcements.audience(current_user, announcements.Criteria.of(announcement),
                                         announcement.close_open_items)
        if members:
            wanted = request.args.get("preview", type=int)
            chosen, preview = announcements.preview(current_user, announcement, wanted)
    except DomainError as exc:
        problem = exc.detail
    draft = values or {name: getattr(announcement, name) for name in (*FIELDS, "only_open", "close_open_items",
                                                                       "translations")}
    emailed = [m for m in members if m.skip_reason is None]
    return render_template(
        "announcements/draft.html", announcement=announcement, draft=draft, members=members, problem=problem,
        emailed=emailed, closes=sum(len(m.closes) for m in emailed), preview=preview, chosen=chosen,
        describe_skip=announcements.describe_skip, form=FlaskForm(), **_choices()), status


@bp.post("/<int:announcement_id>")
def save(announcement_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    announcement = _get(announcement_id)
    values = _posted()
    try:
        announcements.update(current_user, announcement, values)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return show(announcement_id, values, exc.status)
    flash("Draft saved: the list and the preview below follow it.", "ok")
    return redirect(url_for("announcements.show", announcement_id=announcement_id), code=303)


@bp.post("/<int:announcement_id>/send")
def send(announcement_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    announcement = _get(announcement_id)
    try:
        count = announcements.send(current_user, announcement)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("announcements.show", announcement_id=announcement_id), code=303)
    enqueue(send_announcement, announcement.id, queue="default")
    flash(f"Sending to {count} {'person' if count == 1 else 'people'}: each gets it once.", "ok")
    return redirect(url_for("announcements.show", announcement_id=announcement_id), code=303)


@bp.post("/<int:announcement_id>/delete")
def delete(announcement_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        announcements.delete(current_user, _get(announcement_id))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("announcements.show", announcement_id=announcement_id), code=303)
    flash("Draft deleted.", "ok")
    return redirect(url_for("announcements.index"), code=303)


def _get(announcement_id: int) -> Announcement:
    try:
        return announcements.get_for(current_user, announcement_id)
    except DomainError:
        abort(404)
