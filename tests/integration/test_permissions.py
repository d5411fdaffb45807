"""Who may reach what: a table of role × route × expected answer, checked on real objects.

Actors: anon (signed out), stranger (owner in another team), owner (owns the item), teammate
(owner in the owner's team), lead (leads the owner's team), other_lead (leads another team), admin.
"""

import html
import re

import pytest
from sqlalchemy import select

from tests.factories import answer, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import Team
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.service import NOT_YOURS, emails_of
from vocloop.routing.service import create_rule

ACTORS = ["anon", "stranger", "owner", "teammate", "lead", "other_lead", "admin"]
# route, method, expected code per actor (in ACTORS order); 302 = sent to sign in.
PAGES = [
    ("/inbox/items/{item}", [302, 404, 200, 200, 200, 404, 200]),
    ("/inbox/", [302, 200, 200, 200, 200, 200, 200]),
    ("/metrics/", [302, 403, 403, 403, 200, 200, 200]),
    ("/routing/", [302, 403, 403, 403, 200, 200, 200]),
    ("/topics/", [302, 403, 403, 403, 200, 200, 200]),
    ("/people/", [302, 403, 403, 403, 403, 403, 200]),
    ("/settings/", [302, 200, 200, 200, 200, 200, 200]),
    ("/dev/outbox", [302, 403, 403, 403, 403, 403, 200]),  # every customer's email: an admin's
]
# Acting on the item: 303 = done (and the item changed), 403 = may see it but not act (the item page
# says why), 404 = may not see it. A teammate sees the owner's item but may not work it.
ACTS = {"note": [302, 404, 303, 403, 303, 404, 303],
        "status": [302, 404, 303, 403, 303, 404, 303],
        "reassign": [302, 404, 303, 403, 303, 404, 303],
        "close": [302, 404, 303, 403, 303, 404, 303],
        "discard": [302, 404, 303, 403, 303, 404, 303],
        "draft": [302, 404, 303, 403, 303, 404, 303]}
ROUTES = {"note": "notes", "status": "status", "reassign": "reassign", "close": "close", "discard": "discard",
          "draft": "close"}


@pytest.fixture
def world(app, client, drain):
    make_user("admin@example.com", role="admin")
    owner = make_user("owner@example.com", team="Support")
    make_user("teammate@example.com", team="Support")
    make_user("lead@example.com", role="lead", team="Support")
    make_user("stranger@example.com", team="Billing")
    make_user("other_lead@example.com", role="lead", team="Billing")
    assert db.session.scalar(select(Team.lead_id).where(Team.name == "Support"))
    create_rule(name="to owner", action="user", user_id=owner.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 2, "Bad")
    drain()
    return db.session.scalar(select(FeedbackItem)).id


def _sign_in_as(client, actor: str) -> None:
    client.delete_cookie("session")
    if actor != "anon":
        login(client, f"{actor}@example.com")


@pytest.mark.parametrize("route, codes", PAGES, ids=[route for route, _ in PAGES])
def test_every_page_answers_each_role_as_the_table_says(app, client, world, route, codes):
    path = route.format(item=world)
    for actor, expected in zip(ACTORS, codes, strict=True):
        _sign_in_as(client, actor)
        response = client.get(path)
        assert response.status_code == expected, f"{actor} GET {path}: {response.status_code}"


def _state(item_id: int) -> tuple:
    db.session.expire_all()
    item = db.session.get(FeedbackItem, item_id)
    return (item.status, item.owner_id, item.team_id, item.closed_at, item.close_reason,
            [(event.kind, event.body) for event in item.events], len(emails_of(item)), item.closing_draft)


def _form(act: str, actor: str, token: str, lead_id: int) -> dict:
    return {"note": {"note-csrf_token": token, "note-body": f"by {actor}"},
            "status": {"status-csrf_token": token, "status-status": "waiting"},
            "reassign": {"csrf_token": token, "owner_id": lead_id, "note": f"over to the lead, from {actor}"},
            "close": {"close-csrf_token": token, "close-message": f"Hi, {actor} here"},
            "discard": {"discard-csrf_token": token, "discard-reason": "duplicate"},
            "draft": {"close-csrf_token": token, "close-message": f"Draft by {actor}", "intent": "draft"}}[act]


