"""Classifying a response: sentiment weighed with the score, topics, and a priority.

The score matters as much as the words: "ok" after a 2/10 is not a neutral answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app

from vocloop.classify.base import get_analyzer
from vocloop.classify.topics import match_topics
from vocloop.surveys.kinds import SurveyKind

LABEL_THRESHOLD = 0.1
TEXT_WEIGHT = 0.6
URGENT_PHRASES = re.compile(
    r"\b(cancel(l?ing|led)?|switch(ing)? to|lawyer|legal action|sue|refund|unacceptable|"
    r"worst|never again|leaving|churn)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Classification:
    polarity: float
    subjectivity: float
    label: str
    topics: list[str]
    urgent: bool
    priority: str
    classifier: str


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


def decide_priority(kind: SurveyKind, score: int, label: str, urgent: bool) -> str:
    """P1 urgent and unhappy, P2 unhappy, P3 lukewarm or negative words, P4 the rest."""
    band = kind.band(score)
    if band == "negative" and (urgent or (label == "negative" and score_polarity(kind, score) <= -0.65)):
        return "P1"
    if band == "negative" or urgent:
        return "P2"
    if band == "neutral" or label == "negative":
        return "P3"
    return "P4"


def classify(kind: SurveyKind, score: int, comment: str | None) -> Classification:
    analyzer = get_analyzer(current_app.config["CLASSIFIER"])
    from_score = score_polarity(kind, score)
    text = (comment or "").strip()
    if text:
        sentiment = analyzer.analyze(text)
        has_opinion = sentiment.subjectivity > 0 or sentiment.polarity != 0
        polarity = TEXT_WEIGHT * sentiment.polarity + (1 - TEXT_WEIGHT) * from_score if has_opinion \
            else from_score
        subjectivity = sentiment.subjectivity
    else:
        polarity, subjectivity = from_score, 0.0
    label = label_for(polarity)
    urgent = bool(URGENT_PHRASES.search(text))
    return Classification(
        polarity=round(max(-1.0, min(1.0, polarity)), 4), subjectivity=round(subjectivity, 4),
        label=label, topics=match_topics(text), urgent=urgent,
        priority=decide_priority(kind, score, label, urgent), classifier=analyzer.name,
    )
