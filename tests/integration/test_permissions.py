"""Who may reach what: a table of role × route × expected answer, checked on real objects.

Actors: anon (signed out), stranger (owner in another team), owner (owns the item), teammate
(owner in the owner's team), lead (leads the owner's team), other_lead (leads another team), admin.
"""

import pytest
from sqlalchemy import select

from tests.factories import answer, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import Team
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.routing.service import create_rule

ACTORS = ["anon", "stranger", "owner", "teammate", "lead", "other_lead", "admin"]
# route, method, expected code per actor (in ACTORS order); 302 = sent to sign in, 303 = done.
TABLE = [
    ("/inbox/items/{item}", "GET", [302, 404, 200, 200, 200, 404, 200]),
    ("/inbox/items/{item}/notes", "POST", [302, 404, 303, 303, 303, 404, 303]),
    ("/inbox/items/{item}/close", "POST", [302, 404, 303, 303, 303, 404, 303]),
    ("/inbox/", "GET", [302, 200, 200, 200, 200, 200, 200]),
    ("/metrics/", "GET", [302, 403, 403, 403, 200, 200, 200]),
    ("/routing/", "GET", [302, 403, 403, 403, 200, 200, 200]),
    ("/topics/", "GET", [302, 403, 403, 403, 200, 200, 200]),
    ("/people/", "GET", [302, 403, 403, 403, 403, 403, 200]),
    ("/settings/", "GET", [302, 200, 200, 200, 200, 200, 200]),
    ("/dev/outbox", "GET", [302, 200, 200, 200, 200, 200, 200]),
]


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


@pytest.mark.parametrize("route, method, codes", TABLE, ids=[f"{m} {r}" for r, m, _ in TABLE])
def test_every_route_answers_each_role_as_the_table_says(app, client, world, route, method, codes):
    path = route.format(item=world)
    # Refusals first: a successful close ends the item, so successes come last.
    for actor, expected in sorted(zip(ACTORS, codes, strict=True), key=lambda pair: pair[1] == 303):
        client.delete_cookie("session")
        if actor != "anon":
            login(client, f"{actor}@example.com")
        if method == "GET":
            response = client.get(path)
        else:
            token = csrf_from(client.get("/login" if actor == "anon" else "/settings/").get_data(as_text=True))
            field = "note" if path.endswith("/notes") else "close"
            response = client.post(path, data={f"{field}-csrf_token": token, "note-body": f"by {actor}",
                                               "close-message": f"Hi, {actor} here"})
        assert response.status_code == expected, f"{actor} {method} {path}: {response.status_code}"
        if method == "POST" and expected == 303 and path.endswith("/close"):
            break  # closed now: the other allowed actors were shown allowed on the notes row


def test_the_api_hides_items_the_token_user_may_not_see(app, client, world):
    from tests.factories import api_token
    from vocloop.accounts.models import User
    for actor, expected in [("stranger", 404), ("other_lead", 404), ("owner", 200), ("teammate", 200),
                            ("lead", 200), ("admin", 200)]:
        user = db.session.scalar(select(User).where(User.email == f"{actor}@example.com"))
        assert client.get(f"/api/v1/items/{world}", headers=api_token(user)).status_code == expected, actor
