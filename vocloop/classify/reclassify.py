"""Re-classifying past responses after the taxonomy (or the classifier) changed, as a resumable job.

Only the labels change (sentiment, topics, urgency, mismatch, classifier version; on the item, its
copies of sentiment and topics). Items keep their priority, owner and SLA: moving due times under an
owner's feet would break the promise the SLA made; routing rules see the new topics from the next answer on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, func, or_, select

from vocloop.bulk import collector_skipping_what_exists
from vocloop.classify.learning import analyzer_in_use
from vocloop.classify.models import ReclassifyRun
from vocloop.classify.service import answer_values, classify
from vocloop.classify.topics import current_taxonomy
from vocloop.contacts.models import Account, Contact
from vocloop.db import update_rows_by_id, utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response
from vocloop.surveys.kinds import SurveyKind, get_kind
from vocloop.surveys.models import Survey

BATCH_SIZE = 500
ACTIVE = ("queued", "running")


def active_run() -> ReclassifyRun | None:
    return db.session.scalar(select(ReclassifyRun).where(ReclassifyRun.status.in_(ACTIVE))
                             .order_by(ReclassifyRun.id.desc()).limit(1))


def latest_run() -> ReclassifyRun | None:
    return db.session.scalar(select(ReclassifyRun).order_by(ReclassifyRun.id.desc()).limit(1))


def start_run(requested_by_id: int | None) -> tuple[ReclassifyRun, bool]:
    """A new run over every answered response, or the one already under way (started=False).

    The caller enqueues `reclassify_responses(run.id)`; the sweep re-enqueues a run that stalls.
    """
    running = active_run()
    if running is not None:
        return running, False
    total = db.session.scalar(select(func.count()).select_from(Response).where(Response.completed_at.is_not(None)))
    run = ReclassifyRun(requested_by_id=requested_by_id, total=total or 0)
    db.session.add(run)
    db.session.commit()
    return run, True


def stalled_run_ids(older_than_seconds: int = 120) -> list[int]:
    """Active runs with no progress for a while: their worker died or the enqueue never reached Redis."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    return list(db.session.scalars(select(ReclassifyRun.id).where(
        ReclassifyRun.status.in_(ACTIVE),
        or_(ReclassifyRun.progressed_at < cutoff,
            ReclassifyRun.progressed_at.is_(None) & (ReclassifyRun.created_at < cutoff)))))


def run_batches(run_id: int, batch_size: int = BATCH_SIZE) -> ReclassifyRun | None:
    """Work through the responses after the run's cursor, one committed batch at a time.

    Each batch starts by locking the run row and re-reading its cursor, so two workers given the same
    run (a retry, the sweep) take turns instead of classifying, and counting, a batch twice.
    """
    with collector_skipping_what_exists():
        return _run_batches(run_id, batch_size)


def _run_batches(run_id: int, batch_size: int) -> ReclassifyRun | None:
    taxonomy = current_taxonomy()
    kinds = _kinds()
    while True:
        run = db.session.scalar(select(ReclassifyRun).where(ReclassifyRun.id == run_id).with_for_update()
                                .execution_options(populate_existing=True))
        if run is None or run.status not in ACTIVE:
            db.session.rollback()
            return run
        if run.status == "queued":
            run.status, run.started_at = "running", utcnow()
        # Plain rows from the connection (the session's would be built again in Python, row by row), and the
        # JSON columns as their text: most answers hold the same few ('[]'), each parsed once a batch below.
        rows = db.session.connection().execute(
            select(Response.id, Response.survey_id, Response.score, Response.comment, Response.followup_answer,
                   Response.sentiment_label, cast(Response.topics, Text), cast(Response.topic_matches, Text),
                   cast(Response.urgency_flags, Text), Response.sentiment_mismatch,
                   Response.corrected_at.is_not(None), Account.annual_value, FeedbackItem.id)
            .join(Contact, Contact.id == Response.contact_id).outerjoin(Account, Account.id == Contact.account_id)
            .outerjoin(FeedbackItem, FeedbackItem.response_id == Response.id)
            .where(Response.id > run.last_response_id, Response.completed_at.is_not(None))
            .order_by(Response.id).limit(batch_size)).all()
        if not rows:
            run.status, run.finished_at = "finished", utcnow()
            run.total = max(run.total, run.done)  # answers that arrived during the run are included
            db.session.commit()
            return run
        now = utcnow()
        updates, with_items = [], []
        changed = 0
        analyzer = analyzer_in_use()  # once a batch: a model put in use mid-run labels the batches after
        if any(row.survey_id not in kinds for row in rows):  # a survey created since the run began
            kinds = _kinds()
        stored = _parsed_once()
        for (response_id, survey_id, score, comment, followup, label, topics, topic_matches, flags, mismatch,
             corrected, account_value, item_id) in rows:
            words = f"{comment}\n{followup}" if comment and followup else comment or followup or ""
            result = classify(kinds[survey_id], score, words, account_value=account_value, taxonomy=taxonomy,
                              analyzer=analyzer)
            values = answer_values(response_id, result)
            if corrected:  # a person's labels stand; the model's other findings update
                values.update(sentiment_label=label, topics=json.loads(topics), topic_matches=json.loads(topic_matches))
                result = replace(result, label=label, topics=values["topics"])
            updates.append(values)
            if item_id is not None:
                with_items.append(values)
            changed += (label, stored(topics), stored(flags), mismatch) != (
                result.label, result.topics, result.urgency_flags, result.mismatch)
        run.changed += changed  # counted here, set once: an ORM attribute set per answer cost as much as its SQL
        run.classifier = analyzer.version
        update_rows_by_id(db.session, Response.__table__, updates,
                          shared={"classifier": analyzer.version, "classified_at": now})
        if with_items:  # only answers with an item: an UPDATE per answer that has none finds nothing, at a cost
            update_rows_by_id(db.session, FeedbackItem.__table__,
                              [{"response_id": u["id"], "sentiment_label": u["sentiment_label"], "topics": u["topics"]}
                               for u in with_items], shared={"updated_at": now}, key="response_id")
        run.last_response_id = rows[-1].id
        run.done += len(rows)
        run.progressed_at = utcnow()
        db.session.commit()


def _kinds() -> dict[int, SurveyKind]:
    return {survey_id: get_kind(code) for survey_id, code in db.session.execute(select(Survey.id, Survey.kind))}


def _parsed_once() -> Callable[[str | None], Any]:
    """A stored JSON text's value, each distinct text parsed once."""
    values: dict[str, Any] = {}

    def parsed(text: str | None) -> Any:
        if text is None:
            return None
        try:
            return values[text]
        except KeyError:
            value = values[text] = json.loads(text)
            return value
    return parsed
