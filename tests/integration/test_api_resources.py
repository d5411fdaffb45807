"""The API's resources for CRM sync: accounts, contacts, teams, users, surveys, one-contact triggers,
responses, and working an item (status, hand-over, notes) — each with who may do what."""

from sqlalchemy import func, select

from tests.factories import answer, api_token, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import User
from vocloop.contacts.models import Contact
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.mail.models import Message
from vocloop.routing.service import create_rule
from vocloop.surveys.models import Invitation


def test_accounts_are_created_paged_read_and_patched_by_leads(app, client):
    lead = make_user("lead@example.com", role="lead")
    headers = api_token(lead)
    made = [client.post("/api/v1/accounts", headers=headers,
                        json={"name": f"Firm {n}", "external_id": f"crm-{n}", "annual_value": 1000 * n})
            for n in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    first = client.get("/api/v1/accounts?limit=2", headers=headers).json
    rest = client.get(f"/api/v1/accounts?limit=2&after_id={first[-1]['id']}", headers=headers).json
    assert [a["name"] for a in first + rest] == ["Firm 0", "Firm 1", "Firm 2"]
    assert client.get("/api/v1/accounts?external_id=crm-1", headers=headers).json[0]["annual_value"] == 1000
    account_id = made[0].json["id"]
    patched = client.patch(f"/api/v1/accounts/{account_id}", json={"owner_id": lead.id, "annual_value": 5},
                           headers=headers)
    assert patched.status_code == 200 and patched.json["owner_id"] == lead.id
    assert patched.json["name"] == "Firm 0" and patched.json["annual_value"] == 5
    taken = client.patch(f"/api/v1/accounts/{account_id}", json={"external_id": "crm-2"}, headers=headers)
    assert taken.status_code == 409
    nobody = client.patch(f"/api/v1/accounts/{account_id}", json={"owner_id": 9999}, headers=headers)
    assert nobody.status_code == 422 and "owner_id" in nobody.json["detail"]
    assert client.get(f"/api/v1/accounts/{account_id}", headers=headers).json["external_id"] == "crm-0"
    owner = api_token(make_user("owner@example.com"))
    assert client.get("/api/v1/accounts", headers=owner).status_code == 403
    assert client.get("/api/v1/accounts/999", headers=headers).status_code == 404


def test_contacts_are_found_by_email_or_external_id_and_paged(app, client):
    headers = api_token(make_user("lead@example.com", role="lead"))
    for n in range(5):
        client.post("/api/v1/contacts", json={"email": f"c{n}@customer.example", "external_id": f"x{n}"},
                    headers=headers)
    seen, after = [], 0
    while page := client.get(f"/api/v1/contacts?limit=2&after_id={after}", headers=headers).json:
        seen += [contact["email"] for contact in page]
        after = page[-1]["id"]
    assert seen == [f"c{n}@customer.example" for n in range(5)]
    by_email = client.get("/api/v1/contacts?email=C3@Customer.example", headers=headers).json
    assert [contact["external_id"] for contact in by_email] == ["x3"]
    one = client.get(f"/api/v1/contacts/{by_email[0]['id']}", headers=headers)
    assert one.status_code == 200 and one.json["email"] == "c3@customer.example"


def test_teams_and_members_only_admins_and_the_teams_lead_change(app, client):
    admin = make_user("admin@example.com", role="admin")
    lead = make_user("lead@example.com", role="lead")
    other_lead = make_user("other@example.com", role="lead")
    owner = make_user("owner@example.com")
    created = client.post("/api/v1/teams", json={"name": "Support", "lead_id": lead.id}, headers=api_token(admin))
    assert created.status_code == 201 and created.json["member_ids"] == [lead.id]
    assert client.post("/api/v1/teams", json={"name": "Support"}, headers=api_token(admin)).status_code == 409
    assert client.post("/api/v1/teams", json={"name": "X"}, headers=api_token(lead)).status_code == 403
    team_id = created.json["id"]
    refused = client.post(f"/api/v1/teams/{team_id}/members", json={"user_id": owner.id},
                          headers=api_token(other_lead))
    assert refused.status_code == 403
    added = client.post(f"/api/v1/teams/{team_id}/members", json={"user_id": owner.id}, headers=api_token(lead))
    assert added.status_code == 200 and added.json["member_ids"] == [lead.id, owner.id]
    listed = client.get("/api/v1/teams", headers=api_token(owner, scope="read")).json
    assert [(team["name"], team["lead_id"]) for team in listed] == [("Support", lead.id)]


def test_admins_list_and_invite_users_who_get_a_link_by_email(app, client):
    admin = make_user("admin@example.com", role="admin")
    owner = make_user("owner@example.com")
    headers = api_token(admin)
    invited = client.post("/api/v1/users", json={"email": "New@Example.com", "role": "lead", "team": "Billing"},
                          headers=headers)
    assert invited.status_code == 201 and invited.json["email"] == "new@example.com"
    user = db.session.get(User, invited.json["id"])
    assert user.password_hash is None and [team.name for team in user.teams] == ["Billing"]
    assert db.session.scalar(select(Message).where(Message.to_email == "new@example.com")) is not None
    assert client.post("/api/v1/users", json={"email": "new@example.com"}, headers=headers).status_code == 409
    leads = client.get("/api/v1/users?role=lead", headers=headers).json
    assert [u["email"] for u in leads] == ["new@example.com"]
    assert client.get("/api/v1/users", headers=api_token(owner)).status_code == 403
    # Admin-only endpoints also need a token with the admin scope.
    assert client.get("/api/v1/users", headers=api_token(admin, scope="write")).status_code == 403
    mine = api_token(owner, scope="read")
    assert client.get("/api/v1/users/me", headers=mine).json["email"] == "owner@example.com"
    assert client.get(f"/api/v1/users/{owner.id}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/users/{admin.id}", headers=mine).status_code == 403


def test_a_person_changes_their_notifications_through_the_api_and_they_stay_changed(app, client):
    """Each preference alone is saved (notify_new_items alone was answered 200 and then forgotten)."""
    from vocloop.accounts.models import User

    owner = make_user("owner@example.com")
    headers = api_token(owner)
    answered = client.patch(f"/api/v1/users/{owner.id}", json={"notify_new_items": "off"}, headers=headers)
    assert answered.status_code == 200 and answered.json["notify_new_items"] == "off"
    db.session.expire_all()
    assert db.session.get(User, owner.id).notify_new_items == "off"
    assert client.get("/api/v1/users/me", headers=headers).json["notify_new_items"] == "off"
    assert client.patch(f"/api/v1/users/{owner.id}", json={"notify_new_items": "sometimes"},
                        headers=headers).status_code == 422
    db.session.expire_all()
    assert db.session.get(User, owner.id).notify_new_items == "off"


def test_surveys_are_listed_read_and_changed(app, client):
    headers = api_token(make_user("lead@example.com", role="lead"))
    survey = client.post("/api/v1/surveys", json={"name": "Support CSAT", "kind": "csat"}, headers=headers).json
    patched = client.patch(f"/api/v1/surveys/{survey['id']}", json={"subject": "How did we do?", "active": False},
                           headers=headers)
    assert patched.status_code == 200 and patched.json["subject"] == "How did we do?"
    assert patched.json["active"] is False and patched.json["kind"] == "csat"
    assert client.patch(f"/api/v1/surveys/{survey['id']}", json={"kind": "nps"}, headers=headers).status_code == 422
    assert [s["name"] for s in client.get("/api/v1/surveys", headers=headers).json] == ["Support CSAT"]
    assert client.get(f"/api/v1/surveys/{survey['id']}", headers=headers).json["subject"] == "How did we do?"


def test_a_ticket_closing_triggers_one_survey_to_one_contact_and_fatigue_rules_hold(app, client):
    headers = api_token(make_user("lead@example.com", role="lead"))
    survey = make_survey("csat")
    body = {"survey_id": survey.id, "contact": {"email": "ann@customer.example", "name": "Ann",
                                                "external_id": "zd-1", "account_name": "Initech"}}
    first = client.post("/api/v1/invitations", json=body, headers=headers)
    assert first.status_code == 202 and first.json["skipped"] is None
    assert first.json["invitation"]["contact_id"] == first.json["contact_id"]
    contact = db.session.get(Contact, first.json["contact_id"])
    assert contact.name == "Ann" and contact.account.name == "Initech"
    again = client.post("/api/v1/invitations", json=body, headers=headers)
    assert again.status_code == 202 and again.json == {"contact_id": contact.id, "invitation": None,
                                                       "skipped": "quarantine"}
    bad = client.post("/api/v1/invitations", json={"survey_id": survey.id, "contact": {"email": "nope"}},
                      headers=headers)
    assert bad.status_code == 422 and "email" in bad.json["detail"]
    missing = client.post("/api/v1/invitations", json={"survey_id": 999, "contact": body["contact"]},
                          headers=headers)
    assert missing.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def _answered(client, drain, team_member):
    create_rule(name="to member", action="user", user_id=team_member.id)
    survey = make_survey()
    answer(client, make_invitation(survey, make_contact("ann@customer.example")), 2, "Billing is a mess")
    answer(client, make_invitation(survey, make_contact("bob@customer.example")), 10, "")
    drain()
    return db.session.scalar(select(FeedbackItem))


def test_responses_are_read_by_admins_and_by_those_who_see_their_item(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", team="Support")
    outsider = make_user("omar@example.com", team="Billing")
    item = _answered(client, drain, dana)
    every = client.get("/api/v1/responses", headers=api_token(admin)).json
    assert [(r["score"], r["item_id"]) for r in every] == [(2, item.id), (10, None)]
    assert every[0]["sentiment_label"] == "negative" and every[0]["comment"] == "Billing is a mess"
    negative = client.get("/api/v1/responses?sentiment=negative", headers=api_token(admin)).json
    assert [r["score"] for r in negative] == [2]
    assert [r["score"] for r in client.get("/api/v1/responses", headers=api_token(dana)).json] == [2]
    assert client.get("/api/v1/responses", headers=api_token(outsider)).json == []
    promoter_id = every[1]["id"]
    assert client.get(f"/api/v1/responses/{promoter_id}", headers=api_token(dana)).status_code == 404
    assert client.get(f"/api/v1/responses/{every[0]['id']}", headers=api_token(outsider)).status_code == 404
    assert client.get(f"/api/v1/responses/{promoter_id}", headers=api_token(admin)).status_code == 200


def test_owners_work_an_item_status_hand_over_notes_and_timeline(app, client, drain):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", team="Support")
    tess = make_user("tess@example.com", team="Support")
    outsider = make_user("omar@example.com", team="Billing")
    item = _answered(client, drain, dana)
    headers = api_token(dana)
    moved = client.patch(f"/api/v1/items/{item.id}", json={"status": "in_progress"}, headers=headers)
    assert moved.status_code == 200 and moved.json["status"] == "in_progress"
    assert moved.json["first_action_at"] is not None
    assert client.patch(f"/api/v1/items/{item.id}", json={"status": "closed"}, headers=headers).status_code == 422
    no_note = client.patch(f"/api/v1/items/{item.id}", json={"owner_id": tess.id}, headers=headers)
    assert no_note.status_code == 422 and "handover_note" in no_note.json["detail"]
    note = client.post(f"/api/v1/items/{item.id}/notes", json={"body": "Called Ann, @tess please follow up"},
                       headers=headers)
    assert note.status_code == 201 and note.json["kind"] == "note"
    handed = client.patch(f"/api/v1/items/{item.id}", headers=headers,
                          json={"owner_id": tess.id, "handover_note": "Refund approved, send it"})
    assert handed.status_code == 200 and handed.json["owner_id"] == tess.id
    timeline = client.get(f"/api/v1/items/{item.id}/events", headers=api_token(tess)).json
    assert [event["kind"] for event in timeline if event["kind"] in ("status", "note", "reassigned")] == \
        ["status", "note", "reassigned"]
    assert timeline[-1]["body"] == "Refund approved, send it"
    stranger = api_token(outsider)
    for response in (client.get(f"/api/v1/items/{item.id}/events", headers=stranger),
                     client.post(f"/api/v1/items/{item.id}/notes", json={"body": "x"}, headers=stranger),
                     client.patch(f"/api/v1/items/{item.id}", json={"status": "waiting"}, headers=stranger)):
        assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(FeedbackItem, item.id).status == "in_progress"


def test_sends_through_the_api_now_and_every_quarter(app, client, drain):
    headers = api_token(make_user("lead@example.com", role="lead"))
    survey = make_survey()
    for email in ("a@customer.example", "b@customer.example"):
        make_contact(email)
    now = client.post(f"/api/v1/surveys/{survey.id}/sends", json={"audience": {"all": True}}, headers=headers)
    assert now.status_code == 201
    drain()
    listed = client.get(f"/api/v1/surveys/{survey.id}/sends", headers=headers).json
    assert listed[0]["status"] == "done" and listed[0]["invited"] == 2
    later = client.post(f"/api/v1/surveys/{survey.id}/sends", headers=headers, json={
        "audience": {"attributes": {"plan": "pro"}}, "run_at": "2027-03-01T08:00:00+01:00", "repeat_days": 91})
    assert later.status_code == 201 and later.json["run_at"].startswith("2027-03-01T07:00:00")
    assert client.post(f"/api/v1/sends/{later.json['id']}/cancel", headers=headers).json["status"] == "cancelled"
    assert client.post(f"/api/v1/sends/{later.json['id']}/cancel", headers=headers).status_code == 409
    bad = client.post(f"/api/v1/surveys/{survey.id}/sends", json={"audience": {"list_id": 99}}, headers=headers)
    assert bad.status_code == 422 and "no such contact list" in bad.json["detail"]
