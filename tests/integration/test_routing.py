"""Routing and ownership: SLA clocks, the SLA watch, hand-overs, time off, dry run = live, races."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from tests.conftest import TEST_DATABASE_URL
from tests.factories import answer, api_token, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import User
from vocloop.classify.service import classify
from vocloop.db import utcnow
from vocloop.errors import Conflict
from vocloop.extensions import db
from vocloop.items import handover
from vocloop.items.models import FeedbackItem
from vocloop.items.sla_watch import watch_sla
from vocloop.items.triage import triage_response
from vocloop.mail.models import Message
from vocloop.responses import service as responses
from vocloop.responses.models import Response
from vocloop.routing import service as routing
from vocloop.routing import sla
from vocloop.routing.calendar import add_business_hours
from vocloop.routing.decide import RuleSpec, simulate
from vocloop.routing.models import RoutingRule, SlaPolicy
from vocloop.routing.rules import RoutingFacts
from vocloop.surveys.kinds import get_kind


def pending_response(email, score=2, comment="Nothing works", survey=None):
    """A completed answer whose triage has not run yet."""
    token = make_invitation(survey or make_survey(), make_contact(email))
    return db.session.get(Response, responses.submit_comment(token, str(score), comment))


def owners():
    db.session.rollback()
    return {item.response_id: item.owner_id for item in db.session.scalars(select(FeedbackItem))}


def support_team(size):
    members = [make_user(f"agent{i}@example.com", name=f"Agent {i}", team="Support") for i in range(size)]
    return members, members[0].teams[0]


# SLA clocks

def test_due_times_follow_the_policy_in_business_hours(app):
    make_user("admin@example.com", role="admin")
    sla.update_calendar(timezone="Europe/Berlin", workdays=[0, 1, 2, 3, 4], start="09:00", end="17:00", holidays=[])
    sla.update_policy("P1", first_action_hours=2, close_hours=8, business_hours=True)
    triage_response(pending_response("ann@customer.example", score=0, comment="Cancelling, this is awful").id)
    item = db.session.scalar(select(FeedbackItem))
    assert item.priority == "P1"
    calendar = sla.business_calendar()
    assert item.first_action_due_at == add_business_hours(item.created_at, 2, calendar)
    assert item.close_due_at == add_business_hours(item.created_at, 8, calendar)
    # Opened on Friday at 16:00 in Berlin: one working hour left that day, the rest on Monday in Berlin's hours.
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert sla.due_times("P1", friday) == (datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
                                           datetime(2026, 11, 30, 15, 0, tzinfo=UTC))


def test_without_a_policy_row_deadlines_come_from_the_sla_hours_setting_in_calendar_time(app):
    db.session.execute(delete(SlaPolicy).where(SlaPolicy.priority == "P2"))
    db.session.commit()
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    first, close = app.config["SLA_HOURS"]["P2"]
    assert sla.due_times("P2", friday) == (friday + timedelta(hours=first), friday + timedelta(hours=close))


def test_policies_and_calendar_are_editable_through_the_api_with_checks(app, client):
    headers = api_token(make_user("admin@example.com", role="admin"))
    assert [p["priority"] for p in client.get("/api/v1/sla-policies", headers=headers).json] == ["P1", "P2", "P3",
                                                                                                  "P4"]
    changed = client.put("/api/v1/sla-policies/P2", headers=headers,
                         json={"first_action_hours": 8, "close_hours": 16, "business_hours": True})
    assert changed.status_code == 200 and changed.json["close_hours"] == 16
    assert client.put("/api/v1/sla-policies/P2", headers=headers,
                      json={"first_action_hours": 20, "close_hours": 10}).status_code == 422
    unknown = client.put("/api/v1/sla-policies/P9", headers=headers, json={"first_action_hours": 8, "close_hours": 16})
    assert unknown.status_code == 422 and unknown.json["detail"] == "priority must be one of P1, P2, P3, P4"
    assert client.put("/api/v1/business-calendar", headers=headers, json={
        "timezone": "Mars/Base", "workdays": [0], "start": "09:00", "end": "17:00"}).status_code == 422
    ok = client.put("/api/v1/business-calendar", headers=headers, json={
        "timezone": "America/New_York", "workdays": [0, 1, 2, 3], "start": "08:30", "end": "16:30",
        "holidays": ["2026-12-25"]})
    assert ok.status_code == 200
    assert client.get("/api/v1/business-calendar", headers=headers).json == {
        "timezone": "America/New_York", "workdays": [0, 1, 2, 3], "start": "08:30", "end": "16:30",
        "holidays": ["2026-12-25"]}


# The SLA watch

def test_the_watch_warns_records_breaches_and_escalates_to_the_lead_once(app, sendgrid, drain):
    make_user("admin@example.com", role="admin")
    lead = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    triage_response(pending_response("ann@customer.example").id)
    item = db.session.scalar(select(FeedbackItem))
    window = item.close_due_at - item.created_at
    assert item.first_action_due_at < item.created_at + window * 0.5  # P1: 4 h to act, 24 h to close
    assert watch_sla(item.created_at + window * 0.5) == {"warned": 0, "first_action_missed": 1, "breached": 0,
                                                         "escalated": 0}
    assert watch_sla(item.created_at + window * 0.8) == {"warned": 1, "first_action_missed": 0, "breached": 0,
                                                         "escalated": 0}
    late = item.close_due_at + timedelta(minutes=1)
    assert watch_sla(late) == {"warned": 0, "first_action_missed": 0, "breached": 1, "escalated": 1}
    assert watch_sla(late + timedelta(hours=1)) == {"warned": 0, "first_action_missed": 0, "breached": 0,
                                                    "escalated": 0}
    db.session.rollback()
    kinds = [event.kind for event in db.session.get(FeedbackItem, item.id).events]
    assert kinds[-4:] == ["sla_first_action_missed", "sla_warning", "sla_breached", "escalated"]
    notices = Counter(db.session.scalars(select(Message.to_email).where(Message.kind == "notification")))
    assert notices == {"dana@example.com": 3, "lee@example.com": 1}  # new item, warning, breach; escalation
    assert lead.id != dana.id



def test_the_watch_warns_an_old_item_however_many_young_ones_are_open(app, monkeypatch):
    """Warnings went to the first 4 x BATCH open items the database returned, whether or not they were
    due one: with more young items open than that, an old one was never warned."""
    from vocloop.items import sla_watch

    monkeypatch.setattr(sla_watch, "BATCH", 2)
    dana = make_user("dana@example.com", name="Dana", team="Support")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    for n in range(10):
        triage_response(pending_response(f"c{n}@customer.example").id)
    opened = db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.id)).all()
    young, old = opened[:-2], opened[-2:]
    now = old[0].created_at + (old[0].close_due_at - old[0].created_at) * 0.8
    for item in young:  # opened just now: far from their deadline
        item.sla_started_at = now - timedelta(minutes=5)
    old[1].close_due_at = old[1].close_due_at + timedelta(hours=1)
    db.session.commit()
    assert watch_sla(now)["warned"] == 2
    db.session.expire_all()
    assert [item.id for item in db.session.scalars(select(FeedbackItem).where(
        FeedbackItem.sla_warned_at.is_not(None)).order_by(FeedbackItem.id))] == [item.id for item in old]



def test_two_clocks_at_once_warn_and_record_each_step_once(app, monkeypatch):
    """Two scheduler processes (or a retried job) reading the same items before either writes: the one
    that claims second sees the flag taken and does nothing, so the owner and the lead are told once.
    Simulated deterministically: the other clock runs whole, in its own session, between this clock's
    reading of the items and its first claim (the first action missed, the warning, the breach)."""
    from vocloop.items import sla_watch

    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    triage_response(pending_response("ann@customer.example").id)
    item = db.session.scalar(select(FeedbackItem))
    claim, raced = sla_watch._claim, []

    def other_clock_first(item, flag, now):
        if not raced or raced[-1][1] != now:  # once a run, before this clock has written anything
            raced.append((flag, now, None))
            with app.app_context():  # a second process: its own session and connection
                raced[-1] = (flag, now, watch_sla(now))
                db.session.remove()
        return claim(item, flag, now)

    monkeypatch.setattr(sla_watch, "_claim", other_clock_first)
    window = item.close_due_at - item.created_at
    nothing = {"warned": 0, "first_action_missed": 0, "breached": 0, "escalated": 0}
    for now in (item.created_at + window * 0.5, item.created_at + window * 0.8,
                item.close_due_at + timedelta(minutes=1)):
        assert watch_sla(now) == nothing  # the other clock did it all
    assert [(flag, other) for flag, _, other in raced] == [
        ("first_action_breached_at", dict(nothing, first_action_missed=1)),
        ("sla_warned_at", dict(nothing, warned=1)),
        ("sla_breached_at", dict(nothing, breached=1, escalated=1))]
    db.session.rollback()
    kinds = Counter(event.kind for event in db.session.get(FeedbackItem, item.id).events)
    assert [kinds[kind] for kind in ("sla_first_action_missed", "sla_warning", "sla_breached", "escalated")] \
        == [1, 1, 1, 1]
    notices = Counter(db.session.scalars(select(Message.to_email).where(Message.kind == "notification")))
    assert notices == {"dana@example.com": 3, "lee@example.com": 1}  # new item, warning, breach; escalation


def test_what_the_watch_writes_names_the_customer_the_deadline_and_the_lead(app, drain):
    """The timeline entries and emails of a warning, a breach and an escalation, as owner and lead read them
    (mutation testing: each text, the customer's name in the warning and the CRM's sla.breached payload)."""
    from vocloop.outbound.models import WebhookDelivery, WebhookEndpoint

    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    db.session.add(WebhookEndpoint(url="https://crm.example.com/hooks", events=["sla.breached"], secret="whsec_x"))
    token = make_invitation(make_survey(), make_contact("ann@customer.example", name="Ann Smith"))
    triage_response(responses.submit_comment(token, "2", "Nothing works"))
    item = db.session.scalar(select(FeedbackItem))
    started, due = item.created_at, item.close_due_at
    watch_sla(started + (due - started) * 0.8)
    late = due + timedelta(minutes=1)
    watch_sla(late)
    db.session.expire_all()
    left = (due - started) * 0.2
    hours = f"{left.total_seconds() / 3600:.0f} hours"
    bodies = {event.kind: event.body for event in db.session.get(FeedbackItem, item.id).events}
    assert bodies["sla_warning"] == f"Closing message due in {hours}."
    assert bodies["sla_first_action_missed"] == "No first action before its due time."
    assert bodies["sla_breached"] == f"Closing message overdue since {due:%Y-%m-%d %H:%M} UTC."
    assert bodies["escalated"] == "Escalated to Lee, lead of the owner's team."
    notices = {message.subject: message.text for message in db.session.scalars(
        select(Message).where(Message.kind == "notification", Message.subject.not_like("New item%")))}
    assert f"Ann Smith is waiting for an answer; the closing message is due {due:%Y-%m-%d %H:%M} UTC." in \
        notices[f"Item #{item.id}: closing message due in {hours}"]
    assert "\n\nThe closing message to the customer is overdue. Send it, or hand the item over.\n\n" in \
        notices[f"Item #{item.id} is past its SLA"]
    assert f"Dana has not sent the closing message that was due {due:%Y-%m-%d %H:%M} UTC." in \
        notices[f"Escalation: item #{item.id} (Dana) is past its SLA"]
    item = db.session.get(FeedbackItem, item.id)
    assert item.escalated_at == item.sla_breached_at == item.first_breached_at == late
    import json
    posted = json.loads(db.session.scalar(select(WebhookDelivery.body)))
    assert posted["type"] == "sla.breached" and posted["data"]["item_id"] == item.id



@pytest.mark.parametrize("left, words", [(timedelta(seconds=20), "1 minute"), (timedelta(minutes=90), "90 minutes"),
                                         (timedelta(minutes=119), "119 minutes"), (timedelta(hours=2), "2 hours"),
                                         (timedelta(hours=4.8), "5 hours")])
def test_the_warning_says_how_long_is_left_in_hours_from_two_hours_else_in_minutes(left, words):
    from vocloop.items.sla_watch import _duration

    assert _duration(left) == words

def test_a_breach_is_recorded_for_that_item_only_however_many_are_already_late(app, monkeypatch):
    """Breaches and warnings already recorded never fill the watch's batch, and recording one breach
    marks no other item as ever having breached (its first breach is kept across reopens)."""
    from vocloop.items import sla_watch

    monkeypatch.setattr(sla_watch, "BATCH", 2)
    dana = make_user("dana@example.com", name="Dana", team="Support")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    for n in range(6):
        triage_response(pending_response(f"c{n}@customer.example").id)
    late_a, late_b, warned_a, warned_b, newly_late, fine = db.session.scalars(
        select(FeedbackItem).order_by(FeedbackItem.id)).all()
    now = fine.close_due_at - (fine.close_due_at - fine.created_at) * 0.1  # 90 % of the window gone
    for item in (late_a, late_b):  # breached an hour ago, recorded then
        item.close_due_at = item.sla_breached_at = item.first_breached_at = now - timedelta(hours=1)
        item.first_action_breached_at = item.sla_warned_at = now - timedelta(hours=1)
    for item in (warned_a, warned_b):  # warned already, and the soonest due
        item.close_due_at, item.sla_warned_at = now + timedelta(minutes=1), now - timedelta(minutes=5)
    newly_late.close_due_at = now - timedelta(minutes=1)
    fine.sla_started_at = now - timedelta(minutes=5)
    for item in (warned_a, warned_b, newly_late, fine):
        item.first_action_at = item.created_at  # the owner acted in time
    db.session.commit()
    assert watch_sla(now) == {"warned": 0, "first_action_missed": 0, "breached": 1, "escalated": 0}
    db.session.expire_all()
    assert {item.id: item.first_breached_at for item in db.session.scalars(select(FeedbackItem))} == {
        late_a.id: now - timedelta(hours=1), late_b.id: now - timedelta(hours=1), warned_a.id: None,
        warned_b.id: None, newly_late.id: now, fine.id: None}
    fine.sla_started_at = None  # 90 % of its window gone: warned, though two warned ones are due sooner
    db.session.commit()
    assert watch_sla(now)["warned"] == 1


def test_escalation_goes_to_the_active_lead_of_the_items_team_only(app):
    """Not to the lead of another team the owner also sits in, not to a deactivated lead, and not to the
    owner when the owner leads the team."""
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    sam = make_user("sam@example.com", role="lead", name="Sam", team="Success")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    sam.teams[0].members.append(dana)  # Dana works in both teams
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    escalated_to = []
    for n, change in enumerate(("", "deactivate Lee", "Lee owns it")):
        triage_response(pending_response(f"c{n}@customer.example").id)
        item = db.session.scalar(select(FeedbackItem).order_by(FeedbackItem.id.desc()))
        item.team_id = lee.teams[0].id  # a Support item
        if change == "deactivate Lee":
            lee.active = False
        if change == "Lee owns it":
            lee.active, item.owner_id = True, lee.id
        db.session.commit()
        watch_sla(item.close_due_at + timedelta(minutes=1))
        escalated_to.append(sorted(db.session.scalars(select(Message.to_email).where(
            Message.kind == "notification", Message.item_id == item.id, Message.subject.like("Escalation%")))))
    assert escalated_to == [["lee@example.com"], [], []]



LIVE_FACTS = ("survey_ids", "score_max", "bands", "sentiments", "priorities", "urgent", "languages", "attributes")


@pytest.mark.parametrize("fact", LIVE_FACTS)
def test_live_routing_reads_each_fact_of_the_answer(app, fact):
    """A rule on one fact takes the answer that has it and leaves the one that has not (mutation testing
    items/triage.py: the facts live routing was given could each be dropped with every test green)."""
    from vocloop.classify.service import classify

    omar, dana = make_user("omar@example.com", name="Omar"), make_user("dana@example.com", name="Dana")
    app_survey, web_survey = make_survey(name="App"), make_survey(name="Web")
    cancelling, thanks = "Nothing works, we are cancelling our plan.", "Great support, thanks!"
    urgent, calm = classify(get_kind("nps"), 0, cancelling), classify(get_kind("nps"), 9, thanks)
    assert urgent.label != calm.label and urgent.priority != calm.priority and urgent.urgent and not calm.urgent
    conditions = {"survey_ids": [app_survey.id], "score_max": 3, "bands": ["negative"], "sentiments": [urgent.label],
                  "priorities": [urgent.priority], "urgent": True, "languages": ["de"],
                  "attributes": {"plan": "enterprise"}}
    routing.create_rule(name="one fact", action="user", user_id=omar.id, conditions={fact: conditions[fact]},
                        position=1)
    routing.create_rule(name="the rest", action="user", user_id=dana.id, position=2)
    jonas, ann = make_contact("jonas@customer.example", name="Jonas"), make_contact("ann@customer.example", name="Ann")
    jonas.language, jonas.attributes = "de", {"plan": "enterprise"}
    db.session.commit()
    owner_of = {}
    for contact, survey, score, words in ((jonas, app_survey, 0, cancelling), (ann, web_survey, 9, thanks)):
        item = triage_response(responses.submit_comment(make_invitation(survey, contact), str(score), words))
        owner_of[contact.name] = item.owner.name
    assert owner_of == {"Jonas": "Omar", "Ann": "Dana"}


def test_a_detractors_score_without_words_opens_an_item_by_default(app, client, drain):
    """The default opening rule: every unhappy score, and every answer with something to read."""
    dana = make_user("dana@example.com", name="Dana")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey()
    assert survey.open_items_for == "negative_or_comment"
    answer(client, make_invitation(survey, make_contact("ann@customer.example")), 3)
    answer(client, make_invitation(survey, make_contact("bo@customer.example")), 8)
    drain()
    opened = db.session.scalars(select(FeedbackItem)).all()
    assert [item.contact.email for item in opened] == ["ann@customer.example"] and opened[0].owner_id == dana.id


# Hand-overs and time off

def test_deactivating_an_owner_hands_their_open_items_over_with_a_timeline_entry(app, client):
    """The entry names the admin who deactivated the owner and, for an API client reading the timeline,
    whom the item went from and to, as any hand-over does."""
    admin = make_user("admin@example.com", name="Alex", role="admin")
    members, team = support_team(3)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    for index in range(6):
        triage_response(pending_response(f"c{index}@customer.example").id)
    leaving = members[0]
    mine = [item_id for item_id, owner in owners().items() if owner == leaving.id]
    assert len(mine) == 2
    response = client.patch(f"/api/v1/users/{leaving.id}", json={"active": False}, headers=api_token(admin))
    assert response.status_code == 200 and response.json["active"] is False
    after = owners()
    assert leaving.id not in after.values() and set(after.values()) <= {members[1].id, members[2].id}
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == mine[0]))
    timeline = client.get(f"/api/v1/items/{item.id}/events", headers=api_token(admin)).json
    handed = timeline[-1]
    assert (handed["kind"], handed["actor_id"]) == ("reassigned", admin.id) and "was deactivated" in handed["body"]
    assert handed["data"] == {"from_owner_id": leaving.id, "to_owner_id": item.owner_id}


def test_deactivation_is_refused_when_nobody_could_take_over(app):
    only_admin = make_user("admin@example.com", role="admin")
    triage_response(pending_response("ann@customer.example").id)
    with pytest.raises(Conflict):
        handover.deactivate_user(only_admin, None)
    db.session.rollback()
    assert db.session.get(User, only_admin.id).active is True
    assert set(owners().values()) == {only_admin.id}


def test_leaving_a_team_hands_that_teams_items_to_the_others(app):
    make_user("admin@example.com", role="admin")
    members, team = support_team(2)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    for index in range(4):
        triage_response(pending_response(f"c{index}@customer.example").id)
    handover.remove_from_team(members[0], team, None)
    assert set(owners().values()) == {members[1].id}


def test_leaving_one_team_hands_over_only_its_items_says_who_and_why_and_keeps_its_lead(app, client):
    """Agent 0 works for Support and Billing and leaves Support: Support's item goes to the teammate the
    rule picks, the Billing one stays hers, and the timeline names the admin and the reason. Support keeps
    its lead; when the lead leaves too, Support has none (the lead is not left pointing at an outsider)."""
    from vocloop.accounts.models import Team
    admin = make_user("admin@example.com", name="Alex", role="admin")
    lee = make_user("lee@example.com", name="Lee", role="lead", team="Support")
    (agent, _), support = support_team(2)
    billing = make_user("bea@example.com", name="Bea", role="lead", team="Billing").teams[0]
    billing.members.append(agent)
    routing.create_rule(name="Support", action="team", team_id=support.id)
    support.last_assigned_user_id = lee.id  # the rotation picks Agent 0, then Agent 1, then Lee
    for index in range(2):
        triage_response(pending_response(f"c{index}@customer.example").id)
    items = list(db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.id)))
    items[1].owner_id, items[1].team_id = agent.id, billing.id
    db.session.commit()
    assert [(item.owner_id, item.team_id) for item in items] == [(agent.id, support.id), (agent.id, billing.id)]
    headers = api_token(admin)
    assert client.delete(f"/api/v1/teams/{support.id}/members/{agent.id}", headers=headers).status_code == 204
    db.session.rollback()
    items = list(db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.id)))
    assert [(item.owner_id, item.team_id) for item in items] == [(lee.id, support.id), (agent.id, billing.id)]
    handed = items[0].events[-1]
    assert (handed.kind, handed.actor_id, handed.body) == (
        "reassigned", admin.id, "Agent 0 left Support. Handed over to Lee (rule “Support”: team Support).")
    assert db.session.get(Team, support.id).lead_id == lee.id
    assert client.delete(f"/api/v1/teams/{support.id}/members/{lee.id}", headers=headers).status_code == 204
    db.session.rollback()
    assert db.session.get(Team, support.id).lead_id is None and db.session.get(Team, billing.id).lead_id != lee.id
    again = client.delete(f"/api/v1/teams/{support.id}/members/{agent.id}", headers=headers)
    assert again.status_code == 422 and again.json["detail"] == "Agent 0 is not in Support."


def test_someone_leaving_a_team_whom_a_rule_still_names_hands_its_items_to_the_lead_else_the_fallback(app):
    """A rule names Agent 0, who leaves Support but stays active: routing would give the item back to her,
    so Support's lead takes it, in Support; with no active lead, the fallback owner does. When the person
    leaving is the fallback owner too, nobody can take over and the change is refused, nothing moved."""
    from vocloop.accounts.models import Team
    admin = make_user("admin@example.com", name="Alex", role="admin")
    lee = make_user("lee@example.com", name="Lee", role="lead", team="Support")
    (agent, other), support = support_team(2)
    routing.create_rule(name="to Agent 0", action="user", user_id=agent.id)
    triage_response(pending_response("c0@customer.example").id)
    item = db.session.scalar(select(FeedbackItem))
    item.team_id = support.id
    db.session.commit()
    assert handover.remove_from_team(agent, support, admin) == 1
    item = db.session.get(FeedbackItem, item.id)
    assert (item.owner_id, item.team_id) == (lee.id, support.id)
    assert item.events[-1].body == "Agent 0 left Support. Handed over to Lee (team lead)."
    # Back in Support, the item hers again; Lee is deactivated but still named the lead: the fallback owner.
    support = db.session.get(Team, support.id)
    support.members.append(agent)
    item.owner_id = agent.id
    db.session.commit()
    handover.deactivate_user(lee, admin)
    assert db.session.get(Team, support.id).lead_id == lee.id
    assert handover.remove_from_team(agent, db.session.get(Team, support.id), admin) == 1
    item = db.session.get(FeedbackItem, item.id)
    assert item.owner_id == admin.id
    assert item.events[-1].body == "Agent 0 left Support. Handed over to Alex (fallback owner)."
    # The fallback owner named by a rule, leaving a team with no lead: refused, and she stays in the team.
    routing.create_rule(name="to Alex", action="user", user_id=admin.id, position=0)
    support = db.session.get(Team, support.id)
    support.members.append(admin)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        handover.remove_from_team(admin, db.session.get(Team, support.id), None)
    assert refused.value.detail == (f"Nobody could take over item #{item.id}: add an active admin or a routing rule "
                                    "first.")
    db.session.rollback()
    assert admin in db.session.get(Team, support.id).members
    assert db.session.get(FeedbackItem, item.id).owner_id == admin.id


def test_an_item_handed_over_by_a_team_rule_becomes_that_teams_even_if_its_new_owner_is_in_its_old_one(app):
    """Omar in Support leaves; the rules now send his item to Billing, whose only member, Bea, also sits
    in Support. It is Billing's item, as the timeline says, so Billing's lead sees it, not Support's."""
    from vocloop.accounts.models import Team
    admin = make_user("admin@example.com", role="admin")
    omar = make_user("omar@example.com", name="Omar", team="Support")
    bea = make_user("bea@example.com", name="Bea", team="Billing")
    support, billing = omar.teams[0], bea.teams[0]
    support.members.append(bea)
    routing.create_rule(name="to Omar", action="user", user_id=omar.id, position=1)
    routing.create_rule(name="Billing", action="team", team_id=billing.id, position=2)
    item = triage_response(pending_response("ann@customer.example").id)
    item.team_id = support.id
    db.session.commit()
    handover.deactivate_user(omar, admin)
    item = db.session.get(FeedbackItem, item.id)
    assert (item.owner_id, db.session.get(Team, item.team_id).name) == (bea.id, "Billing")
    assert item.events[-1].body == "Omar was deactivated. Handed over to Bea (rule “Billing”: team Billing)."


