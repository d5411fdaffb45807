"""marshmallow schemas of the JSON API: validation at the edge, and the shapes callers see."""

import json
from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from vocloop.api.contract import Shaped, positive_ids
from vocloop.i18n import available_languages
from vocloop.items.service import ALL_CLOSE_REASONS, CLOSE_REASONS
from vocloop.metrics.queries import GROUPS as METRIC_GROUPS
from vocloop.metrics.queries import MEASURES as METRIC_MEASURES
from vocloop.outbound.models import EVENT_TYPES as WEBHOOK_EVENTS
from vocloop.responses import counting
from vocloop.responses.counting import status_of
from vocloop.responses.scanners import SIGNALS as SCANNER_SIGNALS
from vocloop.responses.scanners import describe
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import OPEN_ITEM_RULES
from vocloop.surveys.service import INVITATION_STATUS_RANK
from vocloop.values import BANDS, PRIORITIES, SENTIMENTS
from vocloop.values import ITEM_STATUSES as STATUSES

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


class ContactsBulkIn(Schema):
    # Rows are checked one by one (as ContactIn) so that one bad row does not refuse the others.
    contacts = fields.List(Shaped(ContactIn), required=True, validate=validate.Length(min=1, max=1000))


class BulkRowOut(Schema):
    index = Int()
    status = fields.String(validate=one_of(("created", "updated", "unchanged", "rejected")))
    id = Int(allow_none=True)
    error = fields.String(allow_none=True)


class ContactsBulkOut(Schema):
    created = Int()
    updated = Int()
    unchanged = Int()
    rejected = Int()
    results = fields.List(fields.Nested(BulkRowOut))


class ContactOut(Schema):
    id = Int()
    email = fields.String()
    name = fields.String()
    first_name = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    account_id = Int(allow_none=True)
    attributes = fields.Dict()
    unsubscribed = fields.Function(lambda contact: contact.unsubscribed_at is not None, metadata={"type": "boolean"})
    created_at = fields.DateTime()


class SurveyIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "internal: never shown to customers"})
    title = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                          metadata={"description": "what customers may see it called; null: never named to them"})
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    company = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100),
                            metadata={"description": "named in the standard question; default: the company profile's"})
    question = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500))
    comment_prompt = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500))
    subject = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    intro = fields.String(load_default="", validate=validate.Length(max=2000))
    sender_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120),
                                metadata={"description": "null: the company profile's sender"})
    sender_email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=320),
                                 metadata={"description": "null: the company profile's sender address"})
    quarantine_days = Int(load_default=90, validate=validate.Range(min=0, max=3650))
    link_expiry_days = Int(load_default=30, validate=validate.Range(min=1, max=365))
    followups = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                            values=fields.String(validate=validate.Length(max=500)), load_default=dict,
                            metadata={"description": "a second question on the answer page, by score band"})
    thanks = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                         values=fields.String(validate=validate.Length(max=1000)), load_default=dict,
                         metadata={"description": "the thank-you page's message, by score band"})
    review_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                               metadata={"description": "an https:// review site offered to promoters on the "
                                                        "thank-you page"})
    brand_color = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"),
                                metadata={"description": "buttons' colour; white text on it must reach 4.5:1; "
                                                         "null: the company profile's"})
    logo_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    open_items_for = fields.String(load_default=None, validate=validate.OneOf(OPEN_ITEM_RULES))
    reminder_days = Int(load_default=3, allow_none=True, validate=validate.Range(min=1, max=30),
                        metadata={"description": "one reminder to non-responders after this many days; null: none"})
    language = fields.String(load_default=None, validate=validate.OneOf(LANGUAGES))


class SurveyOut(Schema):
    id = Int()
    name = fields.String()
    title = fields.String(allow_none=True)
    kind = fields.String(validate=one_of(KINDS))
    question = fields.String()
    comment_prompt = fields.String()
    subject = fields.String()
    intro = fields.String()
    sender_name = fields.String(allow_none=True)
    sender_email = fields.String(allow_none=True)
    followups = fields.Dict(keys=fields.String(), values=fields.String())
    thanks = fields.Dict(keys=fields.String(), values=fields.String())
    review_url = fields.String(allow_none=True)
    brand_color = fields.String(allow_none=True)
    logo_url = fields.String(allow_none=True)
    open_items_for = fields.String(validate=one_of(OPEN_ITEM_RULES))
    reminder_days = Int(allow_none=True)
    language = fields.String(validate=one_of(LANGUAGES))
    quarantine_days = Int()
    link_expiry_days = Int()
    active = fields.Boolean()
    created_at = fields.DateTime()


