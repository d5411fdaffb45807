"""Contacts in bulk (CRM sync) and a contact's data: export and erasure. One contact, the list and
accounts are in directory.py, under their own OpenAPI tag."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from vocloop.api import schemas
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_v1 as blp
from vocloop.api.contract import Shaped, positive_ids_in
from vocloop.api.schemas import ContactIn, Int, one_of
from vocloop.contacts import privacy
from vocloop.contacts import service as contacts
from vocloop.contacts.models import Contact
from vocloop.extensions import db


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


@blp.route("/contacts/bulk")
class ContactsBulk(MethodView):
    @blp.arguments(ContactsBulkIn)
    @blp.response(200, ContactsBulkOut)
    def post(self, data):
        """Create or update up to 1,000 contacts by external_id, else email. Each row is checked on its
        own: valid rows are stored, invalid ones come back rejected with the reason. Consent is never
        changed here (an unsubscribed contact stays unsubscribed)."""
        require_role("lead", "admin")
        rows = []
        for row in data["contacts"]:
            errors = schemas.ContactIn().validate(row)
            rows.append(schemas.describe_errors(errors) if errors else schemas.ContactIn().load(row))
        report = contacts.upsert_contacts(rows)
        return {**report.counts(), "results": report.rows}


@blp.route("/contacts/<int:contact_id>/export")
class ContactExport(MethodView):
    @blp.response(200, ContactExportOut)
    def get(self, contact_id):
        """Everything stored about one contact (a data subject access request). Admins only."""
        require_role("admin")
        return privacy.export_contact(db.get_or_404(Contact, contact_id))


@blp.route("/contacts/<int:contact_id>/erase")
class ContactErase(MethodView):
    @blp.response(200, ContactErasedOut)
    def post(self, contact_id):
        """Erase one contact: identity and free text removed, numbers kept for metrics. Admins only."""
        require_role("admin")
        counts = privacy.erase_contact(db.get_or_404(Contact, contact_id))
        return {"erased": contact_id, "changed": counts}


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