def test_time_off_needs_another_active_user_to_cover_and_a_refusal_says_so_changing_nothing(app, client):
    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    gone = make_user("gus@example.com", name="Gus")
    handover.deactivate_user(gone, None)
    headers, until = api_token(dana), "2099-01-31T17:00:00Z"
    for delegate_id in (None, 999_999, gone.id, dana.id):
        refused = client.patch(f"/api/v1/users/{dana.id}", headers=headers,
                               json={"away_until": until, "delegate_id": delegate_id})
        assert refused.status_code == 422, delegate_id
        assert refused.json["detail"] == ("Being away needs a delegate who takes new items meanwhile."
                                          if delegate_id is None else "The delegate must be another active user.")
        db.session.rollback()
        assert (db.session.get(User, dana.id).away_until, db.session.get(User, dana.id).delegate_id) == (None, None)
    covered = client.patch(f"/api/v1/users/{dana.id}", headers=headers, json={"away_until": until,
                                                                                "delegate_id": omar.id})
    assert covered.status_code == 200
    db.session.rollback()
    assert db.session.get(User, dana.id).delegate_id == omar.id


def test_an_away_owner_delegates_new_items_until_they_return(app):
    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    handover.set_away(dana, utcnow() + timedelta(days=7), omar.id)
    triage_response(pending_response("ann@customer.example").id)
    item = db.session.scalar(select(FeedbackItem))
    assert item.owner_id == omar.id and "delegated by Dana" in item.events[-1].body
    handover.set_away(dana, None, None)
    triage_response(pending_response("bob@customer.example").id)
    assert Counter(owners().values()) == {omar.id: 1, dana.id: 1}


