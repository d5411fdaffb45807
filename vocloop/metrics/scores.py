"""NPS, CSAT and CES over time: per survey and day, week or month answered, the score and its split
into promoters, passives and detractors (for CSAT and CES: satisfied / neutral / dissatisfied, low /
middle / high effort), over counted answers (vocloop.responses.counting), as survey_scores counts them.

share of a band = answers in the band / answers of the period; the score as in queries._kind_score.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, select

from vocloop.extensions import db
from vocloop.metrics.queries import _kind_score, _rate
from vocloop.metrics.sql import period_key, period_start
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import Survey

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
    period = period_start(Response.answered_at, interval)
    one = () if survey_id is None else (Survey.id == survey_id,)
    positive = func.sum(case(*[(and_(Survey.kind == kind.code, Response.score >= kind.positive_min), 1)
                               for kind in KINDS.values()], else_=0))
    negative = func.sum(case(*[(and_(Survey.kind == kind.code, Response.score <= kind.negative_max), 1)
                               for kind in KINDS.values()], else_=0))
    rows = db.session.execute(
        select(Survey.id, Survey.name, Survey.kind, period.label("key"), func.count(Response.id),
               func.avg(Response.score), positive, negative)
        .join(Response, Response.survey_id == Survey.id)
        .where(Response.answered_at >= start, Response.answered_at < end, counting.counts(), *one)
        .group_by(Survey.id, Survey.name, Survey.kind, period).order_by(Survey.name, Survey.id, period)).all()
    return [_row(name, kind, period_key(key), responses, mean, plus or 0, minus or 0, survey_id=sid)
            for sid, name, kind, key, responses, mean, plus, minus in rows]


def _row(survey: str, kind: str, key: str | None, responses: int, mean, positive: int, negative: int,
         survey_id: int | None = None) -> dict:
    middle = responses - positive - negative
    return {"survey_id": survey_id, "survey": survey, "kind": kind, "key": key,
            "score_name": kind.upper(), "score": _kind_score(kind, responses, positive, negative, mean),
            "responses": responses, "positive": positive, "middle": middle, "negative": negative,
            "positive_share": _rate(positive, responses), "middle_share": _rate(middle, responses),
            "negative_share": _rate(negative, responses)}


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
