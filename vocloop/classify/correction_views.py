"""Correcting an answer's sentiment or a topic from its item page, in one click."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from vocloop.classify import corrections
from vocloop.classify.topics import all_topics
from vocloop.errors import DomainError, Forbidden
from vocloop.items import permissions
from vocloop.items import service as items

bp = Blueprint("corrections", __name__)


@bp.app_context_processor
def correction_helpers():
    """What the item page's correction row needs, without the inbox view knowing about it."""
    def can_correct(item) -> bool:
        return current_user.is_authenticated and permissions.can_work(current_user, item)

    def last_correction(response_id: int):
        found = corrections.corrections_of(response_id)
        return found[0] if found else None

    return {"can_correct": can_correct, "correction_topics": lambda: [t.name for t in all_topics()],
            "last_correction": last_correction}


@bp.post("/<int:item_id>/correct")
@login_required
def correct(item_id: int):
    """A sentiment button sets the label; a topic button adds or removes that one topic."""
    back = redirect(url_for("inbox.item", item_id=item_id), code=303)
    if not FlaskForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return back
    try:
        item = items.get_item_for(current_user, item_id)
        if not permissions.can_work(current_user, item):
            raise Forbidden("Only the item's owner, their lead or an admin can correct it.")
        response = item.response
        label, toggled = request.form.get("label"), request.form.get("toggle_topic")
        topics = None
        if toggled is not None:
            current = list(response.topics or [])
            topics = [t for t in current if t != toggled] if toggled in current else current + [toggled]
        corrections.correct_response(current_user, response, label=label or None, topics=topics, source="page")
    except DomainError as exc:
        flash(exc.detail, "error")
        return back
    flash(f"Corrected: sentiment {response.sentiment_label}, topics {', '.join(response.topics) or 'none'}. "
          "Retraining learns from it.", "ok")
    return back
