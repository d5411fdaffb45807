"""Sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from vocloop.accounts import service
from vocloop.extensions import limiter

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after sign-in would help phishing. No control characters
    (a line break cannot go into the Location header: it was a 500), no whitespace and no backslash
    (browsers read a slash and a backslash, or a slash, a tab and a slash, as another site's address)."""
    if (target and target.startswith("/") and not target.startswith("//") and target.isprintable()
            and not any(char.isspace() or char == "\\" for char in target) and not urlparse(target).netloc):
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("That email and password do not match an active account.", "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 401


@bp.post("/logout")
@login_required
def logout():
    service.end_sessions(current_user)
    logout_user()
    return redirect(url_for("auth.login"))
