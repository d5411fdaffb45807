"""The owners' web inbox: lists, the item page, and the actions that close the loop."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from vocloop.errors import DomainError, Forbidden
from vocloop.extensions import db
from vocloop.items import closing, permissions, queries
from vocloop.items import service as items
from vocloop.items.timeline import customer_timeline
from vocloop.values import ITEM_STATUSES as STATUSES
from vocloop.values import PRIORITIES

bp = Blueprint("inbox", __name__)


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=items.MAX_TEXT)])


def status_words(status: str) -> str:
    """A working status as the select offers it; "waiting" says what it does to the SLA."""
    return "waiting on the customer (SLA paused)" if status == "waiting" else status.replace("_", " ")


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[SelectChoice(s, status_words(s)) for s in items.WORK_STATUSES])


def _id_or_zero(value) -> int:
    """A select's value as an id; the empty prompt ("Choose a person") as 0, which DataRequired refuses."""
    return int(value) if str(value).isdigit() else 0


class ReassignForm(FlaskForm):
    owner_id = SelectField("New owner", coerce=_id_or_zero,
                           validators=[DataRequired(message="Choose who takes the item over.")])
    note = TextAreaField("Hand-over note", validators=[DataRequired(), Length(max=items.MAX_TEXT)])
    tell_customer = BooleanField("Tell the customer who their new contact is")


class CloseForm(FlaskForm):
    message = TextAreaField("Closing message to the customer", validators=[DataRequired(),
                                                                          Length(max=items.MAX_TEXT)])


class CloseWithoutMessageForm(FlaskForm):
    """No reason is chosen for the owner: closing as spam by a slip would hide a real complaint."""

    reason = SelectField("Reason", choices=[SelectChoice("", "Choose a reason")] + [
        SelectChoice(r, r.replace("_", " ")) for r in items.CLOSE_REASONS],
        validators=[DataRequired(message="Choose why the item closes without a message.")])
    note = TextAreaField("Note", validators=[Length(max=items.MAX_TEXT)])


PAGE_SIZE = 50


def _filters(args) -> queries.InboxFilters:
    def number(name):
        value = args.get(name, "")
        return int(value) if value.isdigit() else None

    def day(name):
        try:
            return date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None

    def one_of(name, allowed):
        value = args.get(name) or None
        return value if value in allowed else None

    return queries.InboxFilters(
        status=one_of("status", STATUSES), priority=one_of("priority", PRIORITIES),
        sentiment=one_of("sentiment", ("positive", "neutral", "negative")),
        topic=(args.get("topic") or "")[:60] or None,
        survey_id=number("survey_id"), owner_id=number("owner_id"), created_from=day("from"), created_to=day("to"),
        search=(args.get("q") or "").strip()[:200] or None)


@bp.get("/")
@login_required
def index():
    visible = permissions.visible_items_filter(current_user)  # once for the counts and the page
    counts = queries.tab_counts(current_user, visible)
    tab = request.args.get("tab") or _first_tab(counts)
    if tab not in queries.TABS:
        abort(404)
    filters = _filters(request.args)
    page = queries.inbox_items(current_user, tab, limit=PAGE_SIZE + 1, filters=filters, visible=visible,
                               after=queries.parse_page_key(request.args.get("after")))
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    first = _first_position(request.args) if request.args.get("after") else 1
    next_args = {**request.args.to_dict(), "after": queries.page_key(page[-1], tab), "from": first + len(page)} \
        if more else None
    owners = queries.assignable_users(current_user)
    return render_template("inbox/index.html", tab=tab, tabs=queries.TABS, items=page, next_args=next_args,
                           counts=counts, args=request.args, bulk_statuses=BULK_STATUSES, note_limit=items.MAX_TEXT,
                           back=urlencode([(k, v) for k, v in request.args.items(multi=True) if k in BACK_ARGS]),
                           statuses=STATUSES, priorities=PRIORITIES, owners=owners,
                           count_cap=queries.COUNT_CAP, first=first, filtered=bool(filters.where()))


def _first_position(args) -> int:
    """Where this page starts in its list ("Items 51–100"): carried by the Next link, as a keyset page
    does not know its own position; a hand-edited value is only a label, so a bad one reads as 1."""
    value = args.get("from", "")
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 10 else 1


