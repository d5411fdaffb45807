"""What the JSON API's resources share: the integer and date fields, enums as documentation, paging, the
problem shape, and the few schemas several resources use. Each resource's own schemas sit beside its
endpoints (api/<resource>.py); their names, and so the OpenAPI spec, are unchanged."""

from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from vocloop.api.contract import positive_ids_in
from vocloop.i18n import available_languages
from vocloop.metrics.queries import MEASURES as METRIC_MEASURES
from vocloop.surveys.kinds import KINDS

LANGUAGES = available_languages()


def one_of(values) -> validate.OneOf:
    """On an output field, only documentation: the spec's enum, so generated clients get an enum type."""
    return validate.OneOf(list(values))

MAX_INT = 2**31 - 1  # the database's INTEGER columns


class Int(fields.Integer):
    """Every integer the API takes fits the database's 32-bit INTEGER columns: a larger one is a 422,
    not an overflow deep in the driver. The range is in the spec, so clients see it too."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.insert(0, validate.Range(min=-MAX_INT - 1, max=MAX_INT))


EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
YEARS_1970_TO_2999 = r"^(19[7-9][0-9]|2[0-9]{3})-"  # the bounds where OpenAPI can say them: as a pattern
CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def Day(**kwargs) -> fields.Date:  # noqa: N802 (a field factory, named like the fields it makes)
    """A calendar date between 1970 and 2999: dates further out are mistakes, and the day after
    9999-12-31 cannot even be computed."""
    kwargs["metadata"] = {"pattern": YEARS_1970_TO_2999, **kwargs.get("metadata", {})}
    return fields.Date(validate=validate.Range(min=EARLIEST.date(), max=LATEST.date(), max_inclusive=False),
                       **kwargs)


def Moment(**kwargs) -> fields.AwareDateTime:  # noqa: N802
    """A point in time with its UTC offset, between 1970 and 2999."""
    kwargs["metadata"] = {"pattern": YEARS_1970_TO_2999, **kwargs.get("metadata", {})}
    return fields.AwareDateTime(default_timezone=None, validate=validate.Range(
        min=EARLIEST, max=LATEST, max_inclusive=False), **kwargs)


def describe_errors(errors: dict) -> str:
    """marshmallow's field errors as one line, for a row of a batch that is reported, not raised."""
    return "; ".join(f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                     for field, messages in sorted(errors.items()))


LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"


class ContactIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    first_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                               metadata={"description": "how emails greet them; empty: by their whole name"})
    language = fields.String(load_default=None, allow_none=True,
                             validate=[validate.Length(max=10), validate.Regexp(LANGUAGE_TAG)],
                             metadata={"description": "a language tag (de, fr-CA): their emails and pages use it "
                                                      "where vocloop ships it, else the survey's language"})
    external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    account_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    account_external_id = fields.String(load_default=None, allow_none=True,
                                        validate=validate.Length(min=1, max=200))
    # Yearly revenue of the account; from HIGH_VALUE_ACCOUNT on, an unhappy answer is raised a priority.
    account_annual_value = Int(load_default=None, allow_none=True,
                                          validate=validate.Range(min=0, max=MAX_INT))
    attributes = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), load_default=dict)


class TopicOut(Schema):
    id = Int()
    name = fields.String()
    keywords = fields.List(fields.String())
    position = Int()
    updated_at = fields.DateTime(allow_none=True)


def _score_fields() -> dict:
    share = {"description": "share of the period's answers, 0-1; none without answers"}
    return {"score": fields.Float(allow_none=True, metadata={
                "description": "NPS (-100..100), CSAT (% of 4-5) or CES (mean 1-7); none without answers"}),
            "responses": Int(metadata={"description": "counted answers"}),
            "positive": Int(metadata={"description": "promoters, satisfied, low effort"}),
            "middle": Int(metadata={"description": "passives, neutral, middle"}),
            "negative": Int(metadata={"description": "detractors, dissatisfied, high effort"}),
            "positive_share": fields.Float(allow_none=True, metadata=share),
            "middle_share": fields.Float(allow_none=True, metadata=share),
            "negative_share": fields.Float(allow_none=True, metadata=share)}


ScorePeriodOut = Schema.from_dict({"key": fields.String(metadata={"description": "first day of the period"}),
                                   **_score_fields()}, name="ScorePeriodOut")
SurveyScoresOut = Schema.from_dict({
    "survey_id": Int(), "survey": fields.String(), "kind": fields.String(validate=one_of(KINDS)),
    "score_name": fields.String(validate=one_of(("NPS", "CSAT", "CES"))), **_score_fields(),
    "previous_score": fields.Float(allow_none=True, metadata={
        "description": "the score over the period of the same length just before"}),
    "periods": fields.List(fields.Nested(ScorePeriodOut), metadata={"description": "oldest first"})},
    name="SurveyScoresOut")
ScoresOut = Schema.from_dict({
    "from": fields.String(metadata={"description": "first day, included"}),
    "to": fields.String(metadata={"description": "last day, included"}),
    "interval": fields.String(validate=one_of(("day", "week", "month"))),
    "surveys": fields.List(fields.Nested(SurveyScoresOut))}, name="ScoresOut")


class UserOut(Schema):
    id = Int()
    email = fields.String()
    name = fields.String()
    role = fields.String(validate=one_of(("owner", "lead", "admin")))
    active = fields.Boolean()
    away_until = fields.DateTime(allow_none=True)
    delegate_id = Int(allow_none=True)
    notify_new_items = fields.String(validate=one_of(("immediate", "digest", "off")))
    weekly_digest = fields.Boolean()


class PageQuery(Schema):
    after_id = Int(load_default=None, validate=validate.Range(min=0),
                              metadata={"description": "cursor: the last id of the previous page"})
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


class ProblemOut(Schema):
    """RFC 9457 problem details: every error of the API has this shape."""

    class Meta:
        optional_output = ("detail", "errors")

    type = fields.String()
    title = fields.String()
    status = Int()
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "field -> messages, for validation errors"})


def _closure_fields() -> dict:
    figures = {name: Int() for name in ("opened", "loop_closed", "verified_resolved", "reopened")}
    figures |= {name: fields.Float(allow_none=True)
                for name in ("closure_rate", "closed_within_sla_rate", "verified_closure_rate", "reopen_rate")}
    figures |= {f"{stat}_{name}_s": Int(allow_none=True) for name in METRIC_MEASURES for stat in ("median", "p90")}
    return figures


ClosureGroupOut = Schema.from_dict({
    "key": fields.Raw(allow_none=True, metadata={
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": "the group: an id (owner, team, survey, account) or a name (sentiment, priority, topic, "
                       "period)"}),
    "label": fields.String(allow_none=True), **_closure_fields()}, name="ClosureGroupOut")


positive_ids_in(globals())