class InvitationsIn(Schema):
    contact_ids = fields.List(Int(), required=True, validate=validate.Length(min=1, max=1000))


class InvitationOut(Schema):
    id = Int()
    contact_id = Int()
    status = fields.String(validate=one_of(INVITATION_STATUS_RANK), metadata={
        "description": "the survey email's status, which only moves up the list (bounced, dropped, failed: never "
                       "arrived)"})
    expires_at = fields.DateTime()


class SkippedOut(Schema):
    contact_id = Int()
    reason = fields.String()


class InvitationsOut(Schema):
    invitations = fields.List(fields.Nested(InvitationOut))
    skipped = fields.List(fields.Nested(SkippedOut))


class RoutingConditions(Schema):
    """The conditions of a routing rule, all of which must hold (routing.rules checks them)."""

    survey_ids = fields.List(Int(validate=validate.Range(min=1)))
    score_min = Int()
    score_max = Int()
    sentiments = fields.List(fields.String(validate=validate.OneOf(SENTIMENTS)))
    bands = fields.List(fields.String(validate=validate.OneOf(BANDS)),
                        metadata={"description": "the score's band: detractor/passive/promoter and the like"})
    priorities = fields.List(fields.String(validate=validate.OneOf(PRIORITIES)))
    topics = fields.List(fields.String())
    languages = fields.List(fields.String())
    account_ids = fields.List(Int(validate=validate.Range(min=1)))
    urgent = fields.Boolean()
    attributes = fields.Dict(metadata={"description": "contact attribute name -> a value or a list of values"})


class RoutingRuleIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    position = Int(load_default=100)
    enabled = fields.Boolean(load_default=True)
    conditions = Shaped(RoutingConditions, load_default=dict)
    action = fields.String(required=True, validate=validate.OneOf(["user", "team", "account_owner"]))
    user_id = Int(load_default=None, allow_none=True)
    team_id = Int(load_default=None, allow_none=True)
    team_strategy = fields.String(load_default="round_robin",
                                  validate=validate.OneOf(["round_robin", "least_loaded"]))
    notify_user_id = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    notify_team_id = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    notify_slack_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class RoutingRuleOut(Schema):
    id = Int()
    name = fields.String()
    position = Int()
    enabled = fields.Boolean()
    conditions = Shaped(RoutingConditions)
    action = fields.String()
    user_id = Int(allow_none=True)
    team_id = Int(allow_none=True)
    team_strategy = fields.String()
    notify_user_id = Int(allow_none=True)
    notify_team_id = Int(allow_none=True)
    notify_slack_url = fields.String(allow_none=True)


class TopicMatchOut(Schema):
    """Why an answer has a topic: the taxonomy keyword, and the customer's own words that matched it."""

    topic = fields.String(required=True)
    keyword = fields.String(required=True, metadata={"description": "the topic's keyword or phrase"})
    phrase = fields.String(required=True, metadata={"description": "the words of the comment that matched it"})


class ResponseOut(Schema):
    id = Int()
    score = Int()
    comment = fields.String(allow_none=True)
    answered_at = fields.DateTime()
    polarity = fields.Float(allow_none=True)
    subjectivity = fields.Float(allow_none=True)
    sentiment_label = fields.String(allow_none=True, validate=one_of(SENTIMENTS))
    sentiment_confidence = fields.Float(allow_none=True)
    sentiment_mismatch = fields.Boolean()
    topics = fields.List(fields.String())
    topic_matches = fields.List(fields.Nested(TopicMatchOut), metadata={
        "description": "per topic, the keyword and the comment's phrase that matched (empty for answers "
                       "classified before phrases were kept)"})
    urgent = fields.Boolean()
    urgency_flags = fields.List(fields.String())
    classifier = fields.String(allow_none=True, metadata={"description": "the model version that labelled it"})
    classified_at = fields.DateTime(allow_none=True)
    corrected_at = fields.DateTime(allow_none=True, metadata={
        "description": "when a person last corrected its sentiment or topics (see its corrections)"})