def test_an_away_team_member_delegates_and_the_rotation_moves_on(app):
    """Agent 0 is away, Agent 2 covers: the rotation's turn for Agent 0 goes to Agent 2 and the next answer
    to Agent 1, and the item stays the team's, under its rule."""
    make_user("admin@example.com", role="admin")
    (first, second, third), team = support_team(3)
    rule = routing.create_rule(name="Support", action="team", team_id=team.id)
    handover.set_away(first, utcnow() + timedelta(days=7), third.id)
    pending = [pending_response(f"c{index}@customer.example") for index in range(3)]
    for response in pending:
        triage_response(response.id)
    live = owners()
    assert [live[response.id] for response in pending] == [third.id, second.id, third.id]
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == pending[0].id))
    assert (item.team_id, item.routing_rule_id) == (team.id, rule.id)
    assert "delegated by Agent 0" in item.events[-1].body


def test_an_away_owner_with_nobody_to_cover_keeps_new_items(app):
    """The fallback owner is away and so is Omar, who covers for her; then Omar leaves: she keeps the new
    items and sees them on return, and the timeline says the fallback took them."""
    admin = make_user("admin@example.com", name="Alex", role="admin")
    omar = make_user("omar@example.com", name="Omar")
    handover.set_away(admin, utcnow() + timedelta(days=7), omar.id)
    handover.set_away(omar, utcnow() + timedelta(days=3), admin.id)
    triage_response(pending_response("ann@customer.example").id)
    handover.deactivate_user(omar, admin)
    db.session.commit()
    triage_response(pending_response("bob@customer.example").id)
    assert set(owners().values()) == {admin.id}
    assert [[(event.kind, event.body, event.data) for event in item.events] for item in db.session.scalars(
        select(FeedbackItem))] == [[("created", "Opened with priority P1.", {}),
                                    ("assigned", "Assigned to Alex by fallback owner.", {"owner_id": admin.id})]] * 2


