"""The Closing templates page, for leads and admins: the starting points owners pick on an item page,
each for a survey and/or topic (or all), with the placeholders explained and each template shown as a
sample customer would read it. Every change goes through the same service as /api/v1/closing-templates."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts.access import only_for
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.items import closing_templates as templates
from vocloop.items.models import ClosingTemplate
from vocloop.surveys.models import Survey

bp = Blueprint("closing_templates", __name__)

only_for(bp, "lead", "admin")


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")


def _surveys() -> dict[int, Survey]:
    return {survey.id: survey for survey in db.session.scalars(select(Survey).order_by(Survey.name))}


def _typed() -> dict:
    """The form as posted, kept as typed (a survey id that is not a number reads as 'every survey')."""
    survey = request.form.get("survey_id", "").strip()
    return {"name": request.form.get("name", ""), "body": request.form.get("body", ""),
            "survey_id": int(survey) if survey.isdigit() else None, "topic": request.form.get("topic", "").strip()}


def _values(template: ClosingTemplate) -> dict:
    return {"name": template.name, "body": template.body, "survey_id": template.survey_id,
            "topic": template.topic or ""}


def _render(page: str, *, values: dict, editing: ClosingTemplate | None = None, problems: dict | None = None,
            show_example: bool = False, status: int = 200):
    surveys = _surveys()
    example = None
    if show_example and values["body"].strip():
        example = templates.example(values["body"], surveys.get(values["survey_id"]), current_user.name)
    listed = templates.all_templates() if page == "index" else []
    return render_template(
        f"closing_templates/{page}.html", templates=listed, surveys=surveys, topics=templates.topic_names(),
        values=values, editing=editing, problems=problems or {}, example=example, form=FlaskForm(),
        placeholders=templates.PLACEHOLDER_HELP, sample=templates.Sample(),
        examples={t.id: templates.example(t.body, surveys.get(t.survey_id), current_user.name) for t in listed},
        sample_values=templates.sample_values(None, current_user.name)), status


BLANK = {"name": "", "body": "", "survey_id": None, "topic": ""}


@bp.get("/")
def index():
    return _render("index", values=BLANK)


def _save(editing: ClosingTemplate | None):
    """Add or change a template from the form; 'Show example' only shows it filled in, saving nothing."""
    _checked_form()
    typed, page = _typed(), "edit" if editing else "index"
    if request.form.get("intent") == "example":
        return _render(page, values=typed, editing=editing, show_example=True)
    try:
        if editing:
            template = templates.update_template(editing, **typed)
        else:
            template = templates.create_template(**typed)
    except templates.TemplateRefused as exc:
        db.session.rollback()
        return _render(page, values=typed, editing=editing, problems=exc.problems, show_example=True, status=exc.status)
    except DomainError as exc:
        db.session.rollback()
        return _render(page, values=typed, editing=editing, problems={"form": exc.detail}, status=exc.status)
    flash(f"Template “{template.name}” {'saved' if editing else 'added'}. Owners see it on the items it fits.", "ok")
    return redirect(url_for("closing_templates.index") + f"#template-{template.id}", code=303)


@bp.post("/")
def create():
    return _save(None)


@bp.get("/<int:template_id>/edit")
def edit(template_id: int):
    template = db.get_or_404(ClosingTemplate, template_id)
    return _render("edit", values=_values(template), editing=template, show_example=True)


@bp.post("/<int:template_id>")
def save(template_id: int):
    return _save(db.get_or_404(ClosingTemplate, template_id))


@bp.post("/<int:template_id>/delete")
def delete(template_id: int):
    _checked_form()
    template = db.get_or_404(ClosingTemplate, template_id)
    name = template.name
    templates.delete_template(template)
    flash(f"Template “{name}” deleted. Messages already started from it keep their text.", "ok")
    return redirect(url_for("closing_templates.index"), code=303)