class CorrectionIn(Schema):
    """What a person says the answer is: its sentiment, its topics (the whole list), or both."""

    sentiment_label = fields.String(validate=validate.OneOf(SENTIMENTS))
    topics = fields.List(fields.String(validate=validate.Length(min=1, max=60)), validate=validate.Length(max=200),
                         metadata={"description": "the answer's topics, each a topic of the taxonomy"})


class CorrectionOut(Schema):
    id = Int()
    response_id = Int(allow_none=True)
    sentiment_label = fields.String(attribute="label", allow_none=True, validate=one_of(SENTIMENTS))
    topics = fields.List(fields.String(), allow_none=True, metadata={"description": "null: topics not corrected"})
    source = fields.String(validate=one_of(("page", "api", "import")))
    user_id = Int(allow_none=True)
    created_at = fields.DateTime()


class TopicIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=80)), required=True,
                           validate=validate.Length(min=1, max=200))
    position = Int(validate=validate.Range(min=0, max=100000))


class TopicPatch(TopicIn):
    """The same fields, each optional: only what is sent changes."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class TopicOut(Schema):
    id = Int()
    name = fields.String()
    keywords = fields.List(fields.String())
    position = Int()
    updated_at = fields.DateTime(allow_none=True)


class ReclassifyRunOut(Schema):
    id = Int()
    status = fields.String(validate=one_of(("queued", "running", "finished", "failed")))
    total = Int()
    done = Int()
    changed = Int()
    percent = Int()
    classifier = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class ItemOut(Schema):
    id = Int()
    status = fields.String(validate=one_of(STATUSES))
    priority = fields.String(validate=one_of(PRIORITIES))
    owner_id = Int()
    team_id = Int(allow_none=True)
    contact_id = Int()
    survey_id = Int()
    response = fields.Nested(ResponseOut)
    first_action_due_at = fields.DateTime()
    close_due_at = fields.DateTime(metadata={
        "description": "while sla_paused_at is set, the due time as it stood when the clock paused; it moves "
                       "later by the time waited when the item leaves 'waiting'"})
    sla_paused_at = fields.DateTime(allow_none=True, metadata={
        "description": "set while the item waits on the customer: its SLA clock is paused since then"})
    first_action_at = fields.DateTime(allow_none=True, metadata={
        "description": "the owner's first action on the current SLA clock (a reopen starts a new one)"})
    sla_breached_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the current clock's closing-message deadline passed; a reopen clears it"})
    first_breached_at = fields.DateTime(allow_none=True, metadata={
        "description": "the first time the item missed a closing-message deadline, kept across reopens"})
    reopen_count = Int()
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True, validate=one_of(ALL_CLOSE_REASONS))
    loop_closed = fields.Function(lambda item: item.loop_closed_at is not None, metadata={
        "type": "boolean",
        "description": "the provider accepted the closing message (never for an item closed without one)"})
    loop_closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ItemsQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    owner_id = Int(load_default=None)
    after_id = Int(load_default=None, metadata={"description": "cursor: the last id of the previous page"})
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


class CloseIn(Schema):
    """Exactly one of message (the loop closes once the provider accepts it) or reason (no message).
    Not written as a oneOf in the spec: generated clients then lose the CloseIn model itself."""

    message = fields.String(load_default=None, allow_none=False, validate=validate.Length(min=1, max=10_000))
    reason = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(CLOSE_REASONS))


class ClosureQuery(Schema):
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)
    group_by = fields.String(load_default=None, validate=validate.OneOf(list(METRIC_GROUPS)))
    # Filters: the figures of these items only.
    owner_id = Int(load_default=None, validate=validate.Range(min=1))
    team_id = Int(load_default=None, validate=validate.Range(min=1))
    survey_id = Int(load_default=None, validate=validate.Range(min=1))
    account_id = Int(load_default=None, validate=validate.Range(min=1))
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    sentiment = fields.String(load_default=None, validate=validate.OneOf(SENTIMENTS))
    topic = fields.String(load_default=None, validate=validate.Length(min=1, max=60))


class MetricsQuery(ClosureQuery):
    """A period and filters, without grouping."""

    class Meta:
        exclude = ("group_by",)


class ScoresQuery(Schema):
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)
    interval = fields.String(load_default="week", validate=validate.OneOf(["day", "week", "month"]))
    survey_id = Int(load_default=None, validate=validate.Range(min=1))


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


class EffectGroupOut(Schema):
    key = fields.String(validate=one_of(("closed_in_sla", "closed_late", "closed_without_message", "not_closed",
                                         "resolved", "not_resolved")))
    label = fields.String()
    customers = Int(metadata={"description": "customers who answered the same survey again after the loop ended"})
    enough = fields.Boolean(metadata={"description": "at least min_customers: below it, conclude nothing"})
    mean_change = fields.Float(allow_none=True, metadata={
        "description": "mean change from the opening answer to the next, on a 0-100 scale"})
    ci_low = fields.Float(allow_none=True, metadata={"description": "95% interval of mean_change (Student's t)"})
    ci_high = fields.Float(allow_none=True)
    mean_change_points = fields.Float(allow_none=True, metadata={
        "description": "the same in the survey's own points, when the group holds one kind of survey"})
    survey_kind = fields.String(allow_none=True, validate=one_of(KINDS))
    conclusion = fields.String(metadata={"description": "what the figures allow one to say, in words"})


class NextSurveyOut(Schema):
    key = fields.String(validate=one_of(("closed", "not_closed")))
    label = fields.String()
    asked_again = Int()
    answered = Int()
    response_rate = fields.Float(allow_none=True)


class LoopEffectOut(Schema):
    from_ = fields.String(attribute="from", data_key="from", metadata={"description": "first day, included"})
    to = fields.String(metadata={"description": "last day, included"})
    items = Int(metadata={"description": "items opened in the period (with the filters)"})
    answered_again = Int()
    min_customers = Int()
    outcomes = fields.List(fields.Nested(EffectGroupOut))
    verdicts = fields.List(fields.Nested(EffectGroupOut))
    next_survey = fields.List(fields.Nested(NextSurveyOut))


class RiskGroupOut(Schema):
    key = fields.Raw(allow_none=True, metadata={"oneOf": [{"type": "integer"}, {"type": "string"}],
                                                "description": "a team or owner id, or a topic"})
    label = fields.String()
    at_risk = Int()
    accounts = Int()


class RiskAccountOut(Schema):
    account_id = Int()
    account = fields.String()
    annual_value = Int()
    open_items = Int()
    oldest_item_id = Int()
    oldest_opened_at = fields.String()
    days_open = Int()
    owner_id = Int()
    owner = fields.String(allow_none=True)


class RevenueAtRiskOut(Schema):
    from_ = fields.String(attribute="from", data_key="from", metadata={"description": "first day, included"})
    to = fields.String(metadata={"description": "last day, included"})
    at_risk = Int(metadata={"description": "annual value of accounts with an open detractor item"})
    accounts_at_risk = Int()
    saved = Int(metadata={"description": "annual value of accounts whose detractor loops closed in the period"})
    accounts_saved = Int()
    by_team = fields.List(fields.Nested(RiskGroupOut))
    by_topic = fields.List(fields.Nested(RiskGroupOut))
    by_owner = fields.List(fields.Nested(RiskGroupOut))
    accounts = fields.List(fields.Nested(RiskAccountOut), metadata={"description": "oldest open item first"})


class RoutingRulePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    position = Int()
    enabled = fields.Boolean()
    conditions = Shaped(RoutingConditions)
    action = fields.String(validate=validate.OneOf(["user", "team", "account_owner"]))
    user_id = Int(allow_none=True)
    team_id = Int(allow_none=True)
    team_strategy = fields.String(validate=validate.OneOf(["round_robin", "least_loaded"]))
    notify_user_id = Int(allow_none=True, validate=validate.Range(min=1))
    notify_team_id = Int(allow_none=True, validate=validate.Range(min=1))
    notify_slack_url = fields.String(allow_none=True, validate=validate.Length(max=500))


class DryRunIn(Schema):
    rules = fields.List(fields.Nested(RoutingRuleIn), required=True, validate=validate.Length(max=200))
    days = Int(load_default=30, validate=validate.Range(min=1, max=365))


class SlaPolicyIO(Schema):
    priority = fields.String(dump_only=True)
    first_action_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    close_hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    business_hours = fields.Boolean(load_default=False)


class CalendarIO(Schema):
    timezone = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "an IANA time zone, like Europe/Berlin (not an enum: generated clients cannot name "
                       "GMT+0 and GMT-0 apart)"})
    workdays = fields.List(Int(validate=validate.Range(min=0, max=6)), required=True)
    start = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME))
    end = fields.String(required=True, validate=validate.Regexp(CLOCK_TIME), metadata={"description": "after start"})
    holidays = fields.List(fields.String(validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$")), load_default=list)


class UserPatch(Schema):
    active = fields.Boolean()
    notify_new_items = fields.String(validate=validate.OneOf(["immediate", "digest", "off"]))
    weekly_digest = fields.Boolean(metadata={"description": "leads and admins: the weekly metrics email"})
    away_until = Moment(allow_none=True)
    delegate_id = Int(allow_none=True)


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


class ClosingTemplateIO(Schema):
    id = Int(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    survey_id = Int(load_default=None, allow_none=True)
    topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class ClosingTemplatePatch(ClosingTemplateIO):
    """The same fields, each optional: only what is sent changes."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class PageQuery(Schema):
    after_id = Int(load_default=None, validate=validate.Range(min=0),
                              metadata={"description": "cursor: the last id of the previous page"})
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