# Fairness and the dry run

def test_round_robin_is_fair_over_a_thousand_items(app):
    make_user("admin@example.com", role="admin")
    members, team = support_team(7)
    rules = [RuleSpec(id=1, name="Support", position=1, conditions={}, action="team", team_id=team.id)]
    facts = [RoutingFacts(survey_id=1, score=2, band="negative", sentiment="negative", priority="P2")] * 1000
    counts = Counter(decision.owner_id for decision in simulate(rules, facts, routing.snapshot()))
    assert set(counts) == {member.id for member in members} and max(counts.values()) - min(counts.values()) <= 1


def test_least_loaded_gives_each_new_item_to_the_member_with_fewest_open_items(app):
    """Live routing, not just the helper: closed items do not count as load, waiting ones do, ties go
    to the earlier member; neither the first member nor a rotation would give this order."""
    from vocloop.items import service as items

    admin = make_user("admin@example.com", role="admin")
    (first, second, third), team = support_team(3)
    survey = make_survey()

    def route_to(user, count, then=None):
        rule = routing.create_rule(name=f"to {user.name}", action="user", user_id=user.id, position=1)
        for index in range(count):
            triage_response(pending_response(f"{user.id}-{index}@customer.example", survey=survey).id)
        routing.update_rule(rule, enabled=False)
        for item in db.session.scalars(select(FeedbackItem).where(FeedbackItem.owner_id == user.id)):
            if then == "close" or (then == "close some" and item.id % 2):
                items.close_without_message(admin, item, "duplicate")
            elif then == "wait":
                items.set_status(admin, item, "waiting")

    route_to(first, 4, then="close some")  # two open, two closed
    route_to(second, 4, then="close")       # none open, four closed
    route_to(third, 1, then="wait")         # one open, waiting on the customer
    open_load = dict(db.session.execute(select(FeedbackItem.owner_id, func.count())
                                        .where(FeedbackItem.status != "closed").group_by(FeedbackItem.owner_id)).all())
    assert open_load == {first.id: 2, third.id: 1}
    routing.create_rule(name="Support, least loaded", action="team", team_id=team.id,
                        team_strategy="least_loaded", position=2)
    new = [pending_response(f"new{index}@customer.example", survey=survey) for index in range(4)]
    for response in new:
        triage_response(response.id)
    live = owners()
    assert [live[response.id] for response in new] == [second.id, second.id, third.id, first.id]


