"""The public answer pages behind the links in survey emails: rate limited, no sign-in, in the
customer's language and the company's brand (vocloop.responses.problems words every refusal)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from vocloop.company import service as company
from vocloop.db import utcnow
from vocloop.errors import Conflict, Gone
from vocloop.extensions import csrf, db
from vocloop.i18n import N_, current_language, format_day, language_for, supported, translate, use_language
from vocloop.items.verification import VERDICTS, item_for, record_verdict
from vocloop.jobs import tasks
from vocloop.jobs.queue import enqueue
from vocloop.responses import additions, clicks, problems, service
from vocloop.responses import unsubscribe as unsubscribing
from vocloop.responses.counting import BY_CONFIRMATION, BY_INTERACTION, COUNTED
from vocloop.responses.page_cache import TokenPages
from vocloop.responses.rate_limit import limit_customer_pages
from vocloop.responses.service import MAX_COMMENT_CHARS
from vocloop.surveys import wording
from vocloop.surveys.kinds import get_kind
from vocloop.text import normalized_lines

bp = Blueprint("answers", __name__)
csrf.exempt(bp)  # no session to forge with: vocloop.http_origin refuses other sites' posts
limit_customer_pages(bp)


# The box's maxlength counts a line break as one character, as the browser does; it posts \r\n.
TOO_LONG = Length(max=MAX_COMMENT_CHARS, message=N_("Your comment can be at most {limit} characters long."))


class AnswerForm(FlaskForm):
    class Meta:
        csrf = False  # see vocloop.http_origin

    score = HiddenField()
    comment = TextAreaField("Comment", filters=[normalized_lines], validators=[TOO_LONG])
    followup = TextAreaField("Follow-up", filters=[normalized_lines], validators=[TOO_LONG])


def page(template: str, survey, status: int = 200, **context):
    """A customer page: the survey's (else the company's) brand, from the profile each process keeps."""
    brand = company.brand(survey, company.cached_profile())
    return render_template(f"answers/{template}.html", survey=survey, brand=brand, **context), status


def _invitation(token: str, allow_expired: bool = False):
    """The invitation behind the link, and its contact's (else its survey's) language for every string.

    These pages take the load of a whole send's clicks: their commits keep what was loaded (no
    reload of invitation, survey and answer to draw the page); the session ends with the request."""
    db.session().expire_on_commit = False
    invitation = service.find_invitation(token, allow_expired=allow_expired)
    use_language(supported(invitation.contact.language) or invitation.survey.language)
    return invitation


@bp.get("/<token>")
def answer(token: str):
    """A score in the query records it at once (one click in the email), pending until a person shows
    themselves; the page asks for a comment (and, where a scanner's signs showed, asks once whether
    that score is the answer). A HEAD records nothing: only that one came, a sign of a scanner."""
    if request.method == "HEAD":
        clicks.note_head(token)
        return "", 200
    if "score" in request.args:
        try:
            click = clicks.record_click(token, request.args["score"], request.remote_addr,
                                        request.headers.get("User-Agent"))
        except service.Unsubscribed:
            return _unsubscribed(_invitation(token, allow_expired=True))
        except Conflict:  # the answer is complete: say so, and offer to add to it
            return _answered(token, _invitation(token))
        except Gone as expired:
            return _answered_though_expired(token, expired)
        use_language(supported(click.contact_language) or click.survey.language)
        return _click_page(click, token)
    try:
        invitation = _invitation(token)
    except Gone as expired:
        return _answered_though_expired(token, expired)
    if invitation.contact.unsubscribed_at is not None:
        return _unsubscribed(invitation)
    response = service.response_for(invitation)
    if response is not None and response.completed_at is not None:
        return _answered(token, invitation, response)
    score = response.score if response else None
    return _answer_page(invitation.survey, score, AnswerForm(score="" if score is None else str(score)), token,
                        counted=response is not None and response.status == COUNTED,
                        ask=response is not None and response.status != COUNTED and bool(response.signals))


def _answer_page(survey, score: int | None, form: AnswerForm, token: str, status: int = 200, counted: bool = True,
                 ask: bool = False):
    """The comment page; `score` is the one recorded so far (None: the customer has not chosen). Until
    the answer counts, the page carries the beacon that tells of a person's first real input."""
    words = _words(survey)
    return page("answer", survey, status, kind=get_kind(survey.kind), score=score, form=form, token=token,
                comment_limit=MAX_COMMENT_CHARS, words=words,
                followup=words.followup(score), beacon=score is not None and not counted,
                ask=ask and score is not None)