def _first_tab(counts: dict) -> str:
    """Mine, unless it is empty and the team's tab is not (an admin or lead who owns nothing would
    otherwise open on "Nothing here")."""
    return "team" if not counts["mine"] and counts["team"] else "mine"


BACK_ARGS = ("tab", "q", "status", "priority", "sentiment", "topic", "owner_id", "survey_id", "from", "to")


def _back_to_list(query: str) -> str:
    """The list a bulk action was taken on (its tab and filters), from the form's `back` field;
    anything else in it is dropped."""
    kept = [(key, value) for key, value in parse_qsl(query or "") if key in BACK_ARGS]
    return url_for("inbox.index") + (f"?{urlencode(kept)}" if kept else "")


BULK_STATUSES = [(status, status_words(status)) for status in items.WORK_STATUSES]


class BulkForm(FlaskForm):
    """Blank choices mean "leave as it is". The list page draws these fields itself (BULK_STATUSES)."""

    owner_id = SelectField("Reassign to", coerce=int, default=0)
    status = SelectField("Set status", default="", choices=[SelectChoice("", "—")] + [
        SelectChoice(value, words) for value, words in BULK_STATUSES])
    note = TextAreaField("Hand-over note (needed to reassign)", validators=[Length(max=items.MAX_TEXT)])


@bp.post("/bulk")
@login_required
def bulk():
    """Leads and admins: reassign or set the status of the chosen items; each is checked on its own."""
    if current_user.role not in ("lead", "admin"):
        abort(403)
    form = BulkForm()
    form.owner_id.choices = [SelectChoice(0, "—")] + [SelectChoice(u.id, u.name)
                                                     for u in queries.assignable_users(current_user)]
    if not form.validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    ids = [int(value) for value in request.form.getlist("item_ids") if value.isdigit()][:500]
    done, refused = 0, []
    for item_id in ids:
        try:
            item = items.get_item_for(current_user, item_id)
            if form.owner_id.data:
                items.reassign(current_user, item, form.owner_id.data, form.note.data or "")
            if form.status.data:
                items.set_status(current_user, item, form.status.data)
            done += 1
        except DomainError as exc:
            db.session.rollback()
            refused.append(f"#{item_id}: {exc.detail}")
    flash(f"{done} item(s) updated." + (f" Not changed: {'; '.join(refused[:10])}" if refused else ""),
          "error" if refused else "ok")
    # The page sends no Referer (Referrer-Policy: no-referrer): the form says which list it was on.
    return redirect(_back_to_list(request.form.get("back", "")), code=303)


@bp.get("/items/<int:item_id>")
@login_required
def item(item_id: int):
    item_obj = items.get_item_for(current_user, item_id)
    templates = closing.templates_for(item_obj)
    asked = request.args.get("template")
    chosen = next((t for t in templates if str(t.id) == asked), None)
    body = closing.fill(chosen, item_obj, current_user) if chosen else item_obj.closing_draft
    return _item_page(item_obj, templates, body, chosen=chosen, unfit=bool(asked) and chosen is None)


def _item_page(item_obj, templates, close_body: str | None, preview: dict | None = None, status: int = 200,
               chosen=None, unfit: bool = False):
    """chosen: the template that filled the message box; unfit: one was asked for that does not fit."""
    reassign_form = ReassignForm()
    reassign_form.owner_id.choices = [SelectChoice("", "Choose a person")] + [
        SelectChoice(u.id, f"{u.name} ({u.email})")
        for u in queries.assignable_users(current_user) if u.id != item_obj.owner_id]
    timeline = customer_timeline(item_obj.contact)
    return render_template(
        "inbox/item.html", item=item_obj, response=item_obj.response, emails=items.emails_of(item_obj),
        timeline=[entry for entry in timeline if entry.contact.id == item_obj.contact_id],
        account_timeline=[entry for entry in timeline if entry.contact.id != item_obj.contact_id],
        note_form=NoteForm(prefix="note"),
        status_form=StatusForm(prefix="status", status=item_obj.status), reassign_form=reassign_form,
        close_form=CloseForm(prefix="close"), close_without_form=CloseWithoutMessageForm(prefix="discard"),
        templates=templates, close_body=close_body, preview=preview, chosen_template=chosen, unfit_template=unfit,
        may_work=permissions.can_work(current_user, item_obj)), status