def test_a_rule_for_a_deactivated_user_passes_the_item_to_the_next_rule(app):
    """Dana left: her rule stays, and new answers go on to the next rule, Omar's, which the item and its
    timeline name."""
    admin = make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id, position=1)
    omars = routing.create_rule(name="to Omar", action="user", user_id=omar.id, position=2)
    handover.deactivate_user(dana, admin)
    db.session.commit()
    triage_response(pending_response("ann@customer.example").id)
    item = db.session.scalar(select(FeedbackItem))
    assert (item.owner_id, item.routing_rule_id) == (omar.id, omars.id)
    assert "by rule “to Omar”" in item.events[-1].body


def test_an_account_owner_rule_routes_to_the_owner_and_an_account_without_one_to_the_next_rule(app):
    """BigCo's answers go to Sam, its account owner, and the timeline says so; SmallCo has no owner and
    Tiny Ltd's left, so theirs go on to the next rule's Omar."""
    admin = make_user("admin@example.com", role="admin")
    sam, omar, lee = (make_user(f"{name.lower()}@example.com", name=name) for name in ("Sam", "Omar", "Lee"))
    big, small, tiny = (make_contact(f"ann@{name}.example", account=name) for name in ("BigCo", "SmallCo", "Tiny"))
    big.account.owner_id, tiny.account.owner_id = sam.id, lee.id
    db.session.commit()
    handover.deactivate_user(lee, admin)
    db.session.commit()
    owners_rule = routing.create_rule(name="key accounts", action="account_owner", position=1)
    omars = routing.create_rule(name="to Omar", action="user", user_id=omar.id, position=2)
    survey = make_survey()
    for contact in (big, small, tiny):
        token = make_invitation(survey, contact)
        triage_response(responses.submit_comment(token, "2", "Nothing works"))
    routed = {item.contact_id: item for item in db.session.scalars(select(FeedbackItem))}
    assert (routed[big.id].owner_id, routed[big.id].routing_rule_id) == (sam.id, owners_rule.id)
    assert "by rule “key accounts”: account owner" in routed[big.id].events[-1].body
    assert [(routed[c.id].owner_id, routed[c.id].routing_rule_id) for c in (small, tiny)] == [(omar.id, omars.id)] * 2


