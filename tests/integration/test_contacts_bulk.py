"""Bulk upsert of contacts through the API: by external id, else email; bad rows reported, good ones kept."""

from sqlalchemy import func, select

from tests.factories import api_token, make_contact, make_user
from vocloop.contacts.models import Account, Contact
from vocloop.contacts.service import upsert_contacts
from vocloop.db import utcnow
from vocloop.extensions import db


def test_rows_are_created_updated_or_rejected_each_on_its_own(app, client):
    headers = api_token(make_user("lead@example.com", role="lead"))
    existing = make_contact("ann@customer.example", name="Ann")
    existing.unsubscribed_at = utcnow()
    db.session.commit()
    response = client.post("/api/v1/contacts/bulk", headers=headers, json={"contacts": [
        {"email": "Ann@Customer.example", "name": "Ann Lee", "external_id": "crm-1", "attributes": {"plan": "pro"}},
        {"email": "bob@customer.example", "account_name": "Globex", "account_annual_value": 90000},
        {"email": "not an address"},
        {"email": "cy@customer.example", "colour": "blue"},
        {"email": "ann@customer.example", "external_id": "crm-1"},
        {"email": "bob@customer.example", "external_id": "crm-2"},
        {"email": "bob2@customer.example", "external_id": "crm-2", "name": "Bob"},
    ]})
    assert response.status_code == 200
    body = response.json
    assert [row["status"] for row in body["results"]] == [
        "updated", "created", "rejected", "rejected", "unchanged", "updated", "updated"]
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (1, 3, 1, 2)
    assert "email" in body["results"][2]["error"] and "colour" in body["results"][3]["error"]
    db.session.expire_all()
    ann = db.session.get(Contact, existing.id)
    assert (ann.name, ann.external_id, ann.attributes) == ("Ann Lee", "crm-1", {"plan": "pro"})
    assert ann.unsubscribed_at is not None  # consent is never changed by a sync
    bob = db.session.scalar(select(Contact).where(Contact.external_id == "crm-2"))
    assert (bob.email, bob.name) == ("bob2@customer.example", "Bob")  # matched by external id, email updated
    assert db.session.scalar(select(Account.annual_value).where(Account.name == "Globex")) == 90000
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_a_conflict_rejects_that_row_only(app, client):
    headers = api_token(make_user("admin@example.com", role="admin"))
    make_contact("ann@customer.example")
    client.post("/api/v1/contacts/bulk", headers=headers, json={"contacts": [
        {"email": "x@customer.example", "external_id": "crm-9"}]})
    clash = client.post("/api/v1/contacts/bulk", headers=headers, json={"contacts": [
        {"email": "ann@customer.example", "external_id": "crm-9"},  # crm-9 exists: moving it onto Ann's email
        {"email": "new@customer.example"},
    ]}).json
    assert [row["status"] for row in clash["results"]] == ["rejected", "created"]
    assert db.session.scalar(select(Contact.email).where(Contact.external_id == "crm-9")) == "x@customer.example"


def test_limits_and_permissions(app, client):
    owner = api_token(make_user("dana@example.com"))
    lead = api_token(make_user("lead@example.com", role="lead"))
    assert client.post("/api/v1/contacts/bulk", headers=owner,
                       json={"contacts": [{"email": "a@customer.example"}]}).status_code == 403
    too_many = client.post("/api/v1/contacts/bulk", headers=lead,
                           json={"contacts": [{"email": f"c{i}@customer.example"} for i in range(1001)]})
    assert too_many.status_code == 422
    assert client.post("/api/v1/contacts/bulk", headers=lead, json={"contacts": []}).status_code == 422
    rows = [{"email": f"c{i}@customer.example", "external_id": f"e{i}"} for i in range(1000)]
    report = upsert_contacts(rows)
    assert report.counts()["created"] == 1000
    assert upsert_contacts(rows).counts()["unchanged"] == 1000  # a second sync changes nothing
