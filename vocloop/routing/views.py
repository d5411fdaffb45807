"""Routing rules in the browser, for leads and admins: a new or changed rule is previewed (dry run
over the last days of items) before it is saved."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from vocloop.accounts.access import only_for
from vocloop.accounts.models import Team, User
from vocloop.classify.topics import all_topics
from vocloop.contacts.models import Account
from vocloop.errors import DomainError
from vocloop.extensions import db
from vocloop.routing import service as routing
from vocloop.routing import sla
from vocloop.routing.decide import RuleSpec
from vocloop.routing.describe import describe_conditions
from vocloop.routing.models import RoutingRule
from vocloop.routing.rule_form import empty_values, rule_of_values, values_of_form, values_of_rule
from vocloop.routing.rules import condition_errors
from vocloop.surveys.models import Survey
from vocloop.values import BANDS, PRIORITIES, SENTIMENTS

bp = Blueprint("routing", __name__)


only_for(bp, "lead", "admin")


def _rules() -> list[RoutingRule]:
    return list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))


def _page(values=None, preview: dict | None = None, problems: dict | None = None, status: int = 200,
          editing: RoutingRule | None = None):
    """The page, or the edit page of one rule; values (the submitted form) refill the rule form after a
    preview or an error, and problems are shown beside their fields."""
    surveys = list(db.session.scalars(select(Survey).order_by(Survey.name)))
    accounts = list(db.session.scalars(select(Account).order_by(Account.name)))
    topics = [topic.name for topic in all_topics()]
    chosen_topics = (values or {}).get("topics", [])
    return render_template(
        "routing/edit.html" if editing else "routing/index.html", rules=_rules(), form=FlaskForm(),
        values=values or empty_values(), problems=problems or {}, preview=preview, editing=editing,
        users={u.id: u for u in db.session.scalars(select(User).order_by(User.name))},
        teams={t.id: t for t in db.session.scalars(select(Team).order_by(Team.name))},
        surveys=surveys, accounts=accounts, account_boxes=len(accounts) <= ACCOUNT_BOXES_UP_TO,
        account_names_of=_names_of(accounts), topics=topics + [t for t in chosen_topics if t not in topics],
        bands=BANDS, sentiments=SENTIMENTS, priorities=PRIORITIES, policies=sorted(sla.policies().items()),
        in_words=_in_words(surveys, accounts), calendar=sla.business_calendar()), status


def _in_words(surveys, accounts):
    """The rules' conditions in words, with survey and account names looked up once."""
    survey_names = {survey.id: survey.name for survey in surveys}
    account_names = {account.id: account.name for account in accounts}
    return lambda conditions: describe_conditions(conditions or {}, survey_names, account_names)


@bp.get("/")
def index():
    return _page()


ACCOUNT_BOXES_UP_TO = 50  # beyond this many accounts the form asks for names, not a wall of checkboxes


def _accounts_by_name(values: dict, form) -> str | None:
    """With many accounts the form has a box of account names (one per line) instead of checkboxes:
    turn the names into account_ids, or say which names match no account (nothing is then saved)."""
    if "account_names" not in form:
        return None
    typed = values["account_names"] = form.get("account_names", "")
    names = list(dict.fromkeys(line.strip() for line in typed.splitlines() if line.strip()))
    found: dict[str, list[int]] = {}  # names are not unique: a name picks every account called so
    for name, account_id in db.session.execute(select(Account.name, Account.id).where(Account.name.in_(names))
                                               .order_by(Account.id)) if names else ():
        found.setdefault(name, []).append(account_id)
    values["account_ids"] = [str(account_id) for name in names for account_id in found.get(name, [])]
    unknown = [name for name in names if name not in found]
    if unknown:
        return "No account is called " + ", ".join(f"“{name}”" for name in unknown) + " (names as on Contacts)."
    return None


def _names_of(accounts):
    """For the names box: the chosen account ids as names, one per line, each name once."""
    name_of = {str(account.id): account.name for account in accounts}
    return lambda ids: "\n".join(dict.fromkeys(name_of[id_] for id_ in ids if id_ in name_of))


