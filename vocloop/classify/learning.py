"""The install's own sentiment model: retrained from the shipped one plus every correction, put in use
only when it measures better, and restorable.

The model in use is a database row (none: the shipped model), so every web process and worker sees
the same one. Callers that classify many answers look it up once per batch (`analyzer_in_use`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from vocloop.classify.analyzers import VocloopAnalyzer
from vocloop.classify.base import SentimentAnalyzer, get_analyzer
from vocloop.classify.corrections import labelled_texts
from vocloop.classify.features import read
from vocloop.classify.models import ClassifierModel
from vocloop.classify.sentiment_model import LABELS, LinearModel, shipped_model
from vocloop.classify.training.adapt import EPOCHS, FOLDS, adapt, cross_validate
from vocloop.db import utcnow
from vocloop.errors import Conflict, Invalid
from vocloop.extensions import db

MIN_CORRECTIONS = 30  # fewer cannot be cross-validated into a figure worth acting on
LARGE = 2000  # above this many corrections: fewer folds and passes, so 10,000 retrain within a minute
LARGE_EPOCHS = 2  # many labels need fewer passes over them

_ANALYZERS: dict[str, VocloopAnalyzer] = {}  # by version: a version names its weights (a hash of them)


def in_use() -> ClassifierModel | None:
    return db.session.scalar(select(ClassifierModel).where(ClassifierModel.in_use.is_(True)).limit(1))


def analyzer_in_use() -> SentimentAnalyzer:
    """The CLASSIFIER setting's analyzer; for `vocloop`, the install's retrained model when one is in use."""
    name = current_app.config["CLASSIFIER"]
    if name != "vocloop":
        return get_analyzer(name)
    row = db.session.execute(select(ClassifierModel.id, ClassifierModel.version)
                             .where(ClassifierModel.in_use.is_(True)).limit(1)).first()
    if row is None:
        return get_analyzer(name)
    if row.version not in _ANALYZERS:
        weights = db.session.scalar(select(ClassifierModel.weights).where(ClassifierModel.id == row.id))
        _ANALYZERS[row.version] = VocloopAnalyzer(LinearModel.from_json(weights))
    return _ANALYZERS[row.version]


@dataclass(frozen=True)
class Retraining:
    model: ClassifierModel
    before_version: str  # the model in use when retraining began
    now_in_use: str

    @property
    def better(self) -> bool:
        return self.model.in_use

    def figures(self) -> dict:
        return {"corrections": self.model.corrections, "folds": self.model.folds,
                "macro_f1_before": round(self.model.f1_before, 4), "macro_f1_after": round(self.model.f1_after, 4),
                "before": self.before_version, "trained": self.model.version, "in_use": self.now_in_use,
                "better": self.better}


def _version_of(model: LinearModel) -> str:
    digest = hashlib.sha256(json.dumps(model.to_json(), sort_keys=True).encode()).hexdigest()[:8]
    return f"{shipped_model().version[:30]}+{digest}"


def retrain(requested_by_id: int | None = None) -> Retraining:
    """Train from the shipped model plus every labelled correction; use it only when it measures better.

    "Before" is the model in use: the shipped one scored on the corrections (it saw none of them), or a
    retrained one's own cross-validated figure when it was made. "After" is cross-validated.
    """
    texts = labelled_texts()
    counts = {label: sum(1 for t in texts if t.label == label) for label in LABELS}
    if len(texts) < MIN_CORRECTIONS or min(counts.values()) < 2:
        raise Invalid(f"retraining needs at least {MIN_CORRECTIONS} labelled comments, two of each label; "
                      f"there are {len(texts)} ({', '.join(f'{n} {label}' for label, n in counts.items())})")
    base = shipped_model()
    evidence = [read(t.text) for t in texts]
    labels = [LABELS.index(t.label) for t in texts]
    large = len(texts) > LARGE
    epochs = LARGE_EPOCHS if large else EPOCHS
    measure = cross_validate(base, evidence, labels, folds=3 if large else FOLDS, epochs=epochs)
    current = in_use()
    before = current.f1_after if current is not None else measure.before
    model = adapt(base, evidence, labels, version="pending", epochs=epochs)
    model.version = _version_of(model)
    existing = db.session.scalar(select(ClassifierModel).where(ClassifierModel.version == model.version))
    if existing is not None and existing.in_use:
        raise Conflict(f"the model in use ({existing.version}) was trained on exactly these corrections")
    record = existing or ClassifierModel(version=model.version, weights=model.to_json())
    record.corrections, record.folds = len(texts), measure.folds
    record.f1_before, record.f1_after = before, measure.after
    record.requested_by_id = requested_by_id
    db.session.add(record)
    before_version = current.version if current is not None else base.version
    if measure.after > before:
        now = utcnow()
        if current is not None:
            current.in_use, current.in_use_until = False, now
        db.session.flush()
        record.in_use, record.in_use_from, record.in_use_until = True, now, None
        record.previous_id = current.id if current is not None else None
    db.session.commit()
    return Retraining(record, before_version, record.version if record.in_use else before_version)


def restore() -> str:
    """Put back the model that was in use before the current one; the version now in use."""
    current = in_use()
    if current is None:
        raise Conflict(f"the shipped model ({shipped_model().version}) is in use: there is nothing to restore")
    now = utcnow()
    current.in_use, current.in_use_until = False, now
    previous = db.session.get(ClassifierModel, current.previous_id) if current.previous_id else None
    db.session.flush()
    if previous is not None:
        previous.in_use, previous.in_use_from, previous.in_use_until = True, now, None
    db.session.commit()
    return previous.version if previous is not None else shipped_model().version


def history() -> list[ClassifierModel]:
    return list(db.session.scalars(select(ClassifierModel).order_by(ClassifierModel.id.desc())))