def _words(survey) -> wording.Wording:
    """The survey's words in the page's language (its standard wording translated)."""
    return wording.wording(survey, current_language())


def _click_page(click: clicks.Click, token: str):
    """The page a click opens, drawn once per wording (vocloop.responses.page_cache): the key holds
    everything the page shows but the link."""
    survey, brand = click.survey, company.brand(click.survey, company.cached_profile())
    counted, ask = click.status == COUNTED, click.ask_to_confirm
    words = _words(survey)
    key = (current_language(), click.score, counted, ask, survey.kind, words.subject, words.question,
           words.comment_prompt, words.followup(click.score), brand.name, brand.logo_url,
           brand.color, tuple(brand.address_lines), brand.privacy_url)

    def draw(link_token: str) -> str:
        return _answer_page(survey, click.score, AnswerForm(score=str(click.score)), link_token, counted=counted,
                            ask=ask)[0]

    pages = current_app.extensions.setdefault("vocloop_click_pages", TokenPages())
    return pages.page(key, token, draw), 200


@bp.post("/<token>/confirm")
def confirm(token: str):
    """ "Yes, 3 is my answer": the page's one question where a scanner's signs showed."""
    service.person_was_here(token, request.form.get("score"), BY_CONFIRMATION)
    return redirect(url_for("answers.answer", token=token), code=303)


@bp.post("/<token>/seen")
def seen(token: str):
    """The answer page's beacon: a person pressed a key, touched or moved a pointer on the page
    (scanners that render pages and run their scripts do none of these)."""
    service.person_was_here(token, request.form.get("score"), BY_INTERACTION)
    return "", 204


def _answered(token: str, invitation, response=None, errors=(), status: int = 409):
    """The answer is already in: what it was, and while its loop is open, a box to add to it."""
    response = response or service.response_for(invitation)
    return page("answered", invitation.survey, status, token=token, response=response, errors=errors,
                can_add=additions.can_add_to(invitation, response),
                replaces=additions.can_change(invitation, response))


def _answered_though_expired(token: str, expired: Gone):
    """An expired link whose answer is in (the email opened again weeks later) shows that answer;
    one never answered is the expired page."""
    invitation = _invitation(token, allow_expired=True)
    response = service.response_for(invitation)
    if response is None or response.completed_at is None:
        raise expired
    return _answered(token, invitation, response)


def _unsubscribed(invitation):
    day = invitation.contact.unsubscribed_at
    return problems.page("unsubscribed", 409, survey=invitation.survey, day=format_day(day))


@bp.post("/<token>")
def submit(token: str):
    form = AnswerForm()
    if not form.validate():
        invitation = _invitation(token)
        response = service.response_for(invitation)
        return _answer_page(invitation.survey, response.score if response else None, form, token, status=400)
    try:
        response_id = service.submit_comment(token, form.score.data, form.comment.data, form.followup.data)
    except service.Unsubscribed:
        return _unsubscribed(_invitation(token, allow_expired=True))
    except Conflict:  # another tab, the back button or a second press sent it first: say so, as a click does
        return _answered(token, _invitation(token))
    enqueue(tasks.triage_response, response_id, queue="classify")
    return redirect(url_for("answers.thanks", token=token), code=303)


@bp.post("/<token>/add")
def add(token: str):
    """More words after the answer is complete (the already-answered page's box)."""
    invitation = _invitation(token)
    response = service.response_for(invitation)
    if response is None or response.completed_at is None:
        return redirect(url_for("answers.answer", token=token), code=303)
    text = service.clean_comment(request.form.get("addition"))
    if not text:
        return _answered(token, invitation, response, errors=[translate("Please write something to send.")],
                         status=400)
    retriage = additions.add_to_answer(invitation, response, text, replaces=request.form.get("replaces") == "1")
    if retriage is not None:
        enqueue(tasks.triage_response, retriage, queue="classify")
    return redirect(url_for("answers.thanks", token=token), code=303)