class ContactsQuery(PageQuery):
    email = fields.String(load_default=None, validate=validate.Length(min=1, max=320))
    external_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    account_id = Int(load_default=None, validate=validate.Range(min=1))


class AccountIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    owner_id = Int(load_default=None, allow_none=True,
                              metadata={"description": "the account owner (routing rules can send items to them)"})
    annual_value = Int(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_INT))


class AccountPatch(AccountIn):
    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class AccountOut(Schema):
    id = Int()
    name = fields.String()
    external_id = fields.String(allow_none=True)
    owner_id = Int(allow_none=True)
    annual_value = Int(allow_none=True)
    created_at = fields.DateTime()


class AccountsQuery(PageQuery):
    external_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class TeamIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    lead_id = Int(load_default=None, allow_none=True)


class TeamOut(Schema):
    id = Int()
    name = fields.String()
    lead_id = Int(allow_none=True)
    member_ids = fields.Function(lambda team: [member.id for member in team.members],
                                 metadata={"type": "array", "items": {"type": "integer"}})
    created_at = fields.DateTime()


class TeamPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    lead_id = Int(allow_none=True)


class TeamMemberIn(Schema):
    user_id = Int(required=True)


class UserIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.String(load_default="owner", validate=validate.OneOf(["owner", "lead", "admin"]))
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=120),
                         metadata={"description": "team name; created if new"})


