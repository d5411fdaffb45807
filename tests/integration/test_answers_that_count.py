"""Answers that count: a score that no person gave (a mail scanner fetching the email's links) is
in no metric, opens no item, suppresses no reminder and does not block the person's own answer;
a person's answer counts at once when they show themselves, else when the settle window passes."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from tests.factories import answer, make_contact, make_invitation, make_survey, make_user
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.jobs.tasks import sweep
from vocloop.responses import counting, scanners
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
PERSON = {"User-Agent": BROWSER}
SAME_PAGE = {"Sec-Fetch-Site": "same-origin", "User-Agent": BROWSER}


def invited(email="ann@customer.example", sent_seconds_ago: float | None = 3):
    """An invitation whose email went out `sent_seconds_ago` (None: long ago)."""
    from vocloop.accounts.models import User
    if db.session.scalar(select(User.id).limit(1)) is None:
        make_user("admin@example.com", role="admin")
    survey = db.session.scalar(select(Invitation.survey_id).limit(1))
    from vocloop.surveys.models import Survey
    survey = db.session.get(Survey, survey) if survey else make_survey("nps", name="Quarterly NPS")
    token = make_invitation(survey, make_contact(email, name="Ann"))
    sent = utcnow() - timedelta(seconds=sent_seconds_ago if sent_seconds_ago is not None else 86400)
    db.session.execute(update(Invitation).where(Invitation.sent_at.is_(None)).values(sent_at=sent, status="delivered"))
    db.session.commit()
    return token


def the_answer() -> Response:
    """The first answer (on PostgreSQL rows come back in no set order without ORDER BY)."""
    db.session.rollback()
    return db.session.scalar(select(Response).order_by(Response.id))


def settle(seconds: float = 601):
    """Time passes beyond the settle window, then the clock's sweep runs."""
    db.session.rollback()
    for response in db.session.scalars(select(Response)):
        response.answered_at -= timedelta(seconds=seconds)
    for invitation in db.session.scalars(select(Invitation)):
        invitation.sent_at = invitation.sent_at and invitation.sent_at - timedelta(seconds=seconds)
        invitation.head_at = invitation.head_at and invitation.head_at - timedelta(seconds=seconds)
    db.session.commit()
    return sweep()


def nps() -> list[dict]:
    from vocloop.metrics.queries import survey_scores
    now = utcnow()
    return survey_scores(now - timedelta(days=1), now + timedelta(days=1))


def test_a_scanner_fetching_every_score_link_at_delivery_counts_nowhere(app, client, drain):
    token = invited()
    for score in range(11):  # what Safe Links does: every link, within seconds, with a browser's User-Agent
        client.head(f"/s/{token}?score={score}", headers=PERSON)
        assert client.get(f"/s/{token}?score={score}", headers=PERSON).status_code == 200
    response = the_answer()
    assert response.status == "pending" and response.completed_at is None
    assert {"all_links", "at_delivery", "head_first"} <= set(scanners.describe(response.signals))
    assert settle()["suspected"] == 1
    settle(3600)  # past the comment grace as well: still nothing to handle
    drain()
    response = the_answer()
    assert response.status == "suspected" and "no_interaction" in scanners.describe(response.signals)
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 0
    assert db.session.scalar(select(Invitation.answered_at)) is None  # the reminder still goes
    assert nps() == []  # no NPS, no response rate, no sentiment from it


def test_the_persons_later_click_replaces_a_scanners_and_counts(app, client, drain):
    token = invited()
    client.get(f"/s/{token}?score=10", headers=PERSON)  # a scanner at delivery
    settle()
    assert the_answer().status == "suspected"
    page = client.get(f"/s/{token}?score=3", headers=PERSON)  # an hour later, the person
    assert page.status_code == 200 and "Your score of 3 is saved" in page.get_data(as_text=True)
    response = the_answer()
    assert (response.score, response.status, response.signals) == (3, "pending", 0)
    settle()
    response = the_answer()
    assert response.status == "counted" and response.counted_by == "settled" and response.score == 3
    [row] = nps()
    assert row["responses"] == 1 and row["score"] == -100.0 and row["invitations_answered"] == 1


