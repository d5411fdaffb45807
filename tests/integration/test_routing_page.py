"""The routing page: leads preview a rule's effect (dry run) before saving it, reorder and delete."""

import re
from html import unescape
from html.parser import HTMLParser

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.factories import answer, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import Team, User
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


def test_the_preview_leaves_a_paused_rule_out(app, client, drain):
    """Dana's rule, first in line, is paused: the dry run of a new rule does not send her anything."""
    from vocloop.routing.service import create_rule
    make_user("admin@example.com", role="admin", name="Alex")
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id, position=1, enabled=False)
    for index in range(3):
        answer(client, make_invitation(make_survey(), make_contact(f"c{index}@customer.example")), 2, "Bad")
    drain()
    login(client, "lee@example.com")
    preview = submit(client, "/routing/rules", {"name": "to Lee", "action": "user", "user_id": str(lee.id),
                                                "position": "10", "intent": "preview"})
    dry_run = preview.get_data(as_text=True).split('aria-live="polite">')[1].split("</section>")[0]
    assert "3 items; <strong>3</strong> would go to someone else" in dry_run
    assert "<td>Lee</td><td>3</td>" in dry_run and "Dana" not in dry_run


def test_an_impossible_rule_is_explained_and_not_saved(app, client):
    make_user("lee@example.com", role="lead")
    login(client, "lee@example.com")
    response = submit(client, "/routing/rules", {"name": "No team", "action": "team", "intent": "save"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose the team." in html and 'value="No team"' in html
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


def test_a_rule_moves_up_or_down_one_place_and_at_either_end_nothing_moves(app, client):
    lead = make_user("lee@example.com", role="lead")
    from vocloop.routing.service import create_rule
    first = create_rule(name="First", action="user", user_id=lead.id, position=10).id
    second = create_rule(name="Second", action="user", user_id=lead.id, position=20).id
    third = create_rule(name="Third", action="user", user_id=lead.id, position=15).id  # listed before Second
    login(client, "lee@example.com")
    submit(client, f"/routing/rules/{second}/move", {"direction": "up"})
    assert rules() == [("First", 10), ("Second", 20), ("Third", 30)]
    submit(client, f"/routing/rules/{third}/move", {"direction": "up"})
    assert rules() == [("First", 10), ("Third", 20), ("Second", 30)]
    submit(client, f"/routing/rules/{third}/move", {"direction": "up"})
    assert rules() == [("Third", 10), ("First", 20), ("Second", 30)]
    for rule_id, direction in ((third, "up"), (second, "down")):
        assert submit(client, f"/routing/rules/{rule_id}/move", {"direction": direction}).status_code == 303
        assert rules() == [("Third", 10), ("First", 20), ("Second", 30)]
    submit(client, f"/routing/rules/{first}/delete", {})
    gone = submit(client, f"/routing/rules/{first}/move", {"direction": "up"})  # a second tab still showed it
    assert gone.status_code == 404 and "<p>No such routing rule.</p>" in gone.get_data(as_text=True)


def test_a_lead_changes_a_rule_with_every_condition_and_the_dry_run_ignores_reshuffles(app, client, drain):
    """The whole edit story: the rule reads in names, the form offers every condition the engine
    supports, a bad entry comes back as typed with its reason, a good one is saved through the same
    service as PATCH /api/v1/routing-rules/<id>; a new rule in front of an unchanged round-robin rule
    counts only the items it takes, not the members the rotation would pick differently."""
    from vocloop.routing.service import create_rule

    make_user("admin@example.com", role="admin", name="Alex")
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    bill = make_user("bill@example.com", name="Bill")
    survey = make_survey(name="Onboarding NPS")
    team_id = lee.teams[0].id
    account_id = make_contact("boss@northwind.example", account="Northwind Traders").account_id
    rule_id = create_rule(name="Northwind to Support", action="team", team_id=team_id, position=20,
                          conditions={"account_ids": [account_id]}).id
    for index, comment in enumerate(["The invoice was wrong", "Slow", "Slow again", "Still slow"]):
        answer(client, make_invitation(survey, make_contact(f"c{index}@northwind.example",
                                                            account="Northwind Traders")), 2, comment)
    drain()
    login(client, "lee@example.com")
    index_html = client.get("/routing/").get_data(as_text=True)
    assert "the account is Northwind Traders" in index_html and "account_ids:" not in index_html

    edit = client.get(f"/routing/rules/{rule_id}/edit").get_data(as_text=True)
    assert f'name="account_ids" value="{account_id}" checked' in edit and "> Northwind Traders</label>" in edit
    for field in ("survey_ids", "bands", "score_min", "score_max", "sentiments", "topics", "priorities", "urgent",
                  "account_ids", "languages", "attributes", "paused", "team_strategy", "notify_slack_url"):
        assert f'name="{field}"' in edit, field
    assert "If a team: which team" in edit and "If a person: who" in edit  # each target's own group

    base = {"name": "Northwind to Support", "position": "20", "account_ids": str(account_id), "action": "team",
            "team_id": str(team_id), "team_strategy": "round_robin"}
    unchanged = submit(client, f"/routing/rules/{rule_id}", {**base, "intent": "preview"}).get_data(as_text=True)
    assert "4 items; <strong>0</strong> would go to someone else" in unchanged
    added = submit(client, "/routing/rules", {"name": "Invoices to Bill", "position": "10", "topics": "billing",
                                              "action": "user", "user_id": str(bill.id), "intent": "preview"})
    assert "4 items; <strong>1</strong> would go to someone else" in added.get_data(as_text=True)

    bad = submit(client, f"/routing/rules/{rule_id}", {
        **base, "name": "Northwind, unhappy", "score_min": "six", "languages": "en, de", "intent": "save"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Nothing was saved" in html and "must be a whole number" in html
    assert 'value="Northwind, unhappy"' in html and 'value="six"' in html and 'value="en, de"' in html
    assert f'name="account_ids" value="{account_id}" checked' in html
    assert rules() == [("Northwind to Support", 20)]
    refused = submit(client, f"/routing/rules/{rule_id}", {**base, "notify_slack_url": "ftp://slack", "intent": "save"})
    assert refused.status_code == 422 and "https:// Slack incoming-webhook URL" in refused.get_data(as_text=True)
    assert 'value="ftp://slack"' in refused.get_data(as_text=True)

    saved = submit(client, f"/routing/rules/{rule_id}", {
        **base, "name": "Northwind, unhappy", "score_max": "6", "priorities": ["P1", "P2"], "languages": "en, DE",
        "attributes": "plan = gold, platinum", "survey_ids": str(survey.id), "action": "user",
        "user_id": str(dana.id), "intent": "save"})
    assert saved.status_code == 303
    rule = db.session.get(RoutingRule, rule_id)
    assert (rule.name, rule.action, rule.user_id, rule.team_id) == ("Northwind, unhappy", "user", dana.id, None)
    assert rule.conditions == {"survey_ids": [survey.id], "account_ids": [account_id], "priorities": ["P1", "P2"],
                               "score_max": 6, "languages": ["en", "de"],
                               "attributes": {"plan": ["gold", "platinum"]}}
    words = client.get("/routing/").get_data(as_text=True)
    assert "the survey is Onboarding NPS and the score is at most 6" in words and "plan is gold or platinum" in words


def test_the_dry_run_previews_the_days_typed_and_refuses_what_is_not_a_number_of_days(app, client):
    lee = make_user("lee@example.com", role="lead", team="Support")
    login(client, "lee@example.com")
    fields = {"name": "Everything to me", "action": "user", "user_id": str(lee.id), "intent": "preview"}
    week = submit(client, "/routing/rules", {**fields, "days": "7"}).get_data(as_text=True)
    assert "Dry run: the last 7 days" in week
    for typed in ("a month", "0", "400", "-3", "٣"):
        refused = submit(client, "/routing/rules", {**fields, "days": typed})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422, typed
        assert "Give the dry run a whole number of days from 1 to 365." in html and "Dry run: the last" not in html
        assert 'name="days" inputmode="numeric" class="short" value="' in html and 'aria-invalid="true"' in html
    blank = submit(client, "/routing/rules", {**fields, "days": ""}).get_data(as_text=True)
    assert "Dry run: the last 30 days" in blank
    assert rules() == []


def test_with_many_accounts_a_rule_names_its_accounts_instead_of_ticking_boxes(app, client):
    from vocloop.contacts.models import Account

    lead = make_user("lee@example.com", role="lead", team="Support")
    db.session.add_all([Account(name=f"Account {number:02}") for number in range(60)])
    db.session.add_all([Account(name="Acme"), Account(name="Acme")])  # two accounts of one name
    db.session.commit()
    login(client, "lee@example.com")
    page = client.get("/routing/").get_data(as_text=True)
    assert 'name="account_names"' in page and 'name="account_ids"' not in page and "62 accounts" in page

    fields = {"name": "Key accounts to Lee", "action": "user", "user_id": str(lead.id), "intent": "save",
              "account_names": "Account 07\r\n  Acme \r\nNobody Ltd\r\nAccount 99"}
    refused = submit(client, "/routing/rules", fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and rules() == []
    assert "No account is called “Nobody Ltd”, “Account 99” (names as on Contacts)." in html
    assert "Account 07\r\n  Acme" in html or "Account 07\n  Acme" in html  # the box comes back as typed

    saved = submit(client, "/routing/rules", {**fields, "account_names": "Account 07\nAcme"})
    assert saved.status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    by_name = {account.id: account.name for account in db.session.scalars(select(Account))}
    chosen = sorted(by_name[account_id] for account_id in rule.conditions["account_ids"])
    assert chosen == ["Account 07", "Acme", "Acme"]
    edit = client.get(f"/routing/rules/{rule.id}/edit").get_data(as_text=True)
    assert ">Account 07\nAcme</textarea>" in edit  # each name once


class _Form(HTMLParser):
    """What a browser would send for the form posting to `action`, as it stands on the page."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.fields, self.first = action, False, [], {}
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("type") in ("checkbox", "radio"):
            if "checked" in attrs:
                self.fields.append((attrs["name"], attrs["value"]))
        elif tag == "input" and attrs.get("name"):
            self.fields.append((attrs["name"], attrs.get("value", "")))
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "option" and self.select:
            self.first.setdefault(self.select, attrs["value"])
            if "selected" in attrs:
                self.fields.append((self.select, attrs["value"]))
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.fields.append((self.textarea, ""))

    def handle_data(self, data):
        if self.textarea:
            name, text = self.fields.pop()
            self.fields.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            if self.select not in dict(self.fields):  # nothing selected: the browser sends the first option
                self.fields.append((self.select, self.first.get(self.select, "")))
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def test_a_rule_saved_unchanged_from_its_edit_page_keeps_every_condition_and_setting(app, client):
    """The edit page shows the rule as it is: saving it untouched changes nothing (a condition the form
    left out or misread would be dropped or changed by a lead who only meant to look)."""
    from vocloop.routing.service import create_rule

    make_user("admin@example.com", role="admin", name="Alex")
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    surveys = [make_survey(name="Onboarding NPS").id, make_survey("csat", name="Support CSAT").id]
    account_id = make_contact("boss@northwind.example", account="Northwind Traders").account_id
    settings = dict(name="Unhappy Northwind, in words", action="team", team_id=lee.teams[0].id,
                    team_strategy="least_loaded", position=30, enabled=False, notify_user_id=dana.id,
                    notify_team_id=lee.teams[0].id, notify_slack_url="http://127.0.0.1:9/services/T0/B0/secret")
    conditions = {"survey_ids": surveys, "account_ids": [account_id], "score_min": 0, "score_max": 6,
                  "bands": ["negative", "neutral"], "sentiments": ["negative"], "topics": ["billing", "bugs"],
                  "priorities": ["P1", "P2"], "urgent": False, "languages": ["en", "de"],
                  "attributes": {"plan": ["gold", "platinum"], "region": "eu"}}
    full_id = create_rule(conditions=conditions, **settings).id
    plain = dict(name="Everything else to Dana", action="user", user_id=dana.id, team_id=None, position=100,
                 enabled=True, notify_user_id=None, notify_team_id=None, notify_slack_url=None)
    plain_id = create_rule(**plain).id
    login(client, "lee@example.com")
    for rule_id, rule_settings, rule_conditions in ((full_id, settings, conditions), (plain_id, plain, {})):
        action = f"/routing/rules/{rule_id}"
        form = _Form(action)
        form.feed(client.get(f"{action}/edit").get_data(as_text=True))
        fields = MultiDict([pair for pair in form.fields if pair[0] != "intent"] + [("intent", "save")])
        assert client.post(action, data=fields).status_code == 303, rule_settings["name"]
        db.session.rollback()
        rule = db.session.get(RoutingRule, rule_id)
        assert rule.conditions == rule_conditions
        assert {key: getattr(rule, key) for key in rule_settings} == rule_settings
    rule = db.session.get(RoutingRule, full_id)
    rule.enabled, rule.conditions = True, {**conditions, "urgent": True}
    db.session.commit()
    action = f"/routing/rules/{full_id}"
    form = _Form(action)
    form.feed(client.get(f"{action}/edit").get_data(as_text=True))
    assert ("urgent", "yes") in form.fields and ("paused", "y") not in form.fields
    fields = MultiDict([pair for pair in form.fields if pair[0] != "intent"] + [("intent", "save")])
    assert client.post(action, data=fields).status_code == 303
    db.session.rollback()
    assert db.session.get(RoutingRule, full_id).conditions == {**conditions, "urgent": True}


def test_every_mistake_in_a_rule_form_comes_back_beside_its_field_and_nothing_is_saved(app, client):
    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    login(client, "lee@example.com")
    typed = {"name": "", "position": "first", "score_min": "9", "score_max": "six", "languages": "en, d3",
             "attributes": "plan gold", "action": "user", "user_id": "", "paused": "y", "intent": "save"}
    html = unescape(submit(client, "/routing/rules", typed).get_data(as_text=True))
    assert '<input type="checkbox" name="paused" value="y" checked>' in html  # still paused when sent again
    problems = dict(re.findall(r'<p class="error field-error" id="problem-(\w+)">([^<]+)</p>', html))
    assert problems == {
        "name": "Give the rule a name, so the inbox can say why an item came to someone.",
        "position": "The position must be a whole number; lower is tried first.",
        "score_max": "The highest score must be a whole number, like 6.",
        "languages": "Languages are codes like en, de or pt-br, separated by commas.",
        "attributes": "Write each contact attribute as name = value (or values, comma-separated): “plan gold”.",
        "user_id": "Choose the person."}
    typed = {**typed, "name": "Unhappy", "position": "10", "score_max": "6", "score_min": "x", "languages": "en",
             "attributes": "plan = gold", "action": "team", "team_id": ""}
    html = unescape(submit(client, "/routing/rules", typed).get_data(as_text=True))
    problems = dict(re.findall(r'<p class="error field-error" id="problem-(\w+)">([^<]+)</p>', html))
    assert problems == {"score_min": "The lowest score must be a whole number, like 6.", "team_id": "Choose the team."}
    typed = {**typed, "score_min": "9", "team_id": str(db.session.scalar(select(Team.id)))}
    html = unescape(submit(client, "/routing/rules", typed).get_data(as_text=True))
    assert "The highest score must not be below the lowest." in html and rules() == []


def test_a_rule_form_takes_every_well_formed_edge_and_refuses_what_only_looks_like_one(app, client):
    """What a lead may type and expects to be kept: one score (6 to 6), a regional language and ";" between
    codes, a blank line between attributes. And what is refused in words, never a 500: an attribute line with
    no name, an 11-letter "language", a person's id that is no number (a hand-made post)."""
    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    login(client, "lee@example.com")
    team_id = str(db.session.scalar(select(Team.id)))
    fresh_form = client.get("/routing/").get_data(as_text=True)
    assert "XXXX" not in fresh_form  # the new rule's fields start empty
    typed = {"name": "Sixes", "position": "10", "score_min": "6", "score_max": "6", "languages": "pt-BR; de",
             "attributes": "plan = gold\n\nregion = EU, UK", "action": "team", "team_id": team_id, "intent": "save"}
    assert submit(client, "/routing/rules", typed).status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    assert (rule.conditions["score_min"], rule.conditions["score_max"]) == (6, 6)
    assert rule.conditions["languages"] == ["pt-br", "de"]
    assert rule.conditions["attributes"] == {"plan": "gold", "region": ["EU", "UK"]}
    for field, value, problem in (
            ("attributes", "= gold", "attributes"), ("languages", "abcdefghijk", "languages"),
            ("user_id", "abc", "user_id")):
        wrong = {**typed, "name": "Wrong", field: value, **({"action": "user"} if field == "user_id" else {})}
        answer = submit(client, "/routing/rules", wrong)
        html = unescape(answer.get_data(as_text=True))
        # an id that names nobody ("abc") comes back beside its field too, in a lead's words
        assert answer.status_code == 422 and f'id="problem-{problem}"' in html, (field, answer.status_code)
        assert "Nothing was saved." in html and "Wrong" in html
    assert [name for name, _ in rules()] == ["Sixes"]


def test_a_team_deleted_while_the_form_was_open_is_said_beside_its_field_and_nothing_is_saved(app, client):
    """The page's selects only offer what exists, but a team can be deleted by an admin while a lead fills
    the form (or an id typed by hand names nobody): the lead reads which choice is gone, not the API's 404."""
    from vocloop.accounts.teams import delete_team
    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    gone = Team(name="Billing")
    db.session.add(gone)
    db.session.commit()
    gone_id = gone.id
    login(client, "lee@example.com")
    token = csrf_from(client.get("/routing/").get_data(as_text=True))
    delete_team(db.session.get(Team, gone_id))
    base = {"csrf_token": token, "name": "Unhappy", "position": "10", "intent": "save"}
    for fields, field, words in (
            ({"action": "team", "team_id": str(gone_id)}, "team_id", "That team no longer exists; choose another."),
            ({"action": "user", "user_id": "dana"}, "user_id", "That person is no longer here; choose another."),
            ({"action": "account_owner", "notify_team_id": str(gone_id)}, "notify_team_id",
             "That team no longer exists; choose another, or none."),
            ({"action": "account_owner", "notify_user_id": "99999"}, "notify_user_id",
             "That person is no longer here; choose another, or none.")):
        for intent in ("save", "preview"):
            response = client.post("/routing/rules", data={**base, **fields, "intent": intent})
            html = unescape(response.get_data(as_text=True))
            problems = dict(re.findall(r'<p class="error field-error" id="problem-(\w+)">([^<]+)</p>', html))
            assert (response.status_code, problems) == (422, {field: words}), (fields, intent)
            assert 'value="Unhappy"' in html and "needs" not in html
    assert rules() == []
    # a gone team that the action does not use is no problem: the rule goes to a person
    lee_id = db.session.scalar(select(User.id).where(User.email == "lee@example.com"))
    saved = client.post("/routing/rules", data={**base, "action": "user", "user_id": str(lee_id),
                                                "team_id": str(gone_id)})
    assert saved.status_code == 303 and rules() == [("Unhappy", 10)]
