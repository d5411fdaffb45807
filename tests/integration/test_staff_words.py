"""Staff pages speak the app's words when something is refused: no "read-protected", no
"10 per 1 minute", and always a way back."""

from datetime import date

from tests.factories import login, make_user
from vocloop import create_app


def test_an_owner_opening_metrics_is_told_who_it_is_for_and_given_a_way_back(app, client):
    make_user("dana@example.com")
    login(client, "dana@example.com")
    page = client.get("/metrics/")
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "read-protected" not in html and "for leads and admins" in html and "Back to the inbox" in html
    missing = client.get("/inbox/items/999999").get_data(as_text=True)
    assert "Nothing here" in missing and "Back to the inbox" in missing


def test_too_many_sign_in_attempts_say_what_to_do_and_lead_back(settings):
    client = create_app({**settings, "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "1 per minute"}).test_client()
    login(client, "x@example.com", "nope")
    refused = login(client, "x@example.com", "nope")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "per 1 minute" not in html and "Wait a minute, then try again" in html and "Back to sign in" in html


def test_forgot_password_leads_back_to_sign_in(app, client):
    assert 'href="/login"' in client.get("/password/forgot").get_data(as_text=True)


def test_every_button_on_the_staff_pages_says_what_kind_it_is(app, client):
    """Primary, secondary, danger or a link: none left in the browser's grey default."""
    import re

    from tests.factories import make_contact, make_survey
    make_user("admin@example.com", role="admin", team="Support")
    make_survey()
    contact = make_contact("ann@customer.example", name="Ann")
    login(client, "admin@example.com")
    bare = {}
    for path in ("/topics/", "/routing/", "/surveys/", "/surveys/1", "/people/", "/company/", "/settings/",
                 "/contacts/", f"/contacts/{contact.id}", "/inbox/", "/metrics/", "/dev/outbox"):
        html = client.get(path).get_data(as_text=True)
        found = [tag for tag in re.findall(r"<button\b[^>]*>", html) if "class=" not in tag]
        if found:
            bare[path] = found
    assert bare == {}


def test_the_topics_inputs_sit_under_their_headers(app, client):
    make_user("lee@example.com", role="lead")
    login(client, "lee@example.com")
    html = client.get("/topics/").get_data(as_text=True)
    row = html[html.index("<tbody>"):html.index("</tr>", html.index("<tbody>"))]
    cells = row.split("<td")[1:]
    assert len(cells) == 4
    assert 'name="name"' in cells[0] and 'name="keywords"' in cells[1] and 'name="position"' in cells[2]
    assert ">Save</button>" in cells[3] and ">Delete</button>" in cells[3]


def test_the_surveys_page_lists_a_survey_nobody_was_invited_to_yet(app, client):
    from tests.factories import make_survey
    make_user("lee@example.com", role="lead")
    make_survey(name="Brand new")
    login(client, "lee@example.com")
    page = client.get("/surveys/")
    assert page.status_code == 200 and "Brand new" in page.get_data(as_text=True)


def test_routing_rules_read_as_words_not_stored_keys(app, client):
    from tests.factories import make_contact
    from vocloop.routing.service import create_rule

    lead = make_user("lee@example.com", role="lead", team="Support")
    account_id = make_contact("ann@northwind.example", account="Northwind Traders").account_id
    create_rule(name="Northwind to its owner", action="user", user_id=lead.id,
                conditions={"account_ids": [account_id], "topics": ["billing"]})
    login(client, "lee@example.com")
    html = client.get("/routing/").get_data(as_text=True)
    assert "a topic is billing and the account is Northwind Traders" in html
    assert "account_ids:" not in html and "account_ids: 1" not in html  # never the stored key and id


def test_a_rule_can_take_a_score_range_and_the_form_groups_fields_by_target(app, client):
    from tests.factories import csrf_from
    from vocloop.extensions import db
    from vocloop.routing.models import RoutingRule

    lead = make_user("lee@example.com", role="lead", team="Support")
    login(client, "lee@example.com")
    html = client.get("/routing/").get_data(as_text=True)
    assert 'class="target for-team"' in html and 'class="target for-user"' in html and "Also notify (optional)" in html
    saved = client.post("/routing/rules", data={"csrf_token": csrf_from(html), "name": "Detractors 0-4",
                                                "score_min": "0", "score_max": "4", "action": "user",
                                                "user_id": str(lead.id), "intent": "save"})
    assert saved.status_code in (302, 303)
    rule = db.session.scalar(db.select(RoutingRule).where(RoutingRule.name == "Detractors 0-4"))
    assert rule.conditions == {"score_min": 0, "score_max": 4}
    assert "the score is 0–4" in client.get("/routing/").get_data(as_text=True)


def test_admins_change_sla_deadlines_and_the_business_calendar_on_the_routing_page(app, client):
    from tests.factories import csrf_from
    from vocloop.routing import sla

    make_user("admin@example.com", role="admin")
    make_user("lee@example.com", role="lead")
    login(client, "admin@example.com")
    html = client.get("/routing/").get_data(as_text=True)
    token = csrf_from(html)
    saved = client.post("/routing/sla/P1", data={"csrf_token": token, "first_action_hours": "2",
                                                  "close_hours": "12", "business_hours": "y"})
    assert saved.status_code == 303
    policy = sla.policies()["P1"]
    assert (policy.first_action_hours, policy.close_hours, policy.business_hours) == (2, 12, True)
    refused = client.post("/routing/sla/P1", data={"csrf_token": token, "first_action_hours": "20",
                                                    "close_hours": "12"})
    assert refused.status_code == 422 and "first_action_hours" in refused.get_data(as_text=True)
    saved = client.post("/routing/calendar", data={"csrf_token": token, "start": "08:30", "end": "17:00",
                                                   "timezone": "Europe/Berlin", "workdays": ["0", "1", "2", "3"],
                                                   "holidays": "2026-12-25\n2026-12-26"})
    assert saved.status_code == 303
    calendar = sla.business_calendar()
    assert (calendar.timezone, calendar.workdays, str(calendar.start)) == ("Europe/Berlin", (0, 1, 2, 3), "08:30:00")
    assert client.post("/routing/calendar", data={"csrf_token": token, "start": "08:30", "end": "17:00",
                                                  "timezone": "Mars/Olympus", "workdays": ["0"]}).status_code == 422
    login(client, "lee@example.com")
    page = client.get("/routing/").get_data(as_text=True)
    assert "Europe/Berlin, Mon, Tue, Wed, Thu" in page and 'name="close_hours"' not in page
    assert client.post("/routing/sla/P1", data={"csrf_token": csrf_from(page), "first_action_hours": "1",
                                                "close_hours": "2"}).status_code == 403


def test_a_calendar_that_cannot_be_read_back_is_refused_and_the_one_in_force_kept(app, client):
    """A mistyped holiday or hour, or a week without a working day, would stop every due time."""
    from html import unescape

    from tests.factories import csrf_from
    from vocloop.extensions import db
    from vocloop.routing import sla

    make_user("admin@example.com", role="admin")
    login(client, "admin@example.com")
    token = csrf_from(client.get("/routing/").get_data(as_text=True))
    good = {"csrf_token": token, "timezone": "Europe/Berlin", "workdays": ["0", "1", "2", "3", "4"],
            "start": "09:00", "end": "17:00", "holidays": "2026-12-25"}
    no_week = "workdays are 0 (Monday) to 6 (Sunday), at least one"
    no_day = "the working day must start before it ends"
    for mistake, words in (({"holidays": "25.12.2026"}, "'25.12.2026'"), ({"workdays": []}, no_week),
                           ({"workdays": ["0", "7"]}, no_week), ({"start": "9am"}, "'9am'"), ({"end": "5pm"}, "'5pm'"),
                           ({"start": "17:00", "end": "09:00"}, no_day), ({"start": "09:00", "end": "09:00"}, no_day)):
        refused = client.post("/routing/calendar", data={**good, **mistake})
        assert refused.status_code == 422, mistake
        page = unescape(refused.get_data(as_text=True))
        assert "not a usable calendar: " in page and words in page, mistake
        if words in (no_week, no_day):
            assert f"not a usable calendar: {words}" in page
        assert sla.business_calendar().timezone == "UTC", mistake
    assert client.post("/routing/calendar", data=good).status_code == 303
    assert sla.business_calendar().holidays == {date(2026, 12, 25)}
    every_day = {**good, "workdays": [str(day) for day in range(7)]}  # a team that works all week
    assert client.post("/routing/calendar", data=every_day).status_code == 303
    db.session.rollback()
    assert sla.business_calendar().workdays == (0, 1, 2, 3, 4, 5, 6)


def test_sla_deadlines_take_half_an_hour_up_to_a_year_and_a_refusal_says_the_rule(app, client):
    from html import unescape

    from tests.factories import csrf_from
    from vocloop.extensions import db
    from vocloop.routing import sla

    make_user("admin@example.com", role="admin")
    login(client, "admin@example.com")
    token = csrf_from(client.get("/routing/").get_data(as_text=True))

    def save(first, close):
        saved = client.post("/routing/sla/P2", data={"csrf_token": token, "first_action_hours": first,
                                                     "close_hours": close})
        db.session.rollback()  # read what the page saved
        return saved

    for first, close in (("0.5", "0.5"), ("1", "8760")):  # the same deadline for both; a whole year
        assert save(first, close).status_code == 303, (first, close)
        policy = sla.policies()["P2"]
        assert (policy.first_action_hours, policy.close_hours) == (float(first), float(close))
    for first, close in (("0", "1"), ("1", "8761"), ("3", "2")):
        refused = save(first, close)
        assert refused.status_code == 422, (first, close)
        assert "P2: hours must satisfy 0 < first_action_hours <= close_hours <= 8760" in unescape(
            refused.get_data(as_text=True))
    assert (sla.policies()["P2"].first_action_hours, sla.policies()["P2"].close_hours) == (1, 8760)