@bp.get("/<token>/thanks")
def thanks(token: str):
    invitation = _invitation(token)
    response = service.response_for(invitation)
    item = additions.item_of(response) if response else None
    wait = None
    if item is not None and item.is_open:  # whole hours, at least one: "within 5 hours", "within 3 days"
        wait = timedelta(hours=max(1, round((item.close_due_at - utcnow()).total_seconds() / 3600)))
    # Triage runs in a job: for a few seconds, reload (no script needed) to tell who will answer.
    still_triaging = response is not None and response.processed_at is None and response.completed_at \
        is not None and (utcnow() - response.completed_at).total_seconds() < 20
    survey = invitation.survey
    band = get_kind(survey.kind).band(response.score) if response else None
    review_url = survey.review_url if band == "positive" else None
    return page("thanks", survey, response=response, item=item if wait else None, wait=wait,
                name=invitation.contact.greeting_name,
                message=(survey.thanks or {}).get(band) if band else None, review_url=review_url,
                review_site=urlsplit(review_url).hostname if review_url else None,
                refresh_seconds=2 if still_triaging else None)


@bp.route("/<token>/unsubscribe", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks, POST acts: link scanners that prefetch a GET must not unsubscribe anyone. Mail
    clients' RFC 8058 one-click POST carries no cookies: the secret link authorizes the request. A
    survey email's link and an announcement's lead here alike (vocloop.responses.unsubscribe)."""
    db.session().expire_on_commit = False
    if request.method == "POST":
        person = unsubscribing.unsubscribe(token)
        if request.form.get("List-Unsubscribe") == "One-Click":
            return "", 204
        use_language(person.language)
        return page("unsubscribed", person.survey, token=token)
    person = unsubscribing.subscriber(token)
    use_language(person.language)
    return page("unsubscribe", person.survey, token=token, unsubscribed_at=person.contact.unsubscribed_at)


@bp.post("/<token>/resubscribe")
def resubscribe(token: str):
    """The unsubscribed page's "Get surveys and updates again" (a POST, as unsubscribing is)."""
    db.session().expire_on_commit = False
    person = unsubscribing.resubscribe(token)
    use_language(person.language)
    return page("resubscribed", person.survey)


verify_bp = Blueprint("verify", __name__)
csrf.exempt(verify_bp)  # no session to forge with: vocloop.http_origin refuses other sites' posts
limit_customer_pages(verify_bp)


def _verdict_language(item) -> None:
    use_language(language_for(item.contact, item.survey))


@verify_bp.get("/<token>")
def verdict(token: str):
    """ "Did this resolve your concern?": the link opens the choice with one button, and records
    nothing (mail scanners fetch every link of an email; only the page's POST answers)."""
    item = item_for(token)
    _verdict_language(item)
    chosen = request.args.get("answer") if request.args.get("answer") in VERDICTS else None
    return page("verdict_choose", item.survey, item=item, token=token, chosen=chosen)


@verify_bp.post("/<token>")
def send_verdict(token: str):
    item = item_for(token)
    _verdict_language(item)
    answer = request.form.get("answer", "")
    if answer not in VERDICTS:
        return page("verdict_choose", item.survey, 400, item=item, token=token, chosen=None,
                    error=translate("Please choose yes or no."), still_wrong=request.form.get("still_wrong", ""))
    record_verdict(token, answer, request.form.get("still_wrong"))
    return redirect(url_for("verify.verdict_thanks", token=token), code=303)


@verify_bp.get("/<token>/thanks")
def verdict_thanks(token: str):
    item = item_for(token)
    _verdict_language(item)
    if item.customer_verdict is None:
        return redirect(url_for("verify.verdict", token=token), code=303)
    return page("verdict", item.survey, item=item, resolved=item.customer_verdict == "resolved")