class UsersQuery(PageQuery):
    active = fields.Boolean(load_default=None)
    role = fields.String(load_default=None, validate=validate.OneOf(["owner", "lead", "admin"]))


class SurveyPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    title = fields.String(allow_none=True, validate=validate.Length(max=200))
    question = fields.String(validate=validate.Length(min=1, max=500))
    comment_prompt = fields.String(validate=validate.Length(min=1, max=500))
    subject = fields.String(validate=validate.Length(min=1, max=200))
    intro = fields.String(validate=validate.Length(max=2000))
    sender_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    sender_email = fields.String(allow_none=True, validate=validate.Length(max=320))
    quarantine_days = Int(validate=validate.Range(min=0, max=3650))
    link_expiry_days = Int(validate=validate.Range(min=1, max=365))
    active = fields.Boolean()
    followups = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                            values=fields.String(validate=validate.Length(max=500)))
    thanks = fields.Dict(keys=fields.String(validate=validate.OneOf(SENTIMENTS)),
                         values=fields.String(validate=validate.Length(max=1000)))
    review_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    brand_color = fields.String(allow_none=True, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"))
    logo_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    open_items_for = fields.String(validate=validate.OneOf(OPEN_ITEM_RULES))
    reminder_days = Int(allow_none=True, validate=validate.Range(min=1, max=30))
    language = fields.String(validate=validate.Length(min=2, max=10))


class TriggerIn(Schema):
    survey_id = Int(required=True)
    contact = Shaped(ContactIn, required=True, metadata={
        "description": "the contact, as for POST /contacts: created if new, updated by external_id or email"})


class TriggerOut(Schema):
    contact_id = Int()
    invitation = fields.Nested(InvitationOut, allow_none=True)
    skipped = fields.String(allow_none=True, metadata={
        "description": "why no survey was sent: open_item, quarantine, unsubscribed, suppressed (...)"})


class ResponsesQuery(PageQuery):
    survey_id = Int(load_default=None, validate=validate.Range(min=1))
    contact_id = Int(load_default=None, validate=validate.Range(min=1))
    sentiment = fields.String(load_default=None, validate=validate.OneOf(SENTIMENTS))
    answered_from = Moment(load_default=None)
    answered_to = Moment(load_default=None)
    status = fields.String(load_default="counted", validate=validate.OneOf(["counted", "pending", "suspected"]),
                           metadata={"description": "counted (people's answers, the default), pending (waiting "
                                                    "out ANSWER_SETTLE_SECONDS) or suspected (a mail scanner's, "
                                                    "by its signals)"})


class ResponseFullOut(ResponseOut):
    survey_id = Int()
    contact_id = Int()
    invitation_id = Int()
    completed_at = fields.DateTime(allow_none=True)
    item_id = fields.Function(lambda response: response.item.id if response.item else None, allow_none=True,
                              metadata={"type": "integer",
                                        "description": "the feedback item this answer opened, if any"})
    status = fields.String(validate=one_of(counting.STATUSES), metadata={
        "description": "counted, pending or suspected: only counted answers are "
                                                    "in metrics, open items or stop reminders"})
    status_reason = fields.Function(lambda response: status_of(response)["status_reason"],
                                    metadata={"type": "string", "description": "why, in words"})
    signals = fields.Function(lambda response: describe(response.signals or 0), metadata={
        "type": "array", "items": {"type": "string", "enum": list(SCANNER_SIGNALS.values())},
        "description": "signs of a mail scanner: all_links, at_delivery, head_first, scanner_network, "
                       "scanner_user_agent, no_interaction"})
    counted_by = fields.String(allow_none=True, validate=one_of((
        counting.BY_COMMENT, counting.BY_CONFIRMATION, counting.BY_INTERACTION, counting.BY_SETTLING,
        counting.BY_ADMIN)), metadata={
        "description": "comment, confirmed, interaction, settled or admin (null: counted before checks)"})
    counted_at = fields.DateTime(allow_none=True)


class ScannerRuleIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["network", "user_agent"]))
    pattern = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "a network in CIDR notation (203.0.113.0/24), or a regular expression searched in the "
                       "User-Agent, case-insensitive"})
    label = fields.String(load_default="", validate=validate.Length(max=120),
                          metadata={"description": "whose it is (vendor, customer gateway)"})