def _changed_as_asked(act: str, before: tuple, after: tuple, actor: str, lead_id: int) -> bool:
    status, owner_id, _, closed_at, reason, events, _, draft = after
    new_events = events[len(before[5]):]
    return {"note": ("note", f"by {actor}") in new_events,
            "status": status == "waiting",
            "reassign": owner_id == lead_id and any(kind == "reassigned" for kind, _ in new_events),
            "close": status == "closed" and reason == "closing_message" and after[6] == before[6] + 1,
            "discard": status == "closed" and reason == "duplicate" and closed_at is not None,
            "draft": draft == f"Draft by {actor}" and status == before[0]}[act]


def _act(client, world: int, act: str, actor: str):
    from vocloop.accounts.models import User

    lead_id = db.session.scalar(select(User.id).where(User.email == "lead@example.com"))
    _sign_in_as(client, actor)
    token = csrf_from(client.get("/login" if actor == "anon" else "/settings/").get_data(as_text=True))
    before = _state(world)
    response = client.post(f"/inbox/items/{world}/{ROUTES[act]}", data=_form(act, actor, token, lead_id))
    return response, before, _state(world), lead_id


@pytest.mark.parametrize("act", list(ACTS))
def test_a_refused_action_on_an_item_changes_nothing_and_says_so(app, client, world, act):
    """Never a 303 that quietly did nothing: a refusal answers with its status, and one who may see
    the item is told why on the item page."""
    for actor, expected in zip(ACTORS, ACTS[act], strict=True):
        if expected == 303:
            continue
        response, before, after, _ = _act(client, world, act, actor)
        assert response.status_code == expected, f"{actor} {act}: {response.status_code}"
        assert after == before, f"{actor} {act} was refused ({expected}) yet changed the item"
        if expected == 403:
            assert NOT_YOURS in html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("actor", [actor for actor in ACTORS if actor in ("owner", "lead", "admin")])
@pytest.mark.parametrize("act", list(ACTS))
def test_a_permitted_action_on_an_item_does_what_it_says(app, client, world, act, actor):
    assert ACTS[act][ACTORS.index(actor)] == 303
    response, before, after, lead_id = _act(client, world, act, actor)
    assert response.status_code == 303, f"{actor} {act}: {response.status_code}"
    assert _changed_as_asked(act, before, after, actor, lead_id), f"{actor} {act} changed nothing"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and NOT_YOURS not in html.unescape(page.get_data(as_text=True))


def test_a_teammate_sees_why_the_api_refuses_to_let_them_act(app, client, world):
    from tests.factories import api_token
    from vocloop.accounts.models import User

    teammate = db.session.scalar(select(User).where(User.email == "teammate@example.com"))
    lead_id = db.session.scalar(select(User.id).where(User.email == "lead@example.com"))
    headers = api_token(teammate)
    before = _state(world)
    for method, path, body in [
        ("post", f"/api/v1/items/{world}/notes", {"body": "mine now"}),
        ("patch", f"/api/v1/items/{world}", {"status": "waiting"}),
        ("patch", f"/api/v1/items/{world}", {"owner_id": lead_id, "handover_note": "yours"}),
        ("post", f"/api/v1/items/{world}/close", {"message": "Sorted, thanks"}),
        ("post", f"/api/v1/items/{world}/close", {"reason": "duplicate"}),
    ]:
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, body, response.status_code)
        assert response.get_json()["detail"] == NOT_YOURS
        assert _state(world) == before, (method, path, body)


def test_the_api_hides_items_the_token_user_may_not_see(app, client, world):
    from tests.factories import api_token
    from vocloop.accounts.models import User
    for actor, expected in [("stranger", 404), ("other_lead", 404), ("owner", 200), ("teammate", 200),
                            ("lead", 200), ("admin", 200)]:
        user = db.session.scalar(select(User).where(User.email == f"{actor}@example.com"))
        assert client.get(f"/api/v1/items/{world}", headers=api_token(user)).status_code == expected, actor