def test_a_persons_click_counts_only_once_the_settle_window_has_passed(app, client):
    token = invited(sent_seconds_ago=None)  # the email went out yesterday; the person clicks today
    client.get(f"/s/{token}?score=8", headers=PERSON)
    assert counting.settle_answers() == {"counted": 0, "suspected": 0}  # the sweep a minute later: too soon
    assert the_answer().status == "pending" and nps() == []
    # Bob clicked an hour ago: the same sweep counts his answer and still leaves Ann's alone.
    client.get(f"/s/{invited('bob@customer.example', sent_seconds_ago=None)}?score=9", headers=PERSON)
    bob = db.session.scalar(select(Response).order_by(Response.id.desc()))
    bob.answered_at -= timedelta(hours=1)
    db.session.commit()
    assert counting.settle_answers() == {"counted": 1, "suspected": 0}
    assert the_answer().status == "pending"
    assert db.session.get(Response, bob.id).counted_at is not None
    # Only Bob's invitation is answered: Ann's still gets its reminder and is not in the response rate yet.
    assert db.session.scalar(select(Invitation.answered_at).where(Invitation.id == the_answer().invitation_id)) is None
    settle()
    response = the_answer()
    assert (response.status, response.counted_by) == ("counted", "settled") and nps()[0]["responses"] == 2


def test_a_comment_or_a_persons_input_on_the_page_counts_at_once(app, client):
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=8", headers=PERSON)
    html = client.get(f"/s/{token}", headers=PERSON).get_data(as_text=True)
    assert 'data-seen="/s/' in html and "answer.js" in html  # the beacon, until the answer counts
    assert client.post(f"/s/{token}/seen", data={"score": "7"}, headers=SAME_PAGE).status_code == 204
    assert the_answer().status == "pending"  # the page showed another score than the one recorded
    assert client.post(f"/s/{token}/seen", data={"score": "8"}, headers=SAME_PAGE).status_code == 204
    response = the_answer()
    assert response.status == "counted" and response.counted_by == "interaction"
    assert "answer.js" not in client.get(f"/s/{token}", headers=PERSON).get_data(as_text=True)
    other = invited("ben@customer.example", sent_seconds_ago=None)
    client.get(f"/s/{other}?score=2", headers=PERSON)
    answer(client, other, 2, "Too slow")
    counted = db.session.scalar(select(Response).where(Response.score == 2))
    assert counted.status == "counted" and counted.counted_by == "comment" and counted.counted_at is not None
    # Each answer marks its own invitation answered, when it counted; Cy, who has not answered, keeps his reminder.
    cy = invited("cy@customer.example", sent_seconds_ago=None)
    answer(client, invited("dee@customer.example", sent_seconds_ago=None), 9, "Quick and kind")
    answered = dict(db.session.execute(select(Invitation.id, Invitation.answered_at)).all())
    assert answered[counted.invitation_id] is not None and answered[response.invitation_id] is not None
    assert db.session.scalar(select(Invitation.answered_at).join(Response.invitation)
                             .where(Response.comment == "Quick and kind")) is not None
    assert cy and sum(1 for at in answered.values() if at is None) == 1


def test_a_comment_sent_without_a_click_counts_by_it_and_answers_the_invitation(app, client):
    """The answer page opened without a score, then the form sent: the form alone records the answer."""
    token = invited(sent_seconds_ago=None)
    assert client.post(f"/s/{token}", data={"score": "6", "comment": "Too slow"}, headers=PERSON).status_code == 303
    response = the_answer()
    assert (response.score, response.status, response.counted_by) == (6, "counted", "comment")
    assert response.counted_at is not None and db.session.scalar(select(Invitation.answered_at)) is not None