class ScannerRuleOut(Schema):
    id = Int()
    kind = fields.String(validate=one_of(("network", "user_agent")))
    pattern = fields.String()
    label = fields.String()
    created_at = fields.DateTime()


class ItemPatch(Schema):
    status = fields.String(validate=validate.OneOf(["open", "in_progress", "waiting"]),
                           metadata={"description": "close with POST /items/{id}/close"})
    owner_id = Int(metadata={"description": "reassign: needs handover_note"})
    handover_note = fields.String(validate=validate.Length(min=1, max=10_000))
    tell_customer = fields.Boolean(load_default=False)


class NoteIn(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class EventOut(Schema):
    id = Int()
    kind = fields.String()
    actor_id = Int(allow_none=True)
    body = fields.String()
    data = fields.Dict()
    created_at = fields.DateTime()


class WebhookIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_EVENTS)), required=True,
                         validate=validate.Length(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookPatch(WebhookIn):
    active = fields.Boolean()
    rotate_secret = fields.Boolean(metadata={"description": "make a new signing secret (returned once)"})

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class WebhookOut(Schema):
    id = Int()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(metadata={"description": "the signing secret: shown now only, keep it"})


class WebhookAttemptOut(Schema):
    status_code = Int(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = Int()
    created_at = fields.DateTime()


class WebhookDeliveryOut(Schema):
    id = Int()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(validate=one_of(("pending", "delivered", "failed")),
                           metadata={"description": "failed: retries given up"})
    attempts = Int()
    last_status_code = Int(allow_none=True)
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    replay_of_id = Int(allow_none=True)
    created_at = fields.DateTime()
    body = fields.Function(lambda delivery: json.loads(delivery.body), metadata={
        "type": "object", "additionalProperties": True,
        "description": "the JSON object posted to the endpoint, exactly as sent (see the event types)"})
    attempt_log = fields.List(fields.Nested(WebhookAttemptOut))


class DeliveriesQuery(Schema):
    before_id = Int(load_default=None, validate=validate.Range(min=1),
                               metadata={"description": "cursor: the last (oldest) id of the previous page"})
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "delivered", "failed"]))
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


