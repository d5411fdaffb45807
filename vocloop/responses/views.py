"""The public answer pages behind the links in survey emails: rate limited, no sign-in."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from vocloop.db import utcnow
from vocloop.errors import Conflict
from vocloop.extensions import csrf, db
from vocloop.i18n import use_language
from vocloop.items.models import FeedbackItem
from vocloop.items.verification import record_verdict
from vocloop.jobs import tasks
from vocloop.jobs.queue import enqueue, enqueue_queued_work
from vocloop.responses import clicks, service
from vocloop.responses.rate_limit import limit_customer_pages
from vocloop.responses.service import MAX_COMMENT_CHARS
from vocloop.surveys.kinds import get_kind

bp = Blueprint("answers", __name__)
csrf.exempt(bp)  # no session to forge with: vocloop.http_origin refuses other sites' posts
limit_customer_pages(bp)


class AnswerForm(FlaskForm):
    class Meta:
        csrf = False  # see vocloop.http_origin

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
def answer(token: str):
    """A score in the query records it at once (one click in the email); the page asks for a comment."""
    if "score" in request.args:
        click = clicks.record_click(token, request.args["score"])
        use_language(click.survey.language)
        return _answer_page(click.survey, click.score, AnswerForm(score=str(click.score)), token)
    invitation = _invitation(token)
    response = service.response_for(invitation)
    if response is not None and response.completed_at is not None:
        raise Conflict(service.ALREADY_ANSWERED)
    score = response.score if response else None
    return _answer_page(invitation.survey, score, AnswerForm(score="" if score is None else str(score)), token)


def _answer_page(survey, score: int | None, form: AnswerForm, token: str, status: int = 200):
    """The comment page; `score` is the one recorded so far (None: the customer has not chosen)."""
    return render_template("answers/answer.html", survey=survey, kind=get_kind(survey.kind), score=score,
                           form=form, token=token, followup=service.followup_question(survey, score)), status


@bp.post("/<token>")
def submit(token: str):
    form = AnswerForm()
    if not form.validate():
        invitation = _invitation(token)
        response = service.response_for(invitation)
        return _answer_page(invitation.survey, response.score if response else None, form, token, status=400)
    response_id = service.submit_comment(token, form.score.data, form.comment.data, form.followup.data)
    enqueue(tasks.triage_response, response_id, queue="classify")
    return redirect(url_for("answers.thanks", token=token), code=303)


@bp.get("/<token>/thanks")
def thanks(token: str):
    invitation = _invitation(token)
    response = service.response_for(invitation)
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == response.id)) \
        if response else None
    wait = None
    if item is not None:  # whole hours, at least one: "within 5 hours", "within 3 days"
        wait = timedelta(hours=max(1, round((item.close_due_at - utcnow()).total_seconds() / 3600)))
    # Triage runs in a job: for a few seconds, reload (no script needed) to tell who will answer.
    still_triaging = response is not None and response.processed_at is None and response.completed_at \
        is not None and (utcnow() - response.completed_at).total_seconds() < 20
    return render_template("answers/thanks.html", survey=invitation.survey, response=response, item=item,
                           wait=wait, refresh_seconds=2 if still_triaging else None)


@bp.route("/<token>/unsubscribe", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks, POST acts: link scanners that prefetch a GET must not unsubscribe anyone. Mail
    clients' RFC 8058 one-click POST carries no cookies: the secret link authorizes the request."""
    survey = _invitation(token, allow_expired=True).survey
    if request.method == "POST":
        service.unsubscribe(token)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return "", 204
        return render_template("answers/unsubscribed.html", survey=survey)
    return render_template("answers/unsubscribe.html", token=token, survey=survey)


verify_bp = Blueprint("verify", __name__)
limit_customer_pages(verify_bp)


@verify_bp.get("/<token>")
def verdict(token: str):
    """The customer's one click on "Did this resolve your concern?"."""
    item = record_verdict(token, request.args.get("answer", ""))
    enqueue_queued_work()
    use_language(item.survey.language)
    return render_template("answers/verdict.html", item=item, survey=item.survey,
                           resolved=item.customer_verdict == "resolved")
