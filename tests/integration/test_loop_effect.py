"""Does closing the loop pay? The loop effect and the revenue at risk, from a history made the way it
happens (customers answering through their links, owners closing in each way, the provider accepting
the closing messages, customers answering again), checked against figures computed by hand."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_invitation, make_survey, make_user
from vocloop.contacts import service as contacts
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.items.verdict_links import serializer
from vocloop.items.verification import record_verdict
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.metrics.effect import mean_interval, t95


def test_student_t_matches_the_tables():
    assert t95(1) == 12.706 and t95(30) == 2.042
    assert abs(t95(40) - 2.021) < 0.001 and abs(t95(120) - 1.980) < 0.001
    mean, low, high = mean_interval([70.0, 50.0])  # sd 14.142, n 2: half-width 12.706 * 14.142 / 1.414
    assert mean == 60.0 and round(low, 2) == -67.06 and round(high, 2) == 187.06


@pytest.fixture
def history(app, client, drain, sendgrid):
    """Five NPS customers whose answers opened items, each loop ending differently, four answering again."""
    admin = make_user("admin@example.com", name="Alex Admin", role="admin")
    survey = make_survey(quarantine_days=0, open_items_for="negative")
    people = {}
    for name, score, value in [("ann", 2, 50_000), ("bob", 3, 20_000), ("cat", 1, 7_000), ("dan", 4, 3_000),
                               ("eve", 0, 11_000)]:
        contact = contacts.create_contact(email=f"{name}@customer.example", name=name.title(),
                                          account_name=f"{name.title()} Co", account_annual_value=value)
        db.session.commit()
        answer(client, make_invitation(survey, contact), score, f"{name} is unhappy")
        people[name] = contact
    drain()
    item_of = {name: db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == contact.id))
               for name, contact in people.items()}
    items.close_with_message(admin, item_of["ann"], "Hi Ann, fixed.")
    items.close_with_message(admin, item_of["bob"], "Hi Bob, fixed.")
    items.close_without_message(admin, item_of["cat"], "no_action_needed")
    db.session.commit()
    drain()
    deliver_messages(outbox.take_queued_ids())
    drain()
    record_verdict(serializer().dumps(item_of["ann"].id), "yes")
    db.session.commit()
    time.sleep(1.1)  # the next answers come after the loops ended (timestamps have second precision)
    for name, score in [("ann", 9), ("bob", 8), ("cat", 1), ("dan", 3)]:  # eve does not answer again
        answer(client, make_invitation(survey, people[name]), score, "again")
    # eve is asked again and does not answer; a mail scanner fetches her link's 10: not her answer
    assert client.get(f"/s/{make_invitation(survey, people['eve'])}?score=10").status_code == 200
    drain()
    return admin, item_of


def test_the_loop_effect_by_how_the_loop_ended(app, client, history):
    admin, item_of = history
    assert item_of["ann"].loop_closed_at is not None  # the provider accepted: the loop is closed
    figures = client.get("/api/v1/metrics/loop-effect", headers=api_token(admin)).json
    assert figures["items"] == 7 and figures["answered_again"] == 4  # cat's 1 and dan's 3 opened items again
    outcomes = {group["key"]: group for group in figures["outcomes"]}
    closed = outcomes["closed_in_sla"]  # ann 2 -> 9 (+7 = 70 of 100), bob 3 -> 8 (+5 = 50)
    assert (closed["customers"], closed["mean_change"]) == (2, 60.0)
    assert (closed["ci_low"], closed["ci_high"]) == (-67.06, 100.0)  # t says 187.06: no mean of changes reaches it
    assert closed["mean_change_points"] == 6.0 and closed["survey_kind"] == "nps" and closed["enough"] is False
    assert "Too few customers" in closed["conclusion"]
    silent = outcomes["closed_without_message"]
    assert (silent["customers"], silent["mean_change"]) == (1, 0.0)
    assert (outcomes["not_closed"]["customers"], outcomes["not_closed"]["mean_change"]) == (1, -10.0)  # dan 4 -> 3
    assert outcomes["not_closed"]["ci_low"] is None  # one customer: no interval
    assert outcomes["closed_late"]["customers"] == 0 and outcomes["closed_late"]["mean_change"] is None
    verdicts = {group["key"]: group for group in figures["verdicts"]}
    assert verdicts["resolved"]["customers"] == 1 and verdicts["resolved"]["mean_change"] == 70.0
    next_survey = {group["key"]: group for group in figures["next_survey"]}
    assert next_survey["closed"] == {**next_survey["closed"], "asked_again": 2, "answered": 2, "response_rate": 1.0}
    # cat (closed without a message) and dan answered; eve was asked and did not: 2 of 3
    assert next_survey["not_closed"] == {**next_survey["not_closed"], "asked_again": 3, "answered": 2,
                                         "response_rate": 0.667}


def test_revenue_at_risk_and_saved(app, client, history):
    admin, item_of = history
    figures = client.get("/api/v1/metrics/revenue-at-risk", headers=api_token(admin)).json
    # open detractor items: dan's two (4, then 3: his account once), eve's, and cat's new one (1);
    # ann and bob were saved (their loops closed), cat's first item was closed without a message
    assert (figures["at_risk"], figures["accounts_at_risk"]) == (3_000 + 11_000 + 7_000, 3)
    assert (figures["saved"], figures["accounts_saved"]) == (50_000 + 20_000, 2)
    assert [account["account"] for account in figures["accounts"]] == ["Dan Co", "Eve Co", "Cat Co"]  # oldest first
    assert figures["accounts"][0]["open_items"] == 2
    assert figures["by_owner"] == [{"key": item_of["dan"].owner_id, "label": figures["by_owner"][0]["label"],
                                    "at_risk": 21_000, "accounts": 3}]


def test_a_lead_sees_only_their_teams(app, client, history):
    lead = make_user("lee@example.com", role="lead", team="Elsewhere")
    figures = client.get("/api/v1/metrics/revenue-at-risk", headers=api_token(lead)).json
    assert figures["at_risk"] == 0 and figures["accounts"] == []
    assert client.get("/api/v1/metrics/loop-effect", headers=api_token(lead)).json["items"] == 0
    owner = make_user("olly@example.com")
    assert client.get("/api/v1/metrics/loop-effect", headers=api_token(owner)).status_code == 403


def test_the_page_and_its_csvs_say_what_the_api_says(app, client, history):
    admin, item_of = history
    api = client.get("/api/v1/metrics/loop-effect", headers=api_token(admin)).json
    risk = client.get("/api/v1/metrics/revenue-at-risk", headers=api_token(admin)).json
    login(client, "admin@example.com")
    assert "/metrics/effect" in client.get("/metrics/").get_data(as_text=True)  # the dashboard links to it
    html = client.get("/metrics/effect").get_data(as_text=True)
    assert "Does closing the loop pay?" in html and "+60.0" in html and "(-67.1 to +100.0)" in html
    assert 'aria-labelledby="effect-title"' in html and html.count("<circle") == 4  # a dot per group with answers
    assert "Too few customers answered again (2 of at least 10)" in html
    assert "21,000" in html and "70,000" in html and ">Dan Co<" in html
    assert "an account counts in every group one of its open detractor items belongs to" in html  # sums differ
    rows = list(csv.DictReader(io.StringIO(client.get("/metrics/loop-effect.csv").get_data(as_text=True))))
    assert [(row["key"], int(row["customers"]), row["mean_change"]) for row in rows] == [
        (group["key"], group["customers"], "" if group["mean_change"] is None else str(group["mean_change"]))
        for group in api["outcomes"] + api["verdicts"]]
    accounts = list(csv.DictReader(io.StringIO(client.get("/metrics/revenue-accounts.csv").get_data(as_text=True))))
    assert [(row["account"], int(row["annual_value"])) for row in accounts] == [
        (account["account"], account["annual_value"]) for account in risk["accounts"]]


def test_the_weekly_email_says_whether_closing_the_loop_pays_and_can_be_turned_off(app, client, history):
    from vocloop.mail.models import Message
    from vocloop.metrics.digest import send_weekly_digests

    admin, item_of = history
    lead = make_user("lee@example.com", role="lead", name="Lee", team="Elsewhere")
    next_week = datetime.now(UTC) + timedelta(days=7)
    assert send_weekly_digests(next_week) == 2
    [email] = db.session.scalars(select(Message).where(Message.to_email == "admin@example.com",
                                                       Message.idempotency_key.like("digest:metrics:%")))
    assert "Closed with a message within SLA: +60.0 (2 customers" in email.text
    assert "Revenue at risk now: 21,000 (3 accounts)" in email.text
    assert "Does closing the loop pay?" in email.html and "turn it off on your Settings page" in email.html
    login(client, "lee@example.com")
    page = client.get("/settings/").get_data(as_text=True)
    assert 'name="weekly_digest"' in page
    client.post("/settings/", data={"csrf_token": csrf_from(page), "notify_new_items": "immediate"})
    db.session.rollback()
    assert db.session.get(type(lead), lead.id).weekly_digest is False
    assert send_weekly_digests(next_week + timedelta(days=7)) == 1  # the admin only
    response = client.patch(f"/api/v1/users/{admin.id}", headers=api_token(admin), json={"weekly_digest": False})
    assert response.status_code == 200 and response.json["weekly_digest"] is False
    assert send_weekly_digests(next_week + timedelta(days=14)) == 0