class ClosureOut(Schema.from_dict({
        "from": fields.String(metadata={"description": "first day, included"}),
        "to": fields.String(metadata={"description": "last day, included, as the Metrics page shows it"}),
        "group_by": fields.String(validate=one_of(METRIC_GROUPS), metadata={"description": "only when grouped"}),
        "groups": fields.List(fields.Nested(ClosureGroupOut), metadata={"description": "only when grouped"}),
        **_closure_fields()})):
    class Meta:
        optional_output = ("group_by", "groups")


class DryRunSampleOut(Schema):
    item_id = Int()
    current_owner = fields.String()
    proposed_owner = fields.String()
    proposed_reason = fields.String()


class DryRunOut(Schema):
    days = Int()
    items = Int()
    changed = Int(metadata={"description": "items that would go to another team or person (a team rule that "
                                           "still applies does not count, whichever member its rotation picks)"})
    current = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "owner name -> items"})
    proposed = fields.Dict(keys=fields.String(), values=Int())
    samples = fields.List(fields.Nested(DryRunSampleOut))


class ContactExportOut(Schema):
    exported_at = fields.String()
    contact = fields.Dict()
    invitations = fields.List(fields.Dict())
    responses = fields.List(fields.Dict())
    items = fields.List(fields.Dict())
    emails = fields.List(fields.Dict())
    replies = fields.List(fields.Dict())


class ContactErasedOut(Schema):
    erased = Int()
    changed = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "rows changed, by kind"})


class Audience(Schema):
    """Who a send goes to: one of list_id, attributes (optionally with account_id) or all."""

    list_id = Int(validate=validate.Range(min=1))
    attributes = fields.Dict(metadata={"description": "contact attribute name -> value"})
    account_id = Int(validate=validate.Range(min=1))
    all = fields.Boolean()


class SendIn(Schema):
    audience = Shaped(Audience, required=True, metadata={
        "description": '{"list_id": 3}, {"attributes": {"plan": "pro"}, "account_id": 7} or {"all": true}'})
    run_at = Moment(load_default=None, metadata={"description": "when (with its UTC offset); now if absent"})
    repeat_days = Int(load_default=None, allow_none=True, validate=validate.Range(min=1, max=366),
                      metadata={"description": "run again every this many days (the quarantine still applies)"})


class SendOut(Schema):
    id = Int()
    survey_id = Int()
    audience = Shaped(Audience)
    status = fields.String(validate=one_of(("scheduled", "running", "done", "cancelled")))
    run_at = fields.DateTime()
    repeat_days = Int(allow_none=True)
    runs = Int()
    invited = Int()
    skipped = fields.Dict(keys=fields.String(), values=Int(), metadata={"description": "reason -> contacts"})
    last_run_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


positive_ids(*(value for value in list(globals().values())
               if isinstance(value, type) and issubclass(value, Schema) and value is not Schema))
