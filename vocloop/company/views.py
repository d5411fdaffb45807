"""The Company page, for admins: the name, brand and sender that customers see."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from vocloop.accounts.access import only_for
from vocloop.company import service as company
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.responses import scanners

bp = Blueprint("company", __name__)
only_for(bp, "admin")


def _page(values=None, status: int = 200):
    return render_template("company/profile.html", profile=values or company.profile(), form=FlaskForm(),
                           scanner_rules=scanners.list_rules()), status


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def save():
    if not FlaskForm().validate_on_submit():
        abort(400)
    values = {name: request.form.get(name, "") for name in company.PROFILE_FIELDS}
    try:
        company.save_profile(**values)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return _page(company.Profile(**values), status=exc.status)
    flash("Company profile saved. Emails already queued keep what they had.", "ok")
    return redirect(url_for("company.index"), code=303)


@bp.post("/scanner-rules")
def add_scanner_rule():
    """A mail scanner's network or User-Agent (the Mail scanners section)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        scanners.add_rule(request.form.get("kind", ""), request.form.get("pattern", ""), request.form.get("label", ""))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
    else:
        flash("Rule added: every process uses it within 30 seconds.", "ok")
    return redirect(url_for("company.index") + "#mail-scanners", code=303)


@bp.post("/scanner-rules/<int:rule_id>/delete")
def delete_scanner_rule(rule_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    scanners.delete_rule(rule_id)
    flash("Rule removed.", "ok")
    return redirect(url_for("company.index") + "#mail-scanners", code=303)
