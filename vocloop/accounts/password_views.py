"""Forgotten passwords and accepting an invitation: both end on the same "choose a password" page."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from vocloop.accounts import links
from vocloop.errors import DomainError
from vocloop.extensions import db, limiter
from vocloop.jobs.tasks import enqueue_queued_work

bp = Blueprint("password", __name__)


# The reset form answers no sooner than this after the request came in, whether or not the address
# has an account: writing and queueing the email took 15-30 ms that an unknown address did not,
# which told who has an account. Well above the work's slowest run on a loaded machine.
RESET_ANSWER_SECONDS = 0.25


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def forgot():
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        answer_at = time.monotonic() + RESET_ANSWER_SECONDS
        links.request_password_reset(request.form.get("email", ""))
        enqueue_queued_work()
        db.session.close()  # reading the queued rows' ids began a transaction: end it inside the wait
        time.sleep(max(0.0, answer_at - time.monotonic()))
        flash("If that address has an account, a link to reset the password is on its way.", "ok")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/forgot.html", form=form)


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def choose(token: str):
    link = links.find_link(token)
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            links.set_password_with(token, request.form.get("password", ""), request.form.get("confirmation", ""))
        except DomainError as exc:
            if exc.status in (404, 410):
                raise
            flash(exc.detail, "error")
            return render_template("auth/choose.html", form=form, link=link), exc.status
        flash("Password saved. Sign in with it now.", "ok")
        return redirect(url_for("auth.login"), code=303)
    return render_template("auth/choose.html", form=form, link=link)