def _gone_choices(rule: dict, values: dict) -> dict[str, str]:
    """The people and teams the form names that no longer exist (deleted since the page was drawn, or an id
    that is none), said beside their fields in a lead's words, before the service's checks for the API
    would answer 404 with a developer's ("action 'user' needs user_id of an existing user")."""
    problems = {}
    target = {"user": "user_id", "team": "team_id"}.get(rule["action"])
    for field, model, gone in (("user_id", User, "That person is no longer here; choose another."),
                               ("team_id", Team, "That team no longer exists; choose another."),
                               ("notify_user_id", User, "That person is no longer here; choose another, or none."),
                               ("notify_team_id", Team, "That team no longer exists; choose another, or none.")):
        if (field in ("user_id", "team_id") and field != target) or not values[field]:
            continue  # only the target the action uses counts; an empty one is the form's "Choose ..."
        if rule[field] is None or db.session.get(model, rule[field]) is None:
            problems[field] = gone
    return problems


DRY_RUN_DAYS_PROBLEM = "Give the dry run a whole number of days from 1 to 365."


def _dry_run_days(typed: str) -> int | None:
    """The dry run's window: 30 days when left blank; None (refused, with the reason) for anything but a
    whole number of days from 1 to 365, rather than quietly previewing another window than the one typed."""
    typed = typed.strip()
    if not typed:
        return 30
    return int(typed) if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= 365 else None


def _save_or_preview(editing: RoutingRule | None):
    """One path for a new rule and a changed one: parse, preview (dry run) or save through the same
    service as the API, and on any problem show the form again as typed with the reason beside it."""
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    values = values_of_form(request.form)
    account_problem = _accounts_by_name(values, request.form)
    rule, problems = rule_of_values(values)
    if account_problem:
        problems["account_names"] = account_problem
    if not problems and (condition_problems := condition_errors(rule["conditions"])):
        problems["form"] = "; ".join(condition_problems)
    problems.update(_gone_choices(rule, values))
    if problems:
        return _page(values, problems=problems, status=422, editing=editing)
    if request.form.get("intent") == "preview":
        days = _dry_run_days(request.form.get("days", ""))
        if days is None:
            return _page(values, problems={"days": DRY_RUN_DAYS_PROBLEM}, status=422, editing=editing)
        spec = RuleSpec(id=editing.id if editing else -1, name=rule["name"], position=rule["position"],
                        conditions=rule["conditions"], action=rule["action"], user_id=rule["user_id"],
                        team_id=rule["team_id"], team_strategy=rule["team_strategy"], enabled=rule["enabled"])
        proposed = [other for other in routing.specs_of(_rules()) if not editing or other.id != editing.id] + [spec]
        return _page(values, preview=routing.dry_run(proposed, days=days), editing=editing)
    try:
        if editing:
            routing.update_rule(editing, **rule)
        else:
            routing.create_rule(**rule)
    except DomainError as exc:
        db.session.rollback()
        return _page(values, problems={"form": exc.detail}, status=exc.status,
                     editing=db.session.get(RoutingRule, editing.id) if editing else None)
    flash(f"Rule “{rule['name']}” saved.", "ok")
    return redirect(url_for("routing.index"), code=303)


@bp.post("/rules")
def add_rule():
    return _save_or_preview(None)


@bp.get("/rules/<int:rule_id>/edit")
def edit_rule(rule_id: int):
    rule = db.get_or_404(RoutingRule, rule_id)
    return _page(values_of_rule(rule), editing=rule)


@bp.post("/rules/<int:rule_id>")
def save_rule(rule_id: int):
    return _save_or_preview(db.get_or_404(RoutingRule, rule_id))


@bp.post("/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    name = routing.delete_rule(db.get_or_404(RoutingRule, rule_id))
    flash(f"Rule “{name}” deleted.", "ok")
    return redirect(url_for("routing.index"), code=303)


@bp.post("/rules/<int:rule_id>/move")
def move_rule(rule_id: int):
    """Swap with the rule above or below; positions are renumbered 10, 20, 30 ... in the new order."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    routing.move_rule(rule_id, request.form.get("direction", ""))
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
