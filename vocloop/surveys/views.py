"""The Surveys pages, for leads and admins: every survey with its response rate, a survey's settings,
and sending it (now, at a time, or again every N days) with a preview of who the rules will skip."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts.access import only_for
from vocloop.company import service as profiles
from vocloop.contacts.models import ContactList
from vocloop.errors import DomainError, Invalid
from vocloop.extensions import db
from vocloop.i18n import available_languages
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import run_due_sends, triage_response
from vocloop.mail.base import links_in_new_tab
from vocloop.responses import counting
from vocloop.routing.sla import business_calendar
from vocloop.surveys import audience as audiences
from vocloop.surveys import sends
from vocloop.surveys import service as surveys
from vocloop.surveys.kinds import KINDS, get_kind
from vocloop.surveys.models import OPEN_ITEM_RULES, Survey, SurveySend

bp = Blueprint("surveys", __name__)
OPEN_ITEM_LABELS = {"negative_or_comment": "every unhappy score, and every answer with a comment",
                    "negative": "unhappy scores only",
                    "not_positive_or_comment": "unhappy and lukewarm scores, and every answer with a comment",
                    "all": "every answer"}
TEXT_SETTINGS = ("name", "title", "question", "comment_prompt", "subject", "intro", "sender_name", "sender_email",
                 "logo_url", "brand_color", "open_items_for", "language", "review_url")


only_for(bp, "lead", "admin")


@bp.get("/")
def index(status: int = 200):
    all_surveys = db.session.scalars(select(Survey).order_by(Survey.active.desc(), Survey.name)).all()
    return render_template("surveys/index.html", surveys=all_surveys, stats=surveys.survey_stats(), kinds=KINDS,
                           company_name=profiles.profile().company_name, form=FlaskForm()), status


@bp.post("/")
def create():
    try:
        survey = surveys.create_survey(name=request.form.get("name", "").strip(), kind=request.form.get("kind", ""),
                                       title=request.form.get("title"), company=request.form.get("company"))
    except DomainError as exc:
        flash(exc.detail, "error")
        return index(status=exc.status)
    flash(f"Survey “{survey.name}” created: check its wording and settings, then send it.", "ok")
    return redirect(url_for(".show", survey_id=survey.id), code=303)


def _page(survey: Survey, status: int = 200, preview: dict | None = None, values=None):
    survey_sends = db.session.scalars(select(SurveySend).where(SurveySend.survey_id == survey.id)
                                      .order_by(SurveySend.id.desc()).limit(50)).all()
    return render_template(
        "surveys/show.html", survey=survey, kind=get_kind(survey.kind), stats=surveys.survey_stats().get(survey.id),
        sends=survey_sends, describe=audiences.describe, lists=db.session.scalars(
            select(ContactList).order_by(ContactList.name)).all(), rules=OPEN_ITEM_RULES, rule_labels=OPEN_ITEM_LABELS,
        languages=available_languages(), timezone=business_calendar().timezone, preview=preview,
        company=profiles.profile(), uncounted=counting.uncounted(survey.id), answer_status=counting.status_of,
        settle_minutes=round(current_app.config["ANSWER_SETTLE_SECONDS"] / 60),
        values=values or {}, form=FlaskForm(), email=_email_shown(survey)), status


def _email_shown(survey: Survey) -> dict:
    """The survey email as a customer reads it, addressed to the person looking, with who it is from and
    which one it is (the page frames its HTML, sandboxed; its links open nothing: a preview's answer
    links would only say "this link is not valid")."""
    language, reminder = _email_choice(survey)
    email = surveys.preview_email(survey, language, reminder, current_user.name, current_user.email)
    sender = profiles.sender(survey)
    return {**email, "html": links_in_new_tab(email["html"]),
            "language": language, "reminder": reminder, "from": f"{sender.name} <{sender.email}>"}


def _email_choice(survey: Survey) -> tuple[str, bool]:
    """The language and email (first or reminder) the preview shows: the survey's own language unless
    another one the app speaks is asked for."""
    language = request.args.get("language", "")
    return (language if language in available_languages() else survey.language), request.args.get("reminder") == "1"


@bp.get("/<int:survey_id>")
def show(survey_id: int):
    return _page(db.get_or_404(Survey, survey_id))


def _number(name: str, required: bool = True) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw and not required:
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise Invalid(f"{name.replace('_', ' ').capitalize()} must be a whole number.")
    return int(raw)


@bp.post("/<int:survey_id>/answers/<int:response_id>/count")
def count_answer(survey_id: int, response_id: int):
    """An admin counts a suspected answer by hand (the item it opens records it on its timeline)."""
    if current_user.role != "admin" or not FlaskForm().validate_on_submit():
        abort(403 if current_user.role != "admin" else 400)
    response = counting.find(response_id)
    if response.survey_id != survey_id:
        abort(404)
    try:
        enqueue(triage_response, counting.count_by_hand(response, current_user), queue="classify")
    except DomainError as exc:
        flash(exc.detail, "error")
    else:
        flash(f"The answer of {response.contact.email} ({response.score}) counts now.", "ok")
    return redirect(url_for(".show", survey_id=survey_id) + "#answers-not-counted", code=303)


@bp.post("/<int:survey_id>")
def update(survey_id: int):
    survey = db.get_or_404(Survey, survey_id)
    try:
        values = {name: request.form.get(name, "").strip() for name in TEXT_SETTINGS}
        values |= {"quarantine_days": _number("quarantine_days"), "link_expiry_days": _number("link_expiry_days"),
                   "reminder_days": _number("reminder_days", required=False),
                   "active": request.form.get("active") == "on",
                   "followups": {band: request.form.get(f"followup_{band}", "") for band in surveys.BANDS},
                   "thanks": {band: request.form.get(f"thanks_{band}", "") for band in surveys.BANDS}}
        if not values["name"] or not values["question"] or not values["subject"]:
            raise Invalid("A survey needs a name, a question and a subject.")
        surveys.update_survey(survey, **values)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return _page(db.get_or_404(Survey, survey_id), status=exc.status)
    flash("Settings saved. Emails already sent keep their wording.", "ok")
    return redirect(url_for(".show", survey_id=survey.id), code=303)


def _audience_from_form() -> dict:
    choice = request.form.get("audience")
    if choice == "all":
        return {"all": True}
    if choice == "list":
        raw = request.form.get("list_id", "")
        return {"list_id": int(raw) if raw.isdigit() else -1}
    if choice == "attributes":
        attributes = {}
        for line in request.form.get("attributes", "").splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise Invalid(f"Write each attribute as name = value (not “{line.strip()[:40]}”).")
            attributes[key.strip()] = value.strip()
        return {"attributes": attributes}
    raise Invalid("Choose who gets the survey.")


def _run_at() -> datetime | None:
    raw = request.form.get("run_at", "").strip()
    if request.form.get("when") != "later":
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("Give the date and time of the send.") from None
    return local.replace(tzinfo=ZoneInfo(business_calendar().timezone))


@bp.post("/<int:survey_id>/send")
def send(survey_id: int):
    survey = db.get_or_404(Survey, survey_id)
    try:
        audience = audiences.checked_audience(_audience_from_form())
        if request.form.get("action") == "preview":
            preview = surveys.eligibility(survey, audiences.contact_ids(audience))
            return _page(survey, preview=preview, values=request.form)
        repeat_days = _number("repeat_days", required=False) if request.form.get("repeat") == "on" else None
        scheduled = sends.schedule_send(current_user, survey, audience, run_at=_run_at(), repeat_days=repeat_days)
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(survey, status=exc.status, values=request.form)
    if request.form.get("when") != "later":
        enqueue(run_due_sends)  # now, not at the clock's next minute
        flash(f"Sending to {audiences.describe(scheduled.audience)}; contacts the rules protect are skipped.", "ok")
    else:
        flash(f"Scheduled for {scheduled.run_at:%Y-%m-%d %H:%M} UTC.", "ok")
    return redirect(url_for(".show", survey_id=survey.id), code=303)


@bp.post("/sends/<int:send_id>/cancel")
def cancel(send_id: int):
    scheduled = db.get_or_404(SurveySend, send_id)
    try:
        sends.cancel_send(scheduled)
        flash("Send cancelled.", "ok")
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for(".show", survey_id=scheduled.survey_id), code=303)
