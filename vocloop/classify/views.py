"""The topic taxonomy in the browser, for leads and admins, with re-classification of past answers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from vocloop.accounts.access import only_for
from vocloop.classify import learning, reclassify, retraining, topics
from vocloop.classify.sentiment_model import shipped_model
from vocloop.errors import DomainError
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import reclassify_responses, retrain_model

bp = Blueprint("topics", __name__)


only_for(bp, "lead", "admin")


def _page(values=None, status: int = 200):
    """The page; `values` refill the add form after an error. CSRF is checked app-wide (CSRFProtect)."""
    all_topics = topics.all_topics()
    run = reclassify.latest_run()
    last_edit = max((t.updated_at or t.created_at for t in all_topics), default=None)
    stale = last_edit is not None and (run is None or last_edit > run.created_at)
    retrain_run = retraining.latest_run()
    under_way = (run is not None and run.status in reclassify.ACTIVE) or \
        (retrain_run is not None and retrain_run.status in retraining.ACTIVE)
    return render_template("topics/index.html", topics=all_topics, run=run, stale=stale, form=FlaskForm(),
                           values=values or {}, refresh_seconds=3 if under_way else None,
                           retrain_run=retrain_run, models=retraining.models()[:6], model_in_use=learning.in_use(),
                           shipped_version=shipped_model().version, labelled=retraining.labelled_count(),
                           min_labelled=learning.MIN_CORRECTIONS), status


@bp.get("/")
def index():
    return _page()


def _position() -> int | None:
    value = request.form.get("position", "").strip()
    return int(value) if value.isdigit() else None


@bp.post("/")
def create():
    try:
        topic = topics.create_topic(request.form.get("name", ""), request.form.get("keywords", ""), _position())
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(request.form, status=exc.status)
    flash(f"Topic “{topic.name}” added. Re-classify to apply it to past answers.", "ok")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:topic_id>")
def update(topic_id: int):
    try:
        topic = topics.update_topic(topic_id, name=request.form.get("name", ""),
                                    keywords=request.form.get("keywords", ""), position=_position())
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(status=exc.status)
    flash(f"Topic “{topic.name}” saved.", "ok")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:topic_id>/delete")
def delete(topic_id: int):
    try:
        topics.delete_topic(topic_id)
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(status=exc.status)
    flash("Topic deleted. Past answers keep it until they are re-classified.", "ok")
    return redirect(url_for(".index"), code=303)


@bp.post("/reclassify")
def start_reclassify():
    run, started = reclassify.start_run(current_user.id)
    if started:
        enqueue(reclassify_responses, run.id, queue="classify")
        flash(f"Re-classifying {run.total} answers.", "ok")
    else:
        flash("A re-classification is already under way.", "ok")
    return redirect(url_for(".index"), code=303)


@bp.post("/retrain")
def start_retrain():
    """Retrain the sentiment model from the team's labels, as a job; the page follows its progress."""
    try:
        run, started = retraining.start_run(current_user.id)
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for(".index") + "#model", code=303)
    if started:
        enqueue(retrain_model, run.id, queue="classify")
        flash("Retraining the sentiment model: the result shows below when it is done (about a minute).", "ok")
    else:
        flash("A retraining is already under way.", "ok")
    return redirect(url_for(".index") + "#model", code=303)


@bp.post("/restore-model")
def restore_model():
    """Put back the model that was in use before the current one (the shipped one at the end)."""
    try:
        version = learning.restore()
    except DomainError as exc:
        flash(exc.detail, "error")
        return redirect(url_for(".index") + "#model", code=303)
    flash(f"{version} is the model in use again. Re-classify past answers to relabel them with it.", "ok")
    return redirect(url_for(".index") + "#model", code=303)
