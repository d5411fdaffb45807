"""Routing rules in the browser, for leads and admins: a new rule is previewed (dry run over the
last days of items) before it is saved."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts.access import only_for
from vocloop.accounts.models import Team, User
from vocloop.contacts.models import Account
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.routing import service as routing
from vocloop.routing import sla
from vocloop.routing.decide import RuleSpec
from vocloop.routing.describe import describe_conditions
from vocloop.routing.models import RoutingRule
from vocloop.routing.rules import BANDS, SENTIMENTS, condition_errors
from vocloop.surveys.models import Survey

bp = Blueprint("routing", __name__)


only_for(bp, "lead", "admin")


def _rules() -> list[RoutingRule]:
    return list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))


def _page(form_values=None, preview: dict | None = None, status: int = 200):
    """The page; form_values (the submitted form) refill the add-rule form after a preview or error."""
    values = form_values or {}
    chosen = {key: values.getlist(key) if hasattr(values, "getlist") else [] for key in ("bands", "sentiments")}
    return render_template(
        "routing/index.html", rules=_rules(), form=FlaskForm(), values=values, chosen=chosen, preview=preview,
        users={u.id: u for u in db.session.scalars(select(User).order_by(User.name))},
        teams={t.id: t for t in db.session.scalars(select(Team).order_by(Team.name))},
        bands=BANDS, sentiments=SENTIMENTS, policies=sorted(sla.policies().items()), in_words=_in_words(),
        calendar=sla.business_calendar()), status


def _in_words():
    """The rules' conditions in words, with survey and account names looked up once."""
    surveys = dict(db.session.execute(select(Survey.id, Survey.name)).all())
    accounts = dict(db.session.execute(select(Account.id, Account.name)).all())
    return lambda conditions: describe_conditions(conditions or {}, surveys, accounts)


@bp.get("/")
def index():
    return _page()


def _int(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _rule_from_form() -> dict:
    """The rule the form describes, as create_rule's arguments; conditions only where filled in."""
    conditions: dict = {}
    for key, allowed in (("bands", BANDS), ("sentiments", SENTIMENTS)):
        chosen = [value for value in request.form.getlist(key) if value in allowed]
        if chosen:
            conditions[key] = chosen
    topics = [topic.strip() for topic in request.form.get("topics", "").split(",") if topic.strip()]
    if topics:
        conditions["topics"] = topics
    for key in ("score_min", "score_max"):
        if (value := _int(key)) is not None:
            conditions[key] = value
    if request.form.get("urgent") in ("yes", "no"):
        conditions["urgent"] = request.form["urgent"] == "yes"
    return {"name": request.form.get("name", "").strip() or "Unnamed rule", "position": _int("position") or 100,
            "conditions": conditions, "action": request.form.get("action", ""), "user_id": _int("user_id"),
            "team_id": _int("team_id"), "team_strategy": request.form.get("team_strategy", "round_robin"),
            "notify_user_id": _int("notify_user_id"), "notify_team_id": _int("notify_team_id"),
            "notify_slack_url": request.form.get("notify_slack_url", "").strip() or None}


@bp.post("/rules")
def add_rule():
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    values = _rule_from_form()
    if request.form.get("intent") == "preview":
        problems = condition_errors(values["conditions"])
        if problems:
            flash("; ".join(problems), "error")
            return _page(request.form, status=422)
        proposed = routing.specs_of(_rules()) + [RuleSpec(
            id=-1, name=values["name"], position=values["position"], conditions=values["conditions"],
            action=values["action"], user_id=values["user_id"], team_id=values["team_id"],
            team_strategy=values["team_strategy"])]
        return _page(request.form, preview=routing.dry_run(proposed, days=_int("days") or 30))
    try:
        routing.create_rule(**values)
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(request.form, status=exc.status)
    flash(f"Rule “{values['name']}” saved.", "ok")
    return redirect(url_for("routing.index"), code=303)


@bp.post("/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    rule = db.get_or_404(RoutingRule, rule_id)
    name = rule.name
    db.session.delete(rule)
    db.session.commit()
    flash(f"Rule “{name}” deleted.", "ok")
    return redirect(url_for("routing.index"), code=303)


@bp.post("/rules/<int:rule_id>/move")
def move_rule(rule_id: int):
    """Swap with the rule above or below; positions are renumbered 10, 20, 30 ... in the new order."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    rules = _rules()
    index = next((i for i, rule in enumerate(rules) if rule.id == rule_id), None)
    if index is None:
        abort(404)
    other = index - 1 if request.form.get("direction") == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
        for position, rule in enumerate(rules, start=1):
            rule.position = position * 10
        db.session.commit()
    return redirect(url_for("routing.index"), code=303)


def _hours(name: str) -> float:
    try:
        return float(request.form.get(name, "").replace(",", "."))
    except ValueError:
        return 0.0


@bp.post("/sla/<priority>")
def save_policy(priority: str):
    """Admins: one priority's deadlines, as PUT /api/v1/sla-policies/<priority> sets them."""
    if current_user.role != "admin":
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        sla.update_policy(priority, first_action_hours=_hours("first_action_hours"), close_hours=_hours("close_hours"),
                          business_hours=request.form.get("business_hours") == "y")
    except DomainError as exc:
        flash(f"{priority}: {exc.detail}", "error")
        return _page(status=exc.status)
    flash(f"{priority} deadlines saved; they apply to items opened from now on.", "ok")
    return redirect(url_for("routing.index") + "#sla", code=303)


@bp.post("/calendar")
def save_calendar():
    """Admins: the business calendar, as PUT /api/v1/business-calendar sets it."""
    if current_user.role != "admin":
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    holidays = [day.strip() for day in request.form.get("holidays", "").replace("\n", ",").split(",") if day.strip()]
    try:
        sla.update_calendar(timezone=request.form.get("timezone", "").strip(),
                            workdays=[int(day) for day in request.form.getlist("workdays") if day.isdigit()],
                            start=request.form.get("start", ""), end=request.form.get("end", ""), holidays=holidays)
    except DomainError as exc:
        flash(exc.detail, "error")
        return _page(status=exc.status)
    flash("Business calendar saved.", "ok")
    return redirect(url_for("routing.index") + "#sla", code=303)