def _act(item_id: int, form: FlaskForm, action, done: str | None = None, may=permissions.can_work,
         message: str | None = None) -> object:
    """Validate the form (CSRF included), run the service call, and come back to the item page,
    where a refused action shows as a message and nothing has changed, and a done one says so (`done`,
    or a function of the item giving the words). Someone who may see the item but not act on it gets
    a 403: the item page again, saying why. `message`: the closing message typed, which a refusal
    shows again in its box (422) rather than losing it behind a redirect."""
    item_obj = items.get_item_for(current_user, item_id)
    if not may(current_user, item_obj):
        return _refused(item_obj, Forbidden(items.NOT_YOURS))

    def refused(words: str):
        flash(words, "error")
        if message is None:
            return redirect(url_for("inbox.item", item_id=item_id), code=303)
        db.session.rollback()
        kept = items.get_item_for(current_user, item_id)
        return _item_page(kept, closing.templates_for(kept), message, status=422)

    if not form.validate_on_submit():
        return refused("; ".join(f"{error}" for field in form for error in field.errors) or "The form is incomplete.")
    try:
        action(item_obj)
    except Forbidden as exc:
        db.session.rollback()
        return _refused(items.get_item_for(current_user, item_id), exc)
    except DomainError as exc:
        return refused(exc.detail)
    if done:
        flash(done(item_obj) if callable(done) else done, "ok")
    return redirect(url_for("inbox.item", item_id=item_id), code=303)


def _refused(item_obj, exc: Forbidden):
    """The item page with the reason on it, answered 403: a refusal is never a quiet redirect."""
    flash(exc.detail, "error")
    return _item_page(item_obj, closing.templates_for(item_obj), item_obj.closing_draft, status=403)


@bp.post("/items/<int:item_id>/notes")
@login_required
def add_note(item_id: int):
    form = NoteForm(prefix="note")

    def note(item):
        items.add_note(current_user, item, form.body.data)

    return _act(item_id, form, note, "Note added.")


@bp.post("/items/<int:item_id>/status")
@login_required
def set_status(item_id: int):
    form = StatusForm(prefix="status")
    return _act(item_id, form, lambda item: items.set_status(current_user, item, form.status.data),
                lambda item: f"Status set to {item.status.replace('_', ' ')}.")


@bp.post("/items/<int:item_id>/reassign")
@login_required
def reassign(item_id: int):
    form = ReassignForm()
    form.owner_id.choices = [SelectChoice("", "Choose a person")] + [
        SelectChoice(u.id, u.name) for u in queries.assignable_users(current_user)]

    def hand_over(item):
        items.reassign(current_user, item, form.owner_id.data, form.note.data, form.tell_customer.data)

    return _act(item_id, form, hand_over, lambda item: f"Handed over to {item.owner.name}."
                + (" The customer will be told who their new contact is." if form.tell_customer.data else ""),
                may=permissions.can_reassign)


@bp.post("/items/<int:item_id>/close")
@login_required
def close(item_id: int):
    """One form, three buttons: send the closing message, save it as a draft, or preview it."""
    form = CloseForm(prefix="close")
    intent = request.form.get("intent", "send")
    if intent in ("draft", "preview"):
        item_obj = items.get_item_for(current_user, item_id)
        if not permissions.can_work(current_user, item_obj):
            return _refused(item_obj, Forbidden(items.NOT_YOURS))
        if not form.validate_on_submit():
            abort(400)
        if intent == "draft":
            closing.save_draft(item_obj, form.message.data)
            flash("Draft saved.", "ok")
            return redirect(url_for("inbox.item", item_id=item_id), code=303)
        email = closing.render_closing(item_obj, current_user, form.message.data)
        return _item_page(item_obj, closing.templates_for(item_obj), form.message.data, preview=email)

    def close_and_send(item):
        items.close_with_message(current_user, item, form.message.data)
        flash("Closing message queued; the loop closes when the mail provider accepts it.", "ok")

    return _act(item_id, form, close_and_send, message=form.message.data)


@bp.post("/items/<int:item_id>/discard")
@login_required
def close_without_message(item_id: int):
    form = CloseWithoutMessageForm(prefix="discard")
    return _act(item_id, form, lambda item: items.close_without_message(current_user, item, form.reason.data,
                                                                        form.note.data or ""),
                "Closed without a message (not counted as a closed loop).")