def test_the_dry_run_predicts_least_loaded_as_live_routing_then_does_from_uneven_loads(app):
    """Agent 0 already has two open items, agents 1 and 2 none: seven unhappy answers to the least-loaded
    team go to agents 1, 2, 1, 2, then to each in turn, in the prediction as live; each item names the
    team's rule."""
    make_user("admin@example.com", role="admin")
    (first, second, third), team = support_team(3)
    survey = make_survey()
    rule = routing.create_rule(name="to Agent 0", action="user", user_id=first.id, position=1)
    for index in range(2):
        triage_response(pending_response(f"early{index}@customer.example", survey=survey).id)
    routing.delete_rule(rule)
    spec = RuleSpec(id=-1, name="Support", position=1, conditions={}, action="team", team_id=team.id,
                    team_strategy="least_loaded")
    pending = [pending_response(f"c{i}@customer.example", survey=survey) for i in range(7)]
    facts = [RoutingFacts(survey_id=survey.id, score=2, band="negative", sentiment="negative", priority="P2")] * 7
    predicted = [decision.owner_id for decision in simulate([spec], facts, routing.snapshot())]
    assert predicted[:4] == [second.id, third.id, second.id, third.id]
    in_force = routing.create_rule(name=spec.name, action="team", team_id=team.id, team_strategy="least_loaded")
    for response in pending:
        triage_response(response.id)
    live = owners()
    assert [live[response.id] for response in pending] == predicted
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == pending[0].id))
    assert item.routing_rule_id == in_force.id and "by rule “Support”: team Support" in item.events[-1].body


def test_a_dry_run_of_the_rules_in_force_moves_nothing(app):
    """Both sides of a dry run start from today's state: the same rules predict the same owners."""
    make_user("admin@example.com", role="admin")
    members, team = support_team(2)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    for index in range(3):
        triage_response(pending_response(f"c{index}@customer.example").id)
    in_force = routing.specs_of(list(db.session.scalars(select(RoutingRule))))
    result = routing.dry_run(in_force)
    assert result["items"] == 3 and result["changed"] == 0
    assert result["current"] == result["proposed"] and sorted(result["current"].values()) == [1, 2]


def test_a_dry_run_sending_one_person_s_items_to_another_shows_each_item_moving(app):
    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    for index in range(3):
        triage_response(pending_response(f"c{index}@customer.example").id)
    result = routing.dry_run([RuleSpec(id=-1, name="to Omar", position=1, conditions={}, action="user",
                                       user_id=omar.id)])
    assert result["changed"] == 3 and result["current"] == {"Dana": 3} and result["proposed"] == {"Omar": 3}
    assert [(s["current_owner"], s["proposed_owner"]) for s in result["samples"]] == [("Dana", "Omar")] * 3


def test_a_dry_run_for_one_surveys_low_scores_moves_those_items_only_and_names_each_one(app):
    """The dry run replays each item on its own survey and score: a rule for the App survey's 0 to 3
    moves its 2, not its 5 nor the Web survey's 2, and the example names the item and the rule."""
    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    app_survey, web_survey = make_survey(name="App"), make_survey(name="Web")
    moving = pending_response("a@customer.example", score=2, survey=app_survey)
    pending_response("b@customer.example", score=5, survey=app_survey)
    pending_response("c@customer.example", score=2, survey=web_survey)
    for response in db.session.scalars(select(Response)).all():
        triage_response(response.id)
    result = routing.dry_run([
        RuleSpec(id=-1, name="App detractors", position=1, conditions={"survey_ids": [app_survey.id], "score_max": 3},
                 action="user", user_id=omar.id),
        RuleSpec(id=-2, name="the rest", position=2, conditions={}, action="user", user_id=dana.id)])
    item_id = db.session.scalar(select(FeedbackItem.id).where(FeedbackItem.response_id == moving.id))
    assert result["changed"] == 1 and result["proposed"] == {"Dana": 2, "Omar": 1}
    [sample] = result["samples"]
    assert sample == {"item_id": item_id, "current_owner": "Dana", "proposed_owner": "Omar",
                      "proposed_reason": sample["proposed_reason"]} and "App detractors" in sample["proposed_reason"]


