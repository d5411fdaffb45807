"""The refusals a customer can meet behind a link, in words for people and in their language: the
link does not work, has expired, belongs to someone who unsubscribed, too many requests (with the
wait), or an error of ours. One page for all of them, branded like every customer page."""

from __future__ import annotations

from datetime import timedelta

from flask import g, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from vocloop.company import service as company
from vocloop.errors import DomainError, Gone, Invalid, NotFound
from vocloop.i18n import N_, browser_language, format_duration, language_for, translate, use_language
from vocloop.items.verdict_links import MAX_AGE_SECONDS
from vocloop.responses import service

PROBLEMS = {
    "not_found": (N_("This link does not work"),
                  N_("It may have been cut short or mistyped. Please open it again from the email we sent you.")),
    "expired": (N_("This survey link has expired"),
                N_("Survey links stay open for a while, and this one has closed. Thank you for wanting to answer "
                   "all the same.")),
    "verdict_expired": (N_("This link has expired"),
                        N_("Links to tell us whether your concern was resolved stay open for {days} days after our "
                           "reply, and this one has closed. If something is still not right, just reply to the "
                           "email we sent you.")),
    "unsubscribed": (N_("You are unsubscribed"),
                     N_("You asked us on {day} to stop sending you surveys, so this link no longer records "
                        "answers. Nothing was saved.")),
    "rate_limited": (N_("Too many requests"),
                     N_("We received a lot of requests from your network in a short time. Please try again in "
                        "{wait}.")),
    "invalid_score": (N_("This score could not be read"), N_("Please choose a score from {low} to {high}.")),
    "invalid": (N_("Something in what was sent could not be used"),
                N_("Please go back to the page and try again.")),
    "error": (N_("Something went wrong on our side"), N_("Sorry about that. Please try again in a few minutes.")),
}


def reason_of(error: Exception) -> str:
    if getattr(error, "problem", None) in PROBLEMS:  # a refusal that named its own words
        return error.problem
    if isinstance(error, NotFound) or getattr(error, "code", None) in (404, 405):
        return "not_found"
    if isinstance(error, Gone) or getattr(error, "code", None) == 410:
        return "expired"
    if getattr(error, "code", None) == 429:
        return "rate_limited"
    if isinstance(error, Invalid):
        return "invalid_score" if getattr(error, "scale", None) else "invalid"
    return "error"


def page(reason: str, status: int, *, survey=None, back_url: str | None = None, headers=None, **values):
    """The problem page; the language is the request's where a view set it, else the browser's."""
    if "language" not in g:
        use_language(browser_language())
    heading, text = PROBLEMS[reason]
    body = render_template("answers/problem.html", brand=company.brand(survey, company.cached_profile()),
                           heading=translate(heading), lines=[translate(text, **values)], back_url=back_url)
    return body, status, headers or {}


def _good_link(reason: str):
    """The invitation behind a survey link that is itself good, where what came with it was not (a
    score a mail client mangled, "=3D5", or cut): its contact's language and its question apply."""
    token = (request.view_args or {}).get("token") if request.blueprint == "answers" else None
    if token is None or reason not in ("invalid_score", "invalid"):
        return None
    try:
        return service.find_invitation(token, allow_expired=True)
    except DomainError:
        return None


def for_error(error: Exception):
    """Any error raised behind a customer link (the blueprints' error handler)."""
    reason = reason_of(error)
    invitation = _good_link(reason)
    language = getattr(error, "language", None) or (
        language_for(invitation.contact, invitation.survey) if invitation is not None else None)
    use_language(language or (g.get("language") if "language" in g else browser_language()))
    headers, values = {}, {}
    if isinstance(error, HTTPException):
        headers = {key: value for key, value in error.get_headers() if key != "Content-Type"}
    if reason == "rate_limited":
        wait = int(dict(headers).get("Retry-After", "60"))
        values["wait"] = format_duration(timedelta(seconds=max(wait, 1)))
    if reason == "invalid_score":
        values["low"], values["high"] = error.scale
    if reason == "verdict_expired":
        values["days"] = MAX_AGE_SECONDS // 86400
    status = error.status if isinstance(error, DomainError) else (getattr(error, "code", None) or 500)
    if invitation is None:
        return page(reason, status, survey=getattr(error, "survey", None), headers=headers, **values)
    back_url = url_for("answers.answer", token=request.view_args["token"]) if reason == "invalid_score" else None
    return page(reason, status, survey=invitation.survey, back_url=back_url, headers=headers, **values)
