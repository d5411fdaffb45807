"""Classifying a response: the comment's sentiment weighed with the score, topics, urgency, priority.

The score matters as much as the words: "ok" after a 2/10 is not a neutral answer, and a 9 with an
angry comment is flagged as a mismatch so that nobody files it as a happy customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from vocloop.classify.base import SentimentAnalyzer
from vocloop.classify.learning import analyzer_in_use
from vocloop.classify.phrases import urgency_flags
from vocloop.classify.topics import Taxonomy, current_taxonomy, topic_matches
from vocloop.db import utcnow
from vocloop.responses.models import Response
from vocloop.surveys.kinds import SurveyKind
from vocloop.values import PRIORITIES

LABEL_THRESHOLD = 0.1
TEXT_WEIGHT = 0.6
MISMATCH_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Classification:
    polarity: float
    subjectivity: float
    label: str
    confidence: float
    topics: list[str]
    urgency_flags: list[str] = field(default_factory=list)
    mismatch: bool = False
    priority: str = "P4"
    classifier: str = ""
    topic_matches: list[dict[str, str]] = field(default_factory=list)  # why each topic: keyword and phrase

    @property
    def urgent(self) -> bool:
        return bool(self.urgency_flags)


def score_polarity(kind: SurveyKind, score: int) -> float:
    """The score alone on -1..1: 0 for the neutral band, at least ±0.3 outside it."""
    band = kind.band(score)
    if band == "negative":
        span = max(1, kind.negative_max - kind.low)
        return -(0.3 + 0.7 * (kind.negative_max - score) / span)
    if band == "positive":
        span = max(1, kind.high - kind.positive_min)
        return 0.3 + 0.7 * (score - kind.positive_min) / span
    return 0.0


def label_for(polarity: float) -> str:
    if polarity > LABEL_THRESHOLD:
        return "positive"
    if polarity < -LABEL_THRESHOLD:
        return "negative"
    return "neutral"


def decide_priority(kind: SurveyKind, score: int, label: str, urgent: bool, *, high_value: bool = False) -> str:
    """P1 urgent and unhappy, P2 unhappy, P3 lukewarm or negative words, P4 the rest.

    An unhappy answer from a high-value account is raised one level: losing it costs the most.
    """
    band = kind.band(score)
    if band == "negative" and (urgent or (label == "negative" and score_polarity(kind, score) <= -0.65)):
        priority = "P1"
    elif band == "negative" or urgent:
        priority = "P2"
    elif band == "neutral" or label == "negative":
        priority = "P3"
    else:
        priority = "P4"
    unhappy = band == "negative" or label == "negative"
    if high_value and unhappy and priority != "P1":
        priority = PRIORITIES[PRIORITIES.index(priority) - 1]
    return priority


def is_mismatch(band: str, text_label: str, text_confidence: float) -> bool:
    """A promoter's angry comment, or a detractor's glowing one: the score and the words disagree."""
    if text_confidence < MISMATCH_CONFIDENCE:
        return False
    return (band == "positive" and text_label == "negative") or (band == "negative" and text_label == "positive")


def classify(kind: SurveyKind, score: int, comment: str | None, *, account_value: int | None = None,
             taxonomy: Taxonomy | None = None, analyzer: SentimentAnalyzer | None = None) -> Classification:
    """`analyzer`: the model in use, looked up once by callers that classify a batch."""
    analyzer = analyzer or analyzer_in_use()
    from_score = score_polarity(kind, score)
    band = kind.band(score)
    text = (comment or "").strip()
    mismatch = False
    if text:
        sentiment = analyzer.analyze(text)
        polarity = TEXT_WEIGHT * sentiment.polarity + (1 - TEXT_WEIGHT) * from_score if sentiment.has_opinion \
            else from_score
        subjectivity = sentiment.subjectivity
        label = label_for(polarity)
        agreement = 1.0 if band == label else 0.5  # the score says the same as the final label
        confidence = (sentiment.confidence + agreement) / 2
        mismatch = is_mismatch(band, sentiment.label, sentiment.confidence)
    else:
        polarity, subjectivity, label, confidence = from_score, 0.0, label_for(from_score), 1.0
    flags = urgency_flags(text)
    matches = topic_matches(text, taxonomy if taxonomy is not None else current_taxonomy())
    threshold = current_app.config["HIGH_VALUE_ACCOUNT"]
    high_value = threshold is not None and account_value is not None and account_value >= threshold
    return Classification(
        polarity=round(max(-1.0, min(1.0, polarity)), 4), subjectivity=round(subjectivity, 4), label=label,
        confidence=round(confidence, 4),
        topics=[match.topic for match in matches], topic_matches=[match.to_json() for match in matches],
        urgency_flags=flags, mismatch=mismatch,
        priority=decide_priority(kind, score, label, bool(flags), high_value=high_value),
        classifier=analyzer.version,
    )


def row_values(response_id: int, result: Classification, now: datetime) -> dict:
    """The response columns a classification sets, keyed for a bulk UPDATE by primary key."""
    return {**answer_values(response_id, result), "classifier": result.classifier, "classified_at": now}


def answer_values(response_id: int, result: Classification) -> dict:
    """row_values but the two columns a batch shares (the classifier's version and when it ran)."""
    return {"id": response_id, "polarity": result.polarity, "subjectivity": result.subjectivity,
            "sentiment_label": result.label, "sentiment_confidence": result.confidence,
            "sentiment_mismatch": result.mismatch, "topics": result.topics, "topic_matches": result.topic_matches,
            "urgency_flags": result.urgency_flags, "urgent": bool(result.urgency_flags)}


def apply_classification(response: Response, result: Classification) -> None:
    """Write a classification onto its response (the same columns as row_values)."""
    for column, value in row_values(response.id, result, utcnow()).items():
        if column != "id":
            setattr(response, column, value)
