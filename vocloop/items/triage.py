"""From a completed response to an owned item: classify, decide, route, open. Safe to run twice."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from vocloop.classify.service import Classification, apply_classification, classify
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.notifications import notify_new_item
from vocloop.outbound import service as webhooks
from vocloop.responses.models import Response
from vocloop.routing.rules import RoutingFacts
from vocloop.routing.service import route
from vocloop.routing.sla import due_times
from vocloop.surveys.kinds import get_kind


def needs_item(rule: str, band: str, words: str | None) -> bool:
    """The survey's opening rule (Survey.open_items_for); the default opens one for every unhappy
    score and every answer with something to read."""
    has_words = bool((words or "").strip())
    if rule == "all":
        return True
    if rule == "negative":
        return band == "negative"
    if rule == "not_positive_or_comment":
        return band != "positive" or has_words
    return band == "negative" or has_words


def triage_response(response_id: int) -> FeedbackItem | None:
    """Classify and, when the response needs action, open exactly one owned item for it. Returns the item
    this run opened: None when none was needed, or when another run opened it first (that run's commit
    announces it: its owner's email, its rule's Slack post)."""
    response = db.session.get(Response, response_id)
    if response is None or response.completed_at is None or response.processed_at is not None:
        return None
    kind = get_kind(response.survey.kind)
    account = response.contact.account
    result = classify(kind, response.score, response.words, account_value=account.annual_value if account else None)
    apply_classification(response, result)

    webhooks.emit("response.created", webhooks.response_data(response))
    item = None
    try:  # the item's flush or the commit meets the unique response_id if another worker was first
        if needs_item(response.survey.open_items_for, kind.band(response.score), response.words):
            item = _open_item(response, result, kind.band(response.score))
        response.processed_at = utcnow()
        db.session.commit()
    except IntegrityError:  # another worker opened the item first: one item per response, announced once
        db.session.rollback()
        return None
    return item


def _open_item(response: Response, result: Classification, band: str) -> FeedbackItem:
    facts = RoutingFacts(survey_id=response.survey_id, score=response.score, band=band,
                         sentiment=result.label, priority=result.priority,
                         account_id=response.contact.account_id, topics=tuple(result.topics),
                         urgent=result.urgent, attributes=response.contact.attributes or {},
                         contact_language=response.contact.language)
    assignment = route(facts)
    now = utcnow()
    first_action_due, close_due = due_times(result.priority, now)
    item = FeedbackItem(
        response_id=response.id, contact_id=response.contact_id, survey_id=response.survey_id,
        owner_id=assignment.owner.id, team_id=assignment.team.id if assignment.team else None,
        routing_rule_id=assignment.rule.id if assignment.rule else None, priority=result.priority,
        sentiment_label=result.label, topics=result.topics,
        first_action_due_at=first_action_due, close_due_at=close_due,
        created_at=now,
    )
    db.session.add(item)
    db.session.flush()
    db.session.add(ItemEvent(item_id=item.id, kind="created", body=f"Opened with priority {result.priority}."))
    if response.counted_by == "admin":  # vocloop.responses.counting.count_by_hand
        db.session.add(ItemEvent(item_id=item.id, kind="note", actor_id=response.counted_by_user_id,
                                 body="The answer looked like a mail scanner's; an admin counted it by hand."))
    db.session.add(ItemEvent(item_id=item.id, kind="assigned", body=f"Assigned to {assignment.owner.name} "
                             f"by {assignment.reason}.", data={"owner_id": assignment.owner.id}))
    notify_new_item(item)
    data = {**webhooks.item_data(item), "assigned_by": assignment.reason}
    webhooks.emit("item.created", data)
    webhooks.emit("item.assigned", data)
    return item