def test_a_dry_run_replays_each_item_on_its_customers_account_language_and_attributes_and_its_triage(app):
    """A proposed rule for Northwind's enterprise customers in German, on the sentiment, priority and
    urgency their item was triaged with, takes that item in the dry run, and no other customer's."""
    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    jonas = make_contact("jonas@northwind.example", account="Northwind")
    jonas.language, jonas.attributes = "de-CH", {"plan": "enterprise"}
    db.session.commit()
    survey = make_survey()
    theirs = db.session.get(Response, responses.submit_comment(make_invitation(survey, jonas), "2",
                                                                "Nothing works, we are cancelling our plan."))
    triage_response(theirs.id)
    triage_response(pending_response("ann@customer.example", survey=survey).id)
    db.session.refresh(theirs)
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == theirs.id))
    assert theirs.urgent  # the churn words
    conditions = {"account_ids": [jonas.account_id], "languages": ["de"], "attributes": {"plan": "enterprise"},
                  "sentiments": [theirs.sentiment_label], "priorities": [item.priority], "urgent": theirs.urgent}
    result = routing.dry_run([RuleSpec(id=-1, name="Northwind", position=1, conditions=conditions, action="user",
                                       user_id=omar.id),
                              RuleSpec(id=-2, name="the rest", position=2, conditions={}, action="user",
                                       user_id=dana.id)])
    assert result["changed"] == 1 and [s["item_id"] for s in result["samples"]] == [item.id]


def test_the_dry_run_predicts_exactly_what_the_live_rules_then_do(app):
    make_user("admin@example.com", role="admin")
    members, team = support_team(3)
    billing = make_user("bill@example.com", name="Bill")
    survey = make_survey()
    pending = [pending_response(f"c{i}@customer.example", score=i % 11, survey=survey,
                                comment=["Invoice wrong", "Slow support", "Great!", "The app crashes"][i % 4])
               for i in range(24)]
    proposed = [RuleSpec(id=-1, name="billing", position=1, conditions={"topics": ["billing"]}, action="user",
                         user_id=billing.id),
                RuleSpec(id=-2, name="unhappy", position=2, conditions={"bands": ["negative"]}, action="team",
                         team_id=team.id, team_strategy="least_loaded"),
                RuleSpec(id=-3, name="rest", position=3, conditions={}, action="team", team_id=team.id)]
    kind = get_kind(survey.kind)
    facts = []
    for response in pending:
        result = classify(kind, response.score, response.comment)
        facts.append(RoutingFacts(survey_id=survey.id, score=response.score, band=kind.band(response.score),
                                  sentiment=result.label, priority=result.priority, account_id=None,
                                  topics=tuple(result.topics)))
    predicted = [decision.owner_id for decision in simulate(proposed, facts, routing.snapshot())]
    for spec in proposed:
        routing.create_rule(name=spec.name, action=spec.action, conditions=spec.conditions, user_id=spec.user_id,
                            team_id=spec.team_id, team_strategy=spec.team_strategy, position=spec.position)
    for response in pending:
        triage_response(response.id)
    live = owners()
    assert [live[response.id] for response in pending] == predicted
    assert billing.id in predicted and len(set(predicted)) == 4


def test_a_rule_saved_paused_routes_nothing_until_it_is_switched_on(app, client):
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana")
    headers = api_token(admin)
    rule = client.post("/api/v1/routing-rules", headers=headers,
                       json={"name": "to Dana", "action": "user", "user_id": dana.id, "enabled": False})
    assert rule.status_code == 201 and rule.json["enabled"] is False
    first = pending_response("ann@customer.example")
    triage_response(first.id)
    assert owners()[first.id] == admin.id  # the fallback: the paused rule is not tried
    assert client.patch(f"/api/v1/routing-rules/{rule.json['id']}", headers=headers,
                        json={"enabled": True}).status_code == 200
    second = pending_response("bob@customer.example")
    triage_response(second.id)
    assert owners()[second.id] == dana.id


def test_a_rule_for_a_person_or_a_team_that_names_none_is_refused_saying_what_it_needs(app, client):
    """A rule "to a person" that names nobody is refused, not saved to route to nobody (whichever users
    exist); the same for a team."""
    admin = make_user("admin@example.com", role="admin")
    members, team = support_team(1)
    headers = api_token(admin)
    for action, target in (("user", "user_id of an existing user"), ("team", "team_id of an existing team")):
        refused = client.post("/api/v1/routing-rules", headers=headers, json={"name": "nobody", "action": action})
        assert refused.status_code == 404 and refused.json["detail"] == f"action '{action}' needs {target}"
    assert client.get("/api/v1/routing-rules", headers=headers).json == [] and members


def test_a_rule_changed_from_a_person_to_a_team_no_longer_names_the_person(app, client):
    admin = make_user("admin@example.com", role="admin")
    members, team = support_team(1)
    headers = api_token(admin)
    rule = client.post("/api/v1/routing-rules", headers=headers,
                       json={"name": "to Agent 0", "action": "user", "user_id": members[0].id}).json
    changed = client.patch(f"/api/v1/routing-rules/{rule['id']}", headers=headers,
                           json={"action": "team", "team_id": team.id})
    assert changed.status_code == 200 and (changed.json["user_id"], changed.json["team_id"]) == (None, team.id)


def test_the_dry_run_api_compares_proposed_rules_with_the_rules_in_force(app, client):
    admin = make_user("admin@example.com", role="admin")
    members, team = support_team(2)
    for index in range(5):
        triage_response(pending_response(f"c{index}@customer.example").id)  # all to the fallback admin
    headers = api_token(admin)
    result = client.post("/api/v1/routing-rules/dry-run", headers=headers, json={
        "days": 7, "rules": [{"name": "Support", "action": "team", "team_id": team.id}]})
    assert result.status_code == 200
    body = result.json
    assert body["items"] == 5 and body["changed"] == 5 and body["current"] == {admin.name: 5}
    assert sorted(body["proposed"].values()) == [2, 3] and len(body["samples"]) == 5
    assert owners() and set(owners().values()) == {admin.id}  # nothing was saved
    bad = client.post("/api/v1/routing-rules/dry-run", headers=headers,
                      json={"rules": [{"name": "x", "action": "user", "conditions": {"mood": 1}}]})
    assert bad.status_code == 422


