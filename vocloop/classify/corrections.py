"""The team's own labels: correcting an answer's sentiment and topics, and importing labelled history.

A correction changes the answer (and its item's copies) at once, is kept with who made it and when,
survives re-classification, and is what `retrain` learns from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from vocloop.classify.models import CORRECTION_LABELS, Correction
from vocloop.classify.topics import NAME_PATTERN, all_topics
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response

MAX_IMPORT_TEXT = 5000
IMPORT_BATCH = 1000


def _clean_topics(topics: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for topic in topics:
        name = " ".join(str(topic).lower().split())
        if not name:
            continue
        if not NAME_PATTERN.match(name):
            raise Invalid(f"topic {name[:30]!r} is not a topic name (1-60 letters, digits, spaces or & / + -)")
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    cleaned = label.strip().lower()
    if cleaned not in CORRECTION_LABELS:
        raise Invalid(f"label {label!r} is not one of {', '.join(CORRECTION_LABELS)}")
    return cleaned


def correct_response(user, response: Response, *, label: str | None = None, topics: list[str] | None = None,
                     source: str = "page") -> Correction:
    """Set the answer's sentiment and/or topics as a person says they are; the item follows."""
    label = _clean_label(label)
    if topics is not None:
        topics = _clean_topics(topics)
        known = {topic.name for topic in all_topics()}
        unknown = [name for name in topics if name not in known]
        if unknown:
            raise Invalid(f"no topic named {', '.join(unknown)}; add it on the Topics page first")
    if label is None and topics is None:
        raise Invalid("a correction needs a sentiment label or topics")
    correction = Correction(response_id=response.id, label=label, topics=topics, source=source,
                            user_id=user.id if user is not None else None)
    db.session.add(correction)
    if label is not None:
        response.sentiment_label = label
    if topics is not None:
        response.topics = topics
        response.topic_matches = [match for match in response.topic_matches or () if match.get("topic") in topics]
    response.corrected_at = utcnow()
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == response.id))
    if item is not None:
        item.sentiment_label = response.sentiment_label
        item.topics = list(response.topics or [])
    db.session.commit()
    return correction


def corrections_of(response_id: int) -> list[Correction]:
    return list(db.session.scalars(select(Correction).where(Correction.response_id == response_id)
                                   .order_by(Correction.id.desc())))


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)  # "line 7: label 'good' is not one of ..."
    unknown_topics: set[str] = field(default_factory=set)


def import_corrections(handle: io.TextIOBase, user=None) -> ImportReport:
    """Rows of `text,label[,topics]` (a header first; topics separated by ';').

    A bad row is reported by its line number and skipped; the good rows are stored in batches, so an
    error never loses what was already imported. A row identical to an imported one counts as a duplicate.
    """
    reader = csv.DictReader(handle)
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    missing = [name for name in ("text", "label") if name not in header]
    if missing:
        raise Invalid(f"the header must name the columns text and label (missing: {', '.join(missing)}); "
                      f"found: {', '.join(reader.fieldnames or []) or 'nothing'}")
    known = {topic.name for topic in all_topics()}
    seen = {(text, label, tuple(topics or ())) for text, label, topics in db.session.execute(
        select(Correction.text, Correction.label, Correction.topics).where(Correction.source == "import"))}
    report = ImportReport()
    pending = 0
    for row in reader:
        line = reader.line_num
        try:
            text = " ".join((row.get(header["text"]) or "").split())
            if not text:
                raise Invalid("the text is empty")
            if len(text) > MAX_IMPORT_TEXT:
                raise Invalid(f"the text is longer than {MAX_IMPORT_TEXT} characters")
            label = _clean_label(row.get(header["label"]) or "")
            topics = _clean_topics((row.get(header["topics"]) or "").split(";")) if "topics" in header else []
        except Invalid as exc:
            report.errors.append(f"line {line}: {exc.detail}")
            continue
        key = (text, label, tuple(topics))
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        report.unknown_topics.update(name for name in topics if name not in known)
        db.session.add(Correction(text=text, label=label, topics=topics or None, source="import",
                                  user_id=user.id if user is not None else None))
        report.imported += 1
        pending += 1
        if pending >= IMPORT_BATCH:
            db.session.commit()
            pending = 0
    db.session.commit()
    return report


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


def labelled_texts() -> list[LabelledText]:
    """Every comment a person labelled, once, with its latest label: what retraining learns from.

    Answers' words are read now, so an erased comment (contact erasure, retention) is not learnt.
    """
    rows = db.session.execute(
        select(Correction.id, Correction.text, Correction.label, Response.comment, Response.followup_answer)
        .outerjoin(Response, Response.id == Correction.response_id)
        .where(Correction.label.is_not(None)).order_by(Correction.id)).all()
    latest: dict[str, LabelledText] = {}
    for row in rows:
        text = row.text if row.text is not None else "\n".join(p for p in (row.comment, row.followup_answer) if p)
        if text.strip():
            latest[" ".join(text.lower().split())] = LabelledText(text, row.label)
    return list(latest.values())
