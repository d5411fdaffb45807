"""Surveys: their wording and settings."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_v1 as blp
from vocloop.api.contract import positive_ids_in
from vocloop.api.schemas import LANGUAGES, Int, one_of
from vocloop.extensions import db
from vocloop.surveys import service as surveys
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import OPEN_ITEM_RULES, Survey
from vocloop.values import SENTIMENTS


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


# Not SurveyIn loaded partially: that would document SurveyIn's defaults as a PATCH's (an omitted
# quarantine_days does not become 90), take null for the wording and another list of languages, and
# so change the OpenAPI document that generated clients are made from.
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


@blp.route("/surveys")
class Surveys(MethodView):
    @blp.response(200, SurveyOut(many=True))
    def get(self):
        """Every survey, newest first."""
        require_role("lead", "admin")
        return db.session.scalars(select(Survey).order_by(Survey.id.desc())).all()

    @blp.arguments(SurveyIn)
    @blp.response(201, SurveyOut)
    def post(self, data):
        """Create a survey; wording defaults to the standard question of its kind."""
        require_role("lead", "admin")
        return surveys.create_survey(**data)


@blp.route("/surveys/<int:survey_id>")
class SurveyResource(MethodView):
    @blp.response(200, SurveyOut)
    def get(self, survey_id):
        require_role("lead", "admin")
        return db.get_or_404(Survey, survey_id)

    @blp.arguments(SurveyPatch)
    @blp.response(200, SurveyOut)
    def patch(self, data, survey_id):
        """Change wording or settings (emails already sent keep theirs); active=false stops sending."""
        require_role("lead", "admin")
        return surveys.update_survey(db.get_or_404(Survey, survey_id), **data)


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
