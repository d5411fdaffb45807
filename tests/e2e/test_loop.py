"""The whole loop as its users drive it: API, email, one click, comment, worker, inbox, closure."""

import re

from sqlalchemy import select

from tests.factories import api_token, make_user
from vocloop.items.models import FeedbackItem

SCORE_LINK = re.compile(r"http://vocloop\.test(/s/[\w-]+)\?score=(\d+)")


def test_whole_loop_from_survey_to_closing_message(app, client, sendgrid, drain):
    lead = make_user("lead@example.com", role="lead", team="Support")
    owner = make_user("dana@example.com", role="owner", team="Support", name="Dana")
    make_user("admin@example.com", role="admin")
    headers = api_token(lead)

    contact_ids = []
    for email in ("ann@customer.example", "bob@customer.example"):
        created = client.post("/api/v1/contacts", json={"email": email, "name": email[:3].title(),
                                                        "account_name": "Customer Co"}, headers=headers)
        assert created.status_code == 201, created.json
        contact_ids.append(created.json["id"])
    survey = client.post("/api/v1/surveys", json={"name": "Q4 NPS", "kind": "nps", "company": "Acme"},
                         headers=headers)
    assert survey.status_code == 201
    rule = client.post("/api/v1/routing-rules", headers=headers, json={
        "name": "Unhappy to Dana", "action": "user", "user_id": owner.id, "conditions": {"bands": ["negative"]}})
    assert rule.status_code == 201

    before = client.get("/api/v1/metrics/closure", headers=headers).json
    assert before["opened"] == 0 and before["closure_rate"] is None

    sent = client.post(f"/api/v1/surveys/{survey.json['id']}/invitations",
                       json={"contact_ids": contact_ids}, headers=headers)
    assert sent.status_code == 202 and len(sent.json["invitations"]) == 2
    drain()

    emails = {email.to: email for email in sendgrid.emails()}
    assert set(emails) == {"ann@customer.example", "bob@customer.example"}
    ann_email = emails["ann@customer.example"]
    links = SCORE_LINK.findall(ann_email.html)
    assert [int(score) for _, score in links] == list(range(11))
    assert SCORE_LINK.findall(ann_email.text) == links
    assert ann_email.custom_args["vocloop_key"].startswith("survey:")

    path = dict((score, p) for p, score in links)["3"]
    page = client.get(f"{path}?score=3")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="comment"' in html
    done = client.post(path, data={"score": "3",
                                   "comment": "Support never answered my ticket, very disappointing."})
    assert done.status_code == 303
    drain()

    item = db_item_for("ann@customer.example")
    assert item.owner_id == owner.id and item.status == "open"
    assert item.response.sentiment_label == "negative" and "support" in item.response.topics

    listed = client.get("/api/v1/items", headers=api_token(owner)).json
    assert [entry["id"] for entry in listed] == [item.id]
    closed = client.post(f"/api/v1/items/{item.id}/close", headers=api_token(owner),
                         json={"message": "Hi Ann,\n\nWe called you back and fixed the ticket routing."})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    drain()

    closing = [email for email in sendgrid.emails() if email.custom_args["vocloop_key"].startswith("closing:")]
    assert len(closing) == 1 and closing[0].to == "ann@customer.example"
    assert "fixed the ticket routing" in closing[0].text
    after = client.get("/api/v1/metrics/closure", headers=headers).json
    assert after["opened"] == 1 and after["loop_closed"] == 1 and after["closure_rate"] == 1.0
    assert client.get(f"/api/v1/items/{item.id}", headers=api_token(owner)).json["loop_closed"] is True


def db_item_for(email):
    from vocloop.contacts.models import Contact
    from vocloop.extensions import db

    return db.session.scalar(select(FeedbackItem).join(Contact, FeedbackItem.contact_id == Contact.id)
                             .where(Contact.email == email))
