"""The routing page: leads preview a rule's effect (dry run) before saving it, reorder and delete."""

from sqlalchemy import select

from tests.factories import answer, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.extensions import db
from vocloop.routing.models import RoutingRule


def rules():
    db.session.rollback()
    return [(rule.name, rule.position) for rule in db.session.scalars(
        select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))]


def submit(client, path, fields):
    token = csrf_from(client.get("/routing/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


def test_owners_cannot_open_the_routing_page(app, client):
    make_user("dana@example.com")
    login(client, "dana@example.com")
    assert client.get("/routing/").status_code == 403


def test_a_lead_previews_a_rule_then_saves_it(app, client, drain):
    admin = make_user("admin@example.com", role="admin", name="Alex")
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    make_user("dana@example.com", name="Dana", team="Support")
    for index in range(3):
        answer(client, make_invitation(make_survey(), make_contact(f"c{index}@customer.example")), 2, "Bad")
    drain()
    login(client, "lee@example.com")
    team_id = lee.teams[0].id
    fields = {"name": "Unhappy to Support", "bands": "negative", "action": "team", "team_id": str(team_id),
              "team_strategy": "round_robin", "position": "10"}
    preview = submit(client, "/routing/rules", {**fields, "intent": "preview"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Dry run" in html
    assert "3 items; <strong>3</strong> would go to someone else" in html
    assert rules() == []
    saved = submit(client, "/routing/rules", {**fields, "intent": "save"})
    assert saved.status_code == 303 and rules() == [("Unhappy to Support", 10)]
    assert admin.id


def test_an_impossible_rule_is_explained_and_not_saved(app, client):
    make_user("lee@example.com", role="lead")
    login(client, "lee@example.com")
    response = submit(client, "/routing/rules", {"name": "No team", "action": "team", "intent": "save"})
    assert response.status_code == 404 and "needs team_id" in response.get_data(as_text=True)
    assert rules() == []


def test_rules_are_reordered_and_deleted(app, client):
    lead = make_user("lee@example.com", role="lead")
    from vocloop.routing.service import create_rule
    first_id = create_rule(name="First", action="user", user_id=lead.id, position=10).id
    second_id = create_rule(name="Second", action="user", user_id=lead.id, position=20).id
    login(client, "lee@example.com")
    submit(client, f"/routing/rules/{first_id}/move", {"direction": "down"})
    assert rules() == [("Second", 10), ("First", 20)]
    submit(client, f"/routing/rules/{first_id}/delete", {})
    assert rules() == [("Second", 10)]
    forged = client.post(f"/routing/rules/{second_id}/delete")
    assert forged.status_code == 400