def test_another_sites_page_cannot_count_an_answer(app, client):
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=8", headers=PERSON)
    refused = client.post(f"/s/{token}/seen", data={"score": "8"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and the_answer().status == "pending"


def test_a_click_right_at_delivery_is_asked_once_and_counts_when_confirmed(app, client):
    token = invited(sent_seconds_ago=5)
    html = client.get(f"/s/{token}?score=3", headers=PERSON).get_data(as_text=True)
    assert "Is 3 your answer?" in html and "Yes, 3 is my answer" in html
    # one filled button on the page: the confirmation; "Send" (with a comment) is the outlined one below
    assert re.findall(r'<button type="submit" class="(\w+)">', html) == ["primary", "secondary"]
    done = client.post(f"/s/{token}/confirm", data={"score": "3"}, headers=SAME_PAGE)
    assert done.status_code == 303
    after = client.get(done.headers["Location"], headers=PERSON).get_data(as_text=True)
    assert "Is 3 your answer?" not in after and "Your score of 3 is saved" in after
    assert re.findall(r'<button type="submit" class="(\w+)">', after) == ["primary"]  # Send, once asked no more
    response = the_answer()
    assert response.status == "counted" and response.counted_by == "confirmed"


def test_a_confirmed_answer_clicked_again_with_the_same_score_still_counts(app, client):
    """Ann confirmed "Yes, 3 is my answer" and later opens the email again and clicks 3 once more: her
    answer still counts as she confirmed it, and no sweep sets it aside for the click's signs."""
    token = invited(sent_seconds_ago=5)
    client.get(f"/s/{token}?score=3", headers=PERSON)
    client.post(f"/s/{token}/confirm", data={"score": "3"}, headers=SAME_PAGE)
    confirmed_at = the_answer().counted_at
    page = client.get(f"/s/{token}?score=3", headers=PERSON).get_data(as_text=True)
    assert "Your score of 3 is saved" in page and "Is 3 your answer?" not in page
    response = the_answer()
    assert (response.status, response.counted_by, response.counted_at) == ("counted", "confirmed", confirmed_at)
    settle()
    assert the_answer().status == "counted" and nps()[0]["responses"] == 1


def test_after_a_click_a_write_that_fails_halfway_leaves_nothing(app, client):
    """On PostgreSQL a click is its own transaction on the driver's connection, which then goes back to
    the pool: whoever borrows a connection next still gets a transaction, and a rollback undoes it."""
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=9", headers=PERSON)
    db.session.remove()
    borrowed = [db.engine.connect() for _ in range(db.engine.pool.checkedin())]  # every idle one
    for connection in borrowed:
        connection.execute(update(Invitation).values(status="bounced"))
        connection.rollback()
        connection.close()
    assert db.session.scalar(select(Invitation.status)) == "delivered"


def test_a_known_scanner_network_or_user_agent_is_a_signal(app, client):
    scanners.seed_default_rules()
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=9", headers={"User-Agent": "python-requests/2.32"})
    assert scanners.describe(the_answer().signals) == ["scanner_user_agent"]
    other = invited("ben@customer.example", sent_seconds_ago=None)
    client.get(f"/s/{other}?score=9", headers=PERSON, environ_base={"REMOTE_ADDR": "40.107.22.10"})
    fetched = db.session.scalar(select(Response).where(Response.id != the_answer().id))
    assert scanners.describe(fetched.signals) == ["scanner_network"]


def test_a_head_on_one_customers_link_is_no_sign_against_anothers_click(app, client):
    """Bob's mail gateway sends a HEAD on his link: that is a sign against Bob's email only. Ann,
    whose email went out with his, clicks hers a moment later with nothing held against her."""
    ann, bob = invited(sent_seconds_ago=None), invited("bob@customer.example", sent_seconds_ago=None)
    client.head(f"/s/{bob}?score=10", headers=PERSON)
    client.get(f"/s/{ann}?score=9", headers=PERSON)
    assert scanners.describe(the_answer().signals) == []
    client.get(f"/s/{bob}?score=10", headers=PERSON)
    bobs = db.session.scalar(select(Response).where(Response.score == 10))
    assert scanners.describe(bobs.signals) == ["head_first"]


def test_a_fetch_as_the_reminder_is_delivered_is_a_sign_too(app, client):
    """The email went out a week ago and was never answered; its reminder goes out now, and the
    gateway fetches the reminder's link within seconds, as it did the first email's."""
    from vocloop.security import new_secret_token
    invited(sent_seconds_ago=7 * 86400)
    reminder_token, reminder_hash = new_secret_token()
    db.session.execute(update(Invitation).values(reminder_token_hash=reminder_hash,
                                                 reminded_at=utcnow() - timedelta(seconds=5)))
    db.session.commit()
    client.get(f"/s/{reminder_token}?score=10", headers=PERSON)
    assert scanners.describe(the_answer().signals) == ["at_delivery"]
    assert settle()["suspected"] == 1 and nps() == []


def test_a_scanner_fetching_one_link_twice_keeps_the_sign_of_its_first_fetch(app, client):
    """A link checker fetches a score link as itself, then at once the same link again posing as a
    browser: the second fetch does not wash out the first one's sign, and the answer never counts."""
    scanners.seed_default_rules()
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=7", headers={"User-Agent": "python-requests/2.32"})
    client.get(f"/s/{token}?score=7", headers=PERSON)
    assert scanners.describe(the_answer().signals) == ["scanner_user_agent"]
    assert settle()["suspected"] == 1 and nps() == []


def test_the_sweep_deciding_while_the_comment_arrives_counts_once(app, client, drain):
    token = invited()
    client.get(f"/s/{token}?score=1", headers=PERSON)  # at delivery: a signal
    db.session.execute(update(Response).values(answered_at=utcnow() - timedelta(seconds=700)))
    db.session.commit()
    answer(client, token, 1, "Nobody called back")  # the comment lands first ...
    assert counting.settle_answers() == {"counted": 0, "suspected": 0}  # ... the sweep then finds nothing
    response = the_answer()
    assert response.status == "counted" and response.counted_by == "comment"
    other = invited("ben@customer.example")
    client.get(f"/s/{other}?score=2", headers=PERSON)
    settle()  # the sweep first: suspected ...
    assert db.session.scalar(select(Response.status).where(Response.score == 2)) == "suspected"
    answer(client, other, 2, "Still broken")  # ... then the person's comment: theirs, counted once
    drain()
    assert db.session.scalar(select(Response.status).where(Response.score == 2)) == "counted"
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 2
    assert db.session.scalar(select(func.count(Invitation.answered_at))) == 2


def test_a_scanner_and_the_person_at_the_same_moment_leave_one_answer(app, client, drain):
    token = invited(sent_seconds_ago=None)
    barrier = threading.Barrier(6)
    statuses = []

    def fetch(score):
        browser = app.test_client()
        barrier.wait()
        statuses.append(browser.get(f"/s/{token}?score={score}", headers=PERSON).status_code)

    threads = [threading.Thread(target=fetch, args=(score,)) for score in (0, 3, 5, 7, 9, 10)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert statuses == [200] * 6
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    response = the_answer()
    assert "all_links" in scanners.describe(response.signals)
    answer(client, token, response.score, "This one is mine")
    drain()
    response = the_answer()
    assert response.status == "counted" and db.session.scalar(select(func.count(Invitation.answered_at))) == 1


def test_the_api_lists_counted_answers_unless_asked_for_the_others_and_an_admin_counts_one_by_hand(
        app, client, drain):
    from tests.factories import api_token
    token = invited()
    client.get(f"/s/{token}?score=10", headers=PERSON)  # a scanner at delivery
    person = invited("ben@customer.example", sent_seconds_ago=None)
    answer(client, person, 9, "Great support")
    drain()
    from vocloop.accounts.models import User
    admin = api_token(db.session.scalar(select(User)), scope="admin")
    listed = client.get("/api/v1/responses", headers=admin).json
    assert [(r["score"], r["status"], r["counted_by"]) for r in listed] == [(9, "counted", "comment")]
    pending = client.get("/api/v1/responses?status=pending", headers=admin).json
    assert [(r["score"], r["signals"]) for r in pending] == [(10, ["at_delivery"])]
    settle()
    [suspected] = client.get("/api/v1/responses?status=suspected", headers=admin).json
    assert suspected["signals"] == ["at_delivery", "no_interaction"]
    assert suspected["status_reason"].startswith("looks like a mail scanner")
    assert client.get("/api/v1/responses?status=pending", headers=admin).json == []
    from vocloop.surveys.models import Survey
    db.session.execute(update(Survey).values(open_items_for="all"))  # so that the 10 opens an item to show
    db.session.commit()
    counted = client.post(f"/api/v1/responses/{suspected['id']}/count", headers=admin)
    assert counted.status_code == 200 and counted.json["status"] == "counted" and counted.json["counted_by"] == "admin"
    assert "counted by hand by" in counted.json["status_reason"]
    assert client.post(f"/api/v1/responses/{suspected['id']}/count", headers=admin).status_code == 409
    drain()
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.response_id == suspected["id"]))
    assert item is not None
    [note] = [event for event in item.events if event.kind == "note"]  # the owner sees who counted it, and why
    assert note.body == "The answer looked like a mail scanner's; an admin counted it by hand."
    assert note.actor_id == db.session.scalar(select(User.id).where(User.role == "admin"))
    assert sorted(r["score"] for r in client.get("/api/v1/responses", headers=admin).json) == [9, 10]


def test_only_admins_count_by_hand_or_change_the_scanner_rules(app, client):
    from tests.factories import api_token
    token = invited()
    client.get(f"/s/{token}?score=10", headers=PERSON)
    lead = api_token(make_user("lee@example.com", role="lead", team="Support"))
    response_id = the_answer().id
    assert client.post(f"/api/v1/responses/{response_id}/count", headers=lead).status_code == 403
    assert client.get("/api/v1/scanner-rules", headers=lead).status_code == 403
    assert client.post("/api/v1/scanner-rules", headers=lead, json={"kind": "network", "pattern": "10.0.0.0/8"}) \
        .status_code == 403
    assert the_answer().status == "pending"


def test_admins_extend_the_scanner_rules_without_a_deploy(app, client):
    from tests.factories import api_token
    from vocloop.accounts.models import User
    token = invited(sent_seconds_ago=None)
    admin = api_token(db.session.scalar(select(User)), scope="admin")
    bad = client.post("/api/v1/scanner-rules", headers=admin, json={"kind": "network", "pattern": "10.0.0.300/8"})
    assert bad.status_code == 422
    bad = client.post("/api/v1/scanner-rules", headers=admin, json={"kind": "user_agent", "pattern": "(unclosed"})
    assert bad.status_code == 422
    added = client.post("/api/v1/scanner-rules", headers=admin,
                        json={"kind": "network", "pattern": "198.51.100.0/24", "label": "Acme's gateway"})
    assert added.status_code == 201 and added.json["pattern"] == "198.51.100.0/24"
    assert client.post("/api/v1/scanner-rules", headers=admin,
                       json={"kind": "network", "pattern": "198.51.100.0/24"}).status_code == 409
    client.get(f"/s/{token}?score=6", headers=PERSON, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert scanners.describe(the_answer().signals) == ["scanner_network"]
    assert client.delete(f"/api/v1/scanner-rules/{added.json['id']}", headers=admin).status_code == 204
    assert [r["pattern"] for r in client.get("/api/v1/scanner-rules", headers=admin).json] == []


def test_the_survey_page_shows_what_does_not_count_and_an_admin_counts_it(app, client, drain):
    from tests.factories import login
    from tests.integration.test_inbox import post_form
    token = invited()
    client.get(f"/s/{token}?score=10", headers=PERSON)
    settle()
    survey_id = the_answer().survey_id
    login(client, "admin@example.com")
    page = client.get(f"/surveys/{survey_id}").get_data(as_text=True)
    assert "Answers that do not count" in page and "suspected" in page and "fetched within 120 s of sending" in page
    done = post_form(client, f"/surveys/{survey_id}", f"/surveys/{survey_id}/answers/{the_answer().id}/count", {})
    assert done.status_code == 303
    assert the_answer().status == "counted" and the_answer().counted_by == "admin"
    assert "Every answer so far counts." in client.get(f"/surveys/{survey_id}").get_data(as_text=True)
    company = client.get("/company/").get_data(as_text=True)
    assert "Mail scanners" in company
    post_form(client, "/company/", "/company/scanner-rules", {"kind": "user_agent", "pattern": "AcmeScan",
                                                               "label": "Acme"})
    assert [rule.pattern for rule in scanners.list_rules()] == ["AcmeScan"]


def test_the_survey_page_names_each_sign_an_answer_showed_and_no_other(app, client):
    """What an admin reads before counting an answer by hand: every sign its fetches showed, in words,
    and against a person's plain click, none."""
    from html import unescape

    from tests.factories import login
    scanners.add_rule("network", "198.51.100.0/24", "Acme's gateway")
    scanners.add_rule("user_agent", "acmescan", "Acme's link checker")  # as the admin typed it
    token = invited()
    gateway = {"headers": {"User-Agent": "AcmeScan/2.1"}, "environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    client.head(f"/s/{token}?score=3", **gateway)
    client.get(f"/s/{token}?score=3", **gateway)
    client.get(f"/s/{token}?score=4", **gateway)
    client.get(f"/s/{invited('ben@customer.example', sent_seconds_ago=None)}?score=9", headers=PERSON)
    signs = ("several score links of the email fetched within 30 s; fetched within 120 s of sending; "
             "HEAD request before the GET; from a mail scanner's network; a mail scanner's User-Agent")
    login(client, "admin@example.com")
    page = unescape(client.get(f"/surveys/{the_answer().survey_id}").get_data(as_text=True))
    assert f"waiting out the settle window (signals: {signs})" in page
    assert page.count("waiting out the settle window") == 2 and "waiting out the settle window</td>" in page  # Ben's
    settle()
    page = unescape(client.get(f"/surveys/{the_answer().survey_id}").get_data(as_text=True))
    assert f"looks like a mail scanner: {signs}; no sign of a person on the page" in page


def test_a_rule_added_for_an_address_already_seen_applies_to_its_next_click(app, client):
    """Each process remembers its verdict per address and User-Agent (a send's clicks repeat them);
    an admin's new rule still applies at once, to an address and a browser it has judged before."""
    from tests.factories import api_token
    from vocloop.accounts.models import User
    first, second = invited("ann@customer.example", None), invited("bob@customer.example", None)
    from_gateway = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}, "headers": PERSON}
    client.get(f"/s/{first}?score=6", **from_gateway)
    assert the_answer().signals == 0
    admin = api_token(db.session.scalar(select(User)), scope="admin")
    assert client.post("/api/v1/scanner-rules", headers=admin,
                       json={"kind": "network", "pattern": "198.51.100.0/24"}).status_code == 201
    client.get(f"/s/{second}?score=7", **from_gateway)
    db.session.rollback()
    by_score = {answer.score: answer.signals for answer in db.session.scalars(select(Response))}
    assert scanners.describe(by_score[7]) == ["scanner_network"] and by_score[6] == 0


def test_a_sweep_sets_aside_only_pending_clicks_past_the_window(app, client):
    """A scanner's click a minute old waits out the window like any other answer, and an answer a person
    already made count (a click right at delivery, then her comment) is never set aside by a later sweep."""
    ann = invited()
    answer(client, ann, 2, "Nobody called back")  # clicked within seconds of the email: a signal, then her comment
    ben = invited("ben@customer.example")
    client.get(f"/s/{ben}?score=10", headers=PERSON)  # a scanner at delivery, a moment ago
    bob = invited("bob@customer.example", sent_seconds_ago=None)
    client.get(f"/s/{bob}?score=9", headers=PERSON)
    db.session.execute(update(Response).where(Response.score == 9).values(answered_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert counting.settle_answers() == {"counted": 1, "suspected": 0}  # Bob's click, an hour old
    db.session.rollback()
    statuses = dict(db.session.execute(select(Response.score, Response.status)).all())
    assert statuses == {2: "counted", 10: "pending", 9: "counted"}
    assert nps()[0]["responses"] == 2  # Ann's 2 and Bob's 9


def test_two_score_links_fetched_in_a_burst_are_set_aside_once_the_window_passes(app, client):
    """The email went out yesterday; two of its score links fetched seconds apart is the burst signal
    alone: past the window the answer is suspected (out of the NPS, the reminder still goes), not left
    pending for ever."""
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=3", headers=PERSON)
    client.get(f"/s/{token}?score=8", headers=PERSON)
    assert scanners.describe(the_answer().signals) == ["all_links"]
    assert settle()["suspected"] == 1
    assert the_answer().status == "suspected" and nps() == []
    assert counting.uncounted(the_answer().survey_id)[0].status == "suspected"  # what the survey page lists


def test_answers_counted_long_ago_never_crowd_a_sweeps_batch(app, client):
    """The sweep takes a batch of the oldest pending answers (5,000 at a time): the answers that counted
    long ago are not in it, or on a busy install today's clicks would never count."""
    answer(client, invited(sent_seconds_ago=None), 9, "Great support")  # Ann's, counted by her comment
    db.session.execute(update(Response).values(answered_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    bob = invited("bob@customer.example", sent_seconds_ago=None)
    client.get(f"/s/{bob}?score=7", headers=PERSON)
    db.session.execute(update(Response).where(Response.score == 7).values(answered_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert counting.settle_answers(limit=1) == {"counted": 1, "suspected": 0}
    assert db.session.scalar(select(Response.status).where(Response.score == 7)) == "counted"


def test_an_invitation_stays_answered_when_its_answer_first_counted(app, client):
    """Ann's click counted (the page saw her); an hour later she clicks other scores of the same email,
    and each counts again, once by the page and once by the sweep: her export still says she answered
    the invitation an hour ago, when the reminder stopped."""
    from vocloop.contacts.privacy import export_contact
    token = invited(sent_seconds_ago=None)
    client.get(f"/s/{token}?score=9", headers=PERSON)
    assert client.post(f"/s/{token}/seen", data={"score": "9"}, headers=SAME_PAGE).status_code == 204
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.session.execute(update(Invitation).values(answered_at=an_hour_ago))
    db.session.execute(update(Response).values(answered_at=an_hour_ago))
    db.session.commit()

    def answered_at() -> str:
        db.session.rollback()
        [invitation] = export_contact(the_answer().contact)["invitations"]
        return invitation["answered_at"]

    client.get(f"/s/{token}?score=4", headers=PERSON)
    assert client.post(f"/s/{token}/seen", data={"score": "4"}, headers=SAME_PAGE).status_code == 204
    assert (the_answer().score, the_answer().status) == (4, "counted")
    assert answered_at() == an_hour_ago.isoformat()
    db.session.execute(update(Response).values(answered_at=an_hour_ago))
    db.session.commit()
    client.get(f"/s/{token}?score=6", headers=PERSON)
    assert settle()["counted"] == 1 and the_answer().score == 6
    assert answered_at() == an_hour_ago.isoformat()


def test_a_click_seconds_after_the_relay_sent_the_email_is_asked_about(app, client, sendgrid):
    """The guard against mail scanners reads when the provider took the email, which the relay records
    (the invitation "sent", with its time): here the email goes out through the relay and the stand-in,
    as in production, and a click on its link seconds later is asked about, not counted at once."""
    import re

    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail import outbox
    from vocloop.surveys import service as surveys

    make_user("admin@example.com", role="admin")
    contact = make_contact("sent-now@customer.example", name="Ann")
    surveys.send_invitations(make_survey("nps", name="Quarterly NPS"), [contact.id])
    deliver_messages(outbox.take_queued_ids())
    [email] = [email for email in sendgrid.emails() if email.to == "sent-now@customer.example"]
    invitation = db.session.scalar(select(Invitation).where(Invitation.contact_id == contact.id))
    db.session.refresh(invitation)
    assert invitation.status == "sent" and abs((utcnow() - invitation.sent_at).total_seconds()) < 60
    link = re.search(r"/s/[\w-]+\?score=3", email.text).group(0)
    html = client.get(link, headers=PERSON).get_data(as_text=True)
    assert "Is 3 your answer?" in html
    assert the_answer().completed_at is None  # waiting for the person to show themselves
