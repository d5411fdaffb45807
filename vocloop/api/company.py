"""The company profile through the API: what every customer email and page is branded and sent with."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.company import service as company

blp = api_blueprint("api_v1_company", __name__, "The company profile: name, brand, sender and footer")

HTTPS_URL = r"^https://\S+$"


class CompanyProfilePatch(Schema):
    """Only what is sent changes; an empty string or null clears an optional value."""

    company_name = fields.String(validate=validate.Length(max=120))
    logo_url = fields.String(allow_none=True, validate=[validate.Length(max=500), validate.Regexp(r"^$|" + HTTPS_URL)],
                             metadata={"description": "an https:// image, shown 40 px high"})
    brand_color = fields.String(validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"),
                                metadata={"description": "buttons' colour; white text on it must reach 4.5:1"})
    sender_name = fields.String(allow_none=True, validate=validate.Length(max=120),
                                metadata={"description": "empty: the company name"})
    sender_email = fields.String(allow_none=True, validate=validate.Length(max=320),
                                 metadata={"description": "a sender verified with the mail provider; empty: MAIL_FROM"})
    reply_to = fields.String(allow_none=True, validate=validate.Length(max=320))
    postal_address = fields.String(validate=validate.Length(max=500))
    privacy_url = fields.String(allow_none=True, validate=[validate.Length(max=500),
                                                          validate.Regexp(r"^$|^https?://\S+$")])

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.")


class CompanyProfileOut(Schema):
    company_name = fields.String(required=True)
    logo_url = fields.String(required=True, allow_none=True)
    brand_color = fields.String(required=True)
    sender_name = fields.String(required=True, allow_none=True)
    sender_email = fields.String(required=True, allow_none=True)
    reply_to = fields.String(required=True, allow_none=True)
    postal_address = fields.String(required=True)
    privacy_url = fields.String(required=True, allow_none=True)


@blp.route("/company")
class CompanyProfileResource(MethodView):
    @blp.response(200, CompanyProfileOut)
    def get(self):
        """The profile (defaults until an admin sets it)."""
        require_role("owner", "lead", "admin")
        return company.profile()

    @blp.arguments(CompanyProfilePatch)
    @blp.response(200, CompanyProfileOut)
    def patch(self, data):
        """Change the profile (admins). Emails already queued keep what they had."""
        require_role("admin")
        return company.save_profile(**data)
