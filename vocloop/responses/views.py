"""The public answer pages behind the links in survey emails: rate limited, no sign-in."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from vocloop.db import utcnow
from vocloop.errors import Conflict
from vocloop.extensions import csrf, db, limiter
from vocloop.i18n import use_language
from vocloop.items.models import FeedbackItem
from vocloop.items.verification import record_verdict
from vocloop.jobs import tasks
from vocloop.jobs.queue import enqueue, enqueue_queued_work
from vocloop.responses import service
from vocloop.responses.service import MAX_COMMENT_CHARS
from vocloop.surveys.kinds import get_kind

bp = Blueprint("answers", __name__)


def public_limit() -> str:
    return current_app.config["RATELIMIT_PUBLIC"]


class AnswerForm(FlaskForm):
    score = HiddenField()
    comment = TextAreaField("Comment", validators=[Length(max=MAX_COMMENT_CHARS)])
    followup = TextAreaField("Follow-up", validators=[Length(max=MAX_COMMENT_CHARS)])


def _invitation(token: str, allow_expired: bool = False):
    """The invitation behind the link, and its survey's language for every string of the page.

    These pages take the load of a whole send's clicks: their commits keep what was loaded (no
    reload of invitation, survey and answer to draw the page); the session ends with the request."""
    db.session().expire_on_commit = False
    invitation = service.find_invitation(token, allow_expired=allow_expired)
    use_language(invitation.survey.language)
    return invitation


@bp.get("/<token>")
@limiter.limit(public_limit)
def answer(token: str):
    """A score in the query records it at once (one click in the email); the page asks for a comment."""
    invitation = _invitation(token)
    if "score" in request.args:
        response = service.record_score(invitation, request.args["score"])
    else:
        response = service.response_for(invitation)
    if response is not None and response.completed_at is not None:
        raise Conflict("Thank you, your answer is already in.")
    return _answer_page(invitation, response, AnswerForm(score=str(response.score) if response else ""), token)


def _answer_page(invitation, response, form: AnswerForm, token: str, status: int = 200):
    followup = service.followup_question(invitation.survey, response.score if response else None)
    return render_template("answers/answer.html", invitation=invitation, survey=invitation.survey,
                           kind=get_kind(invitation.survey.kind), response=response, form=form, token=token,
                           followup=followup), status


@bp.post("/<token>")
@limiter.limit(public_limit)
def submit(token: str):
    form = AnswerForm()
    invitation = _invitation(token)
    if not form.validate_on_submit():
        return _answer_page(invitation, service.response_for(invitation), form, token, status=400)
    response = service.submit_comment(invitation, form.score.data, form.comment.data, form.followup.data)
    enqueue(tasks.triage_response, response.id, queue="classify")
    return redirect(url_for("answers.thanks", token=token), code=303)


@bp.get("/<token>/thanks")
@limiter.limit(public_limit)
def thanks(token: str):
    invitation = _invitation(token)
    response = service.response_for(invitation)
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == response.id)) \
        if response else None
    hours = None
    if item is not None:
        hours = max(1, round((item.close_due_at - utcnow()).total_seconds() / 3600))
    # Triage runs in a job: for a few seconds, reload (no script needed) to tell who will answer.
    still_triaging = response is not None and response.processed_at is None and response.completed_at \
        is not None and (utcnow() - response.completed_at).total_seconds() < 20
    return render_template("answers/thanks.html", survey=invitation.survey, response=response, item=item,
                           hours=hours, refresh_seconds=2 if still_triaging else None)


@bp.route("/<token>/unsubscribe", methods=["GET", "POST"])
@limiter.limit(public_limit)
@csrf.exempt
def unsubscribe(token: str):
    """GET asks, POST acts: link scanners that prefetch a GET must not unsubscribe anyone.
    No CSRF token: mail clients' RFC 8058 one-click POST carries no cookies, and the secret link
    itself is what authorizes the request."""
    survey = _invitation(token, allow_expired=True).survey
    if request.method == "POST":
        service.unsubscribe(token)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return "", 204
        return render_template("answers/unsubscribed.html", survey=survey)
    return render_template("answers/unsubscribe.html", token=token, survey=survey)


verify_bp = Blueprint("verify", __name__)


@verify_bp.get("/<token>")
@limiter.limit(public_limit)
def verdict(token: str):
    """The customer's one click on "Did this resolve your concern?"."""
    item = record_verdict(token, request.args.get("answer", ""))
    enqueue_queued_work()
    use_language(item.survey.language)
    return render_template("answers/verdict.html", item=item, survey=item.survey,
                           resolved=item.customer_verdict == "resolved")
