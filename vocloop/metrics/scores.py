"""NPS, CSAT and CES over time: per survey and day, week or month answered, the score and its split
into promoters, passives and detractors (for CSAT and CES: satisfied / neutral / dissatisfied, low /
middle / high effort), over counted answers (vocloop.responses.counting), as survey_scores counts them.

share of a band = answers in the band / answers of the period; the score as in queries._kind_score.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select

from vocloop.extensions import db
from vocloop.metrics.queries import _kind_score, invitation_counts, scores_with_invitations
from vocloop.metrics.sql import period_key, period_start
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import Survey
from vocloop.values import SENTIMENTS, share

BAND_NAMES = {  # kind -> (positive, middle, negative) as a lead says them
    "nps": ("promoters", "passives", "detractors"),
    "csat": ("satisfied", "neutral", "dissatisfied"),
    "ces": ("low effort", "middle", "high effort"),
}
PER_SURVEY = ("survey_id", "survey", "kind", "score_name")  # said once per survey in the API, not per period
COLUMNS = ("survey", "kind", "key", "score_name", "score", "responses", "positive", "middle", "negative",
           "positive_share", "middle_share", "negative_share")


def score_trend(start: datetime, end: datetime, interval: str = "week", survey_id: int | None = None) -> list[dict]:
    """One row per survey and period with answers, oldest period first within each survey."""
    return _trend(_by_survey_and_period(start, end, interval, survey_id))


def period_answers(start: datetime, end: datetime, interval: str = "week", survey_id: int | None = None) -> dict:
    """The dashboard's three views of the period's answers from one scan of them: the trend
    (score_trend), each survey's score and response rate (queries.survey_scores) and the sentiment
    mix, each figure as its own query gives it (test_dashboard.py compares them with those queries).
    Three statements over the same rows were a fifth of the page's SQL."""
    rows = _by_survey_and_period(start, end, interval, survey_id)
    surveys: dict[int, list] = {}  # survey id -> name, kind, responses, scored, score total, positive, negative
    mix = dict.fromkeys(SENTIMENTS, 0)
    for sid, name, kind, _, responses, _, plus, minus, scored, total, *labels in rows:
        survey = surveys.setdefault(sid, [name, kind, 0, 0, 0, 0, 0])
        for index, value in enumerate((responses, scored, total or 0, plus or 0, minus or 0)):
            survey[2 + index] += value
        for label, count in zip(SENTIMENTS, labels, strict=True):
            mix[label] += count or 0
    answered = [(sid, name, kind, responses, total / scored if scored else None, plus, minus)
                for sid, (name, kind, responses, scored, total, plus, minus) in surveys.items()]
    return {"trend": _trend(rows), "scores": scores_with_invitations(answered, invitation_counts(start, end)),
            "sentiment": mix}


def _trend(rows: list) -> list[dict]:
    """score_trend's rows from _by_survey_and_period's."""
    return [_row(name, kind, period_key(key), responses, mean, plus or 0, minus or 0, survey_id=sid)
            for sid, name, kind, key, responses, mean, plus, minus, *_ in rows]


def _by_survey_and_period(start: datetime, end: datetime, interval: str, survey_id: int | None) -> list:
    """Per survey and period answered: answers, mean score, positive, negative, answers with a score,
    their total, and the answers of each sentiment (SENTIMENTS' order)."""
    period = period_start(Response.answered_at, interval)
    one = () if survey_id is None else (Survey.id == survey_id,)
    positive = func.sum(case(*[(and_(Survey.kind == kind.code, Response.score >= kind.positive_min), 1)
                               for kind in KINDS.values()], else_=0))
    negative = func.sum(case(*[(and_(Survey.kind == kind.code, Response.score <= kind.negative_max), 1)
                               for kind in KINDS.values()], else_=0))
    labels = [func.sum(case((Response.sentiment_label == label, 1), else_=0)) for label in SENTIMENTS]
    return db.session.execute(
        select(Survey.id, Survey.name, Survey.kind, period.label("key"), func.count(Response.id),
               func.avg(Response.score), positive, negative, func.count(Response.score), func.sum(Response.score),
               *labels)
        .join(Response, Response.survey_id == Survey.id)
        .where(Response.answered_at >= start, Response.answered_at < end, counting.counts(), *one)
        .group_by(Survey.id, Survey.name, Survey.kind, period).order_by(Survey.name, Survey.id, period)).all()


def _row(survey: str, kind: str, key: str | None, responses: int, mean, positive: int, negative: int,
         survey_id: int | None = None) -> dict:
    middle = responses - positive - negative
    return {"survey_id": survey_id, "survey": survey, "kind": kind, "key": key,
            "score_name": kind.upper(), "score": _kind_score(kind, responses, positive, negative, mean),
            "responses": responses, "positive": positive, "middle": middle, "negative": negative,
            "positive_share": share(positive, responses), "middle_share": share(middle, responses),
            "negative_share": share(negative, responses)}


def survey_trends(start: datetime, end: datetime, interval: str = "week", survey_id: int | None = None) -> list[dict]:
    """Per survey: the period's score and split, the score of the period before, and its periods."""
    from vocloop.metrics.queries import previous_period, survey_scores

    before = {row["survey_id"]: row["score"] for row in survey_scores(*previous_period(start, end), survey_id)}
    trend = score_trend(start, end, interval, survey_id)
    surveys = []
    for row in survey_scores(start, end, survey_id):
        overall = _row(row["survey"], row["kind"], None, row["responses"], None, row["positive"], row["negative"],
                       survey_id=row["survey_id"])
        overall["score"] = row["score"]
        periods = [{key: value for key, value in period.items() if key not in PER_SURVEY}
                   for period in trend if period["survey_id"] == row["survey_id"]]
        surveys.append({**{key: value for key, value in overall.items() if key != "key"},
                        "previous_score": before.get(row["survey_id"]), "periods": periods})
    return surveys