def test_the_item_page_offers_actions_only_to_those_who_may_act(app, client, world):
    """A teammate is told up front who can act, rather than offered forms that would be refused."""
    for actor, may_act in [("teammate", False), ("owner", True), ("lead", True), ("admin", True)]:
        _sign_in_as(client, actor)
        page = html.unescape(client.get(f"/inbox/items/{world}").get_data(as_text=True))
        forms = [f'action="/inbox/items/{world}/{route}"' for route in ROUTES.values()]
        assert [form in page for form in forms] == [may_act] * len(forms), actor
        assert ("only its owner (" in page) is not may_act, actor


def test_through_the_api_an_owner_hands_over_up_to_any_lead_never_to_an_owner_of_another_team(
        app, client, world):
    """The inbox offers an owner only the people they may hand over to; the API says no to the others."""
    from tests.factories import api_token
    from vocloop.accounts.models import User

    def user(actor):
        return db.session.scalar(select(User).where(User.email == f"{actor}@example.com"))

    before = _state(world)
    refused = client.patch(f"/api/v1/items/{world}", headers=api_token(user("owner")),
                           json={"owner_id": user("stranger").id, "handover_note": "yours"})
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "Owners can hand over to a teammate, a lead or an admin."
    assert _state(world) == before
    handed = client.patch(f"/api/v1/items/{world}", headers=api_token(user("owner")),
                          json={"owner_id": user("other_lead").id, "handover_note": "a lead's call"})
    assert handed.status_code == 200 and handed.get_json()["owner_id"] == user("other_lead").id


def test_the_hand_over_list_offers_each_person_whom_they_may_hand_over_to_by_name(app, client, world):
    """The item page's "New owner" list: the owner is offered their teammates and every lead and admin, never
    an owner of another team; the lead, every active user; a deactivated colleague to nobody. By name."""
    from vocloop.accounts.models import User

    make_user("gone@example.com", team="Support").active = False
    db.session.commit()
    offered = {}
    for actor in ("owner", "lead"):
        _sign_in_as(client, actor)
        page = client.get(f"/inbox/items/{world}").get_data(as_text=True)
        chooser = re.search(r'<select[^>]*id="owner_id".*?</select>', page, re.S).group(0)
        offered[actor] = [html.unescape(text) for text in re.findall(r'<option value="\d+">([^<]*)</option>', chooser)]
    names = {user.name: f"{user.name} ({user.email})" for user in db.session.scalars(select(User))}
    assert offered["owner"] == [names[name] for name in ("admin", "lead", "other_lead", "teammate")]
    assert offered["lead"] == [names[name] for name in ("admin", "lead", "other_lead", "stranger", "teammate")]


def test_an_owner_with_items_of_their_own_still_cannot_open_another_teams_item(app, client, world, drain):
    """Seeing some items opens no other: each item is checked on its own."""
    from tests.factories import api_token
    from vocloop.accounts.models import User

    def user(actor):
        return db.session.scalar(select(User).where(User.email == f"{actor}@example.com"))

    answer(client, make_invitation(make_survey(), make_contact("bo@customer.example")), 3, "Slow")
    drain()
    theirs = db.session.scalar(select(FeedbackItem.id).where(FeedbackItem.id != world))
    handed = client.patch(f"/api/v1/items/{theirs}", headers=api_token(user("admin")),
                          json={"owner_id": user("stranger").id, "handover_note": "a Billing matter"})
    assert handed.status_code == 200
    for actor, item, code in [("stranger", theirs, 200), ("stranger", world, 404),
                              ("owner", world, 200), ("owner", theirs, 404)]:
        assert client.get(f"/api/v1/items/{item}", headers=api_token(user(actor))).status_code == code, actor
        _sign_in_as(client, actor)
        assert client.get(f"/inbox/items/{item}").status_code == code, actor


def test_an_owner_in_no_team_sees_the_items_they_own(app, client, drain):
    """Owning an item is enough to see it: a rule may route to someone who belongs to no team."""
    from tests.factories import api_token

    loner = make_user("loner@example.com")
    create_rule(name="to the loner", action="user", user_id=loner.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 2, "Bad")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    assert item.owner_id == loner.id and item.team_id is None
    assert [row["id"] for row in client.get("/api/v1/items", headers=api_token(loner)).get_json()] == [item.id]
    login(client, "loner@example.com")
    assert client.get(f"/inbox/items/{item.id}").status_code == 200
