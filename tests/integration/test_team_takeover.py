"""A lead cannot take over another team (issue #24, finding 4): leads manage only their own teams'
members and never add admins or leads, and an item handed to someone of another team moves to that
team, so the team it left stops seeing it. Through the API and the inbox pages alike."""

import pytest
from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import Team
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.routing.service import create_rule


def team(name: str) -> Team:
    return db.session.scalar(select(Team).where(Team.name == name))


@pytest.fixture
def teams(app):
    """Support (lead Lee, owner Sam) and Billing (lead Bea, owner Bob), and an admin."""
    people = {
        "admin": make_user("admin@example.com", role="admin"),
        "lee": make_user("lee@example.com", role="lead", team="Support"),
        "sam": make_user("sam@example.com", team="Support"),
        "bea": make_user("bea@example.com", role="lead", team="Billing"),
        "bob": make_user("bob@example.com", team="Billing"),
        "loner": make_user("loner@example.com"),
    }
    return people


def billing_item(client, drain, email="ann@customer.example"):
    """An item routed to the Billing team (round-robin gives it to Bea or Bob)."""
    if db.session.scalar(select(FeedbackItem.id)) is None:
        create_rule(name="to Billing", action="team", team_id=team("Billing").id)
    answer(client, make_invitation(make_survey(), make_contact(email)), 2, "Charged twice")
    drain()
    item = db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.id.desc())).first()
    assert item.team_id == team("Billing").id
    return item


def test_a_lead_cannot_join_or_change_another_team(app, client, teams):
    lee = api_token(teams["lee"])
    billing = team("Billing").id
    joined = client.post(f"/api/v1/teams/{billing}/members", json={"user_id": teams["lee"].id}, headers=lee)
    assert joined.status_code == 403
    removed = client.delete(f"/api/v1/teams/{billing}/members/{teams['bob'].id}", headers=lee)
    assert removed.status_code == 403
    db.session.rollback()
    assert {member.email for member in team("Billing").members} == {"bea@example.com", "bob@example.com"}


def test_a_lead_adds_and_removes_owners_of_their_own_team_only_never_admins_or_leads(app, client, teams):
    lee = api_token(teams["lee"])
    support = team("Support").id
    for who in ("admin", "bea"):
        refused = client.post(f"/api/v1/teams/{support}/members", json={"user_id": teams[who].id}, headers=lee)
        assert refused.status_code == 403, who
        assert "owner" in refused.json["detail"]
    added = client.post(f"/api/v1/teams/{support}/members", json={"user_id": teams["loner"].id}, headers=lee)
    assert added.status_code == 200 and teams["loner"].id in added.json["member_ids"]
    assert client.delete(f"/api/v1/teams/{support}/members/{teams['loner'].id}", headers=lee).status_code == 204
    # An admin may add anyone, leads included.
    admin = api_token(teams["admin"])
    assert client.post(f"/api/v1/teams/{support}/members", json={"user_id": teams["bea"].id},
                       headers=admin).status_code == 200


def test_adding_another_teams_owner_shows_the_lead_none_of_that_teams_items(app, client, drain, teams):
    item = billing_item(client, drain)
    owner = db.session.get(FeedbackItem, item.id).owner
    if owner.role != "owner":  # round-robin gave it to Bea: hand it to Bob inside Billing
        client.patch(f"/api/v1/items/{item.id}", headers=api_token(teams["bea"]),
                     json={"owner_id": teams["bob"].id, "handover_note": "yours"})
    lee = api_token(teams["lee"])
    added = client.post(f"/api/v1/teams/{team('Support').id}/members", json={"user_id": teams["bob"].id},
                        headers=lee)
    assert added.status_code == 200
    assert client.get(f"/api/v1/items/{item.id}", headers=lee).status_code == 404
    assert client.get("/api/v1/items", headers=lee).json == []
    taken = client.patch(f"/api/v1/items/{item.id}", headers=lee,
                         json={"owner_id": teams["lee"].id, "handover_note": "mine now"})
    assert taken.status_code == 404


def test_an_item_handed_to_another_team_moves_there_and_the_old_team_loses_it(app, client, drain, teams):
    item = billing_item(client, drain)
    bea = api_token(teams["bea"])
    handed = client.patch(f"/api/v1/items/{item.id}", headers=bea,
                          json={"owner_id": teams["sam"].id, "handover_note": "A support question after all"})
    assert handed.status_code == 200 and handed.json["owner_id"] == teams["sam"].id
    db.session.rollback()
    assert db.session.get(FeedbackItem, item.id).team_id == team("Support").id
    for who, code in (("bea", 404), ("bob", 404), ("lee", 200), ("sam", 200)):
        assert client.get(f"/api/v1/items/{item.id}", headers=api_token(teams[who])).status_code == code, who


def test_the_inbox_hand_over_moves_the_item_to_the_new_owners_team(app, client, drain, teams):
    item = billing_item(client, drain)
    login(client, "bea@example.com")
    page = f"/inbox/items/{item.id}"
    token = csrf_from(client.get(page).get_data(as_text=True))
    moved = client.post(f"{page}/reassign", data={"csrf_token": token, "owner_id": str(teams["sam"].id),
                                                  "note": "A support question after all"})
    assert moved.status_code == 303
    db.session.rollback()
    assert db.session.get(FeedbackItem, item.id).team_id == team("Support").id
    assert client.get(page).status_code == 404
    client.delete_cookie("session")
    login(client, "lee@example.com")
    assert client.get(page).status_code == 200


def test_a_hand_over_inside_the_team_or_to_a_teamless_admin_keeps_the_team(app, client, drain, teams):
    item = billing_item(client, drain)
    bea = api_token(teams["bea"])
    other = teams["bob"] if item.owner_id != teams["bob"].id else teams["bea"]
    client.patch(f"/api/v1/items/{item.id}", headers=bea, json={"owner_id": other.id, "handover_note": "yours"})
    client.patch(f"/api/v1/items/{item.id}", headers=bea,
                 json={"owner_id": teams["admin"].id, "handover_note": "escalated"})
    db.session.rollback()
    moved = db.session.get(FeedbackItem, item.id)
    assert moved.owner_id == teams["admin"].id and moved.team_id == team("Billing").id
    assert client.get(f"/api/v1/items/{item.id}", headers=bea).status_code == 200


def test_an_item_handed_to_a_lead_of_one_team_and_member_of_another_moves_to_the_team_they_lead(
        app, client, drain, teams):
    """Kim leads Returns and also sits in Support: a Billing item handed to Kim is Returns' from then on,
    so Support (the team Kim merely joined) does not start seeing it."""
    teams["kim"] = make_user("kim@example.com", role="lead", team="Returns")
    joined = client.post(f"/api/v1/teams/{team('Support').id}/members", json={"user_id": teams["kim"].id},
                         headers=api_token(teams["admin"]))
    assert joined.status_code == 200
    item = billing_item(client, drain)
    handed = client.patch(f"/api/v1/items/{item.id}", headers=api_token(teams["bea"]),
                          json={"owner_id": teams["kim"].id, "handover_note": "A return, really"})
    assert handed.status_code == 200
    db.session.rollback()
    assert db.session.get(FeedbackItem, item.id).team_id == team("Returns").id
    for who, code in (("kim", 200), ("lee", 404), ("sam", 404), ("bea", 404)):
        assert client.get(f"/api/v1/items/{item.id}", headers=api_token(teams[who])).status_code == code, who