def test_rules_can_be_listed_changed_and_deleted(app, client):
    admin = make_user("admin@example.com", role="admin")
    members, team = support_team(1)
    headers = api_token(admin)
    rule = client.post("/api/v1/routing-rules", headers=headers, json={
        "name": "Support", "action": "team", "team_id": team.id, "position": 20}).json
    client.post("/api/v1/routing-rules", headers=headers, json={
        "name": "Admin first", "action": "user", "user_id": admin.id, "position": 10})
    assert [r["name"] for r in client.get("/api/v1/routing-rules", headers=headers).json] == ["Admin first",
                                                                                               "Support"]
    moved = client.patch(f"/api/v1/routing-rules/{rule['id']}", headers=headers, json={"position": 5})
    assert moved.status_code == 200 and moved.json["position"] == 5
    assert client.patch(f"/api/v1/routing-rules/{rule['id']}", headers=headers,
                        json={"action": "user", "user_id": 99999}).status_code == 404
    assert client.delete(f"/api/v1/routing-rules/{rule['id']}", headers=headers).status_code == 204
    assert len(client.get("/api/v1/routing-rules", headers=headers).json) == 1
    owner_headers = api_token(members[0])
    assert client.get("/api/v1/routing-rules", headers=owner_headers).status_code == 403


# Races (PostgreSQL: SQLite serializes writers and has no row locks)

needs_postgresql = pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks are PostgreSQL's")


def _in_thread(app, function, *args):
    def run():
        with app.app_context():
            try:
                function(*args)
            finally:
                db.session.remove()
    return threading.Thread(target=run)


@needs_postgresql
def test_workers_routing_at_once_keep_one_item_per_response_and_a_fair_rotation(app):
    make_user("admin@example.com", role="admin")
    members, team = support_team(4)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    pending = [pending_response(f"c{i}@customer.example").id for i in range(80)]
    start = threading.Barrier(4)

    def work(ids):
        start.wait()
        for response_id in ids:
            triage_response(response_id)
            triage_response(response_id)  # a duplicate job: must change nothing

    threads = [_in_thread(app, work, pending[offset::4]) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = owners()
    assert len(result) == 80 and db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 80
    assert sorted(Counter(result.values()).values()) == [20, 20, 20, 20]


@needs_postgresql
def test_a_user_deactivated_while_items_are_being_routed_to_them_ends_up_owning_none(app):
    make_user("admin@example.com", role="admin")
    members, team = support_team(3)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    pending = [pending_response(f"c{i}@customer.example").id for i in range(60)]
    leaving_id = members[1].id
    router = _in_thread(app, lambda ids: [triage_response(i) for i in ids], pending)
    router.start()
    while len(owners()) < 10:
        pass
    deactivate = _in_thread(app, lambda: handover.deactivate_user(db.session.get(User, leaving_id), None))
    deactivate.start()
    router.join()
    deactivate.join()
    result = owners()
    assert len(result) == 60 and leaving_id not in result.values()


@needs_postgresql
def test_an_owner_deactivated_after_routing_chose_them_does_not_get_the_item(app):
    """Routing read Dana as active and chose her; her deactivation committed before the item was
    recorded as hers. The item goes to the next rule, Omar's, as if she had left a moment earlier."""
    from sqlalchemy import event, update

    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id, position=1)
    omars = routing.create_rule(name="to Omar", action="user", user_id=omar.id, position=2)
    response_id, dana_id = pending_response("ann@customer.example").id, dana.id
    db.session.commit()
    left = []

    def dana_leaves_first(conn, cursor, statement, parameters, context, executemany):
        if "FOR SHARE" in statement and "users.active" in statement and not left:
            left.append(statement)  # routing has decided; it now checks its choice is still active
            with db.engine.connect() as other:
                other.execute(update(User).where(User.id == dana_id).values(active=False))
                other.commit()

    event.listen(db.engine, "before_cursor_execute", dana_leaves_first)
    try:
        triage_response(response_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", dana_leaves_first)
    assert left
    item = db.session.scalar(select(FeedbackItem))
    assert (item.owner_id, item.routing_rule_id) == (omar.id, omars.id)


def test_users_set_their_own_time_off_and_notifications_on_the_settings_page(app, client):
    from tests.factories import csrf_from, login
    make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    login(client, "dana@example.com")
    token = csrf_from(client.get("/settings/").get_data(as_text=True))
    refused = client.post("/settings/", data={"csrf_token": token, "away_until": "2099-01-31"})
    assert "needs a delegate" in refused.get_data(as_text=True)
    saved = client.post("/settings/", data={"csrf_token": token, "notify_new_items": "digest",
                                            "away_until": "2099-01-31", "delegate_id": str(omar.id)})
    assert saved.status_code == 303
    db.session.rollback()
    dana = db.session.get(User, dana.id)
    assert dana.notify_new_items == "digest" and dana.delegate_id == omar.id and dana.away_until.year == 2099


def test_the_cli_deactivates_a_user_after_handing_over(app):
    make_user("admin@example.com", role="admin")
    members, team = support_team(2)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    for index in range(4):
        triage_response(pending_response(f"c{index}@customer.example").id)
    result = app.test_cli_runner().invoke(args=["deactivate-user", members[0].email])
    assert result.exit_code == 0 and "2 open item(s) handed over" in result.output
    assert set(owners().values()) == {members[1].id}


def test_deactivation_hands_over_only_open_items_a_closed_one_stays_with_who_closed_it(app):
    """Agent 0 closed one of her two items: that loop is her work, in the metrics by owner and on its
    timeline, so only the open one moves and the count she is told is one."""
    from vocloop.items import service as items

    make_user("admin@example.com", role="admin")
    members, team = support_team(2)
    routing.create_rule(name="Support", action="team", team_id=team.id)
    for index in range(4):
        triage_response(pending_response(f"c{index}@customer.example").id)
    closed, still_open = db.session.scalars(select(FeedbackItem).where(FeedbackItem.owner_id == members[0].id)
                                            .order_by(FeedbackItem.id)).all()
    items.close_without_message(members[0], closed, "duplicate")
    result = app.test_cli_runner().invoke(args=["deactivate-user", members[0].email])
    assert result.output == "Deactivated agent0@example.com; 1 open item(s) handed over.\n"
    closed, still_open = db.session.get(FeedbackItem, closed.id), db.session.get(FeedbackItem, still_open.id)
    assert (closed.owner_id, still_open.owner_id) == (members[0].id, members[1].id)
    assert [event.kind for event in closed.events if event.kind == "reassigned"] == []
