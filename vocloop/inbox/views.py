"""The owners' web inbox: lists, the item page, and the actions that close the loop."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from vocloop.errors import DomainError
from vocloop.items import queries
from vocloop.items import service as items
from vocloop.items.timeline import customer_timeline
from vocloop.jobs.queue import enqueue_queued_mail

bp = Blueprint("inbox", __name__)


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=items.MAX_TEXT)])


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[SelectChoice(s, s.replace("_", " ")) for s in items.WORK_STATUSES])


class ReassignForm(FlaskForm):
    owner_id = SelectField("New owner", coerce=int)
    note = TextAreaField("Hand-over note", validators=[DataRequired(), Length(max=items.MAX_TEXT)])
    tell_customer = BooleanField("Tell the customer who their new contact is")


class CloseForm(FlaskForm):
    message = TextAreaField("Closing message to the customer", validators=[DataRequired(),
                                                                          Length(max=items.MAX_TEXT)])


class CloseWithoutMessageForm(FlaskForm):
    reason = SelectField("Reason", choices=[SelectChoice(r, r.replace("_", " ")) for r in items.CLOSE_REASONS])
    note = TextAreaField("Note", validators=[Length(max=items.MAX_TEXT)])


@bp.get("/")
@login_required
def index():
    tab = request.args.get("tab", "mine")
    if tab not in queries.TABS:
        abort(404)
    return render_template("inbox/index.html", tab=tab, tabs=queries.TABS,
                           items=queries.inbox_items(current_user, tab), counts=queries.tab_counts(current_user))


@bp.get("/items/<int:item_id>")
@login_required
def item(item_id: int):
    item_obj = items.get_item_for(current_user, item_id)
    reassign_form = ReassignForm()
    reassign_form.owner_id.choices = [SelectChoice(u.id, f"{u.name} ({u.email})")
                                      for u in queries.assignable_users(current_user) if u.id != item_obj.owner_id]
    return render_template(
        "inbox/item.html", item=item_obj, response=item_obj.response, emails=items.emails_of(item_obj),
        timeline=customer_timeline(item_obj.contact), note_form=NoteForm(prefix="note"),
        status_form=StatusForm(prefix="status", status=item_obj.status), reassign_form=reassign_form,
        close_form=CloseForm(prefix="close"), close_without_form=CloseWithoutMessageForm(prefix="discard"))


def _act(item_id: int, form: FlaskForm, action) -> object:
    """Validate the form (CSRF included), run the service call, and come back to the item page,
    where a refused action shows as a message and nothing has changed."""
    item_obj = items.get_item_for(current_user, item_id)
    if not form.validate_on_submit():
        errors = "; ".join(f"{error}" for field in form for error in field.errors) or "The form is incomplete."
        flash(errors, "error")
        return redirect(url_for("inbox.item", item_id=item_id), code=303)
    try:
        action(item_obj)
    except DomainError as exc:
        flash(exc.detail, "error")
    return redirect(url_for("inbox.item", item_id=item_id), code=303)


@bp.post("/items/<int:item_id>/notes")
@login_required
def add_note(item_id: int):
    form = NoteForm(prefix="note")
    return _act(item_id, form, lambda item: items.add_note(current_user, item, form.body.data))


@bp.post("/items/<int:item_id>/status")
@login_required
def set_status(item_id: int):
    form = StatusForm(prefix="status")
    return _act(item_id, form, lambda item: items.set_status(current_user, item, form.status.data))


@bp.post("/items/<int:item_id>/reassign")
@login_required
def reassign(item_id: int):
    form = ReassignForm()
    form.owner_id.choices = [SelectChoice(u.id, u.name) for u in queries.assignable_users(current_user)]
    def hand_over(item):
        items.reassign(current_user, item, form.owner_id.data, form.note.data, form.tell_customer.data)
        enqueue_queued_mail()

    return _act(item_id, form, hand_over)


@bp.post("/items/<int:item_id>/close")
@login_required
def close(item_id: int):
    form = CloseForm(prefix="close")

    def close_and_send(item):
        items.close_with_message(current_user, item, form.message.data)
        enqueue_queued_mail()
        flash("Closing message queued; the loop closes when the mail provider accepts it.", "ok")

    return _act(item_id, form, close_and_send)


@bp.post("/items/<int:item_id>/discard")
@login_required
def close_without_message(item_id: int):
    form = CloseWithoutMessageForm(prefix="discard")
    return _act(item_id, form, lambda item: items.close_without_message(current_user, item, form.reason.data,
                                                                        form.note.data or ""))
