"""The first five minutes: the server says where it is, the demo's past stays in the past (no SLA
emails about it at start, no date after today, breaches dated when they happened) and keeps the
product's own rules (nobody asked again while their item is open; owners at work in working hours;
each closing message about what the customer wrote)."""

import logging
from datetime import timedelta

from sqlalchemy import func, select

from vocloop.db import utcnow
from vocloop.demo import seed_demo
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.sla_watch import watch_sla
from vocloop.mail.models import Message
from vocloop.surveys.models import Invitation


def test_the_development_server_says_where_it_listens_but_not_what_it_serves(app):
    server = logging.getLogger("werkzeug")

    def shown(message, level=logging.INFO):
        record = server.makeRecord("werkzeug", level, __file__, 1, message, (), None)
        return server.isEnabledFor(level) and bool(server.filter(record))

    assert shown(" * Running on http://127.0.0.1:5000")
    assert shown("\\x1b[33mPress CTRL+C to quit\\x1b[0m")
    assert not shown('127.0.0.1 - - [02/Dec/2026 10:00:00] "GET /s/secret-token?score=3 HTTP/1.1" 200 -')
    assert shown("something broke", logging.ERROR)


def test_the_demo_past_stays_in_the_past_and_keeps_the_products_rules(app):
    seed_demo()
    queued_before = db.session.scalar(select(func.count(Message.id)).where(Message.kind == "notification"))
    counts = watch_sla()
    assert counts["breached"] == counts["first_action_missed"] == counts["escalated"] == 0, counts
    queued_after = db.session.scalar(select(func.count(Message.id)).where(Message.kind == "notification"))
    assert queued_after == queued_before
    from vocloop.surveys.reminders import send_reminders
    assert send_reminders() == 0  # the past's reminders went when they were due: the Survey tab shows the send
    now = utcnow() + timedelta(seconds=5)
    assert db.session.scalar(select(func.count(FeedbackItem.id)).where(
        (FeedbackItem.loop_closed_at > now) | (FeedbackItem.closed_at > now) | (FeedbackItem.created_at > now))) == 0
    assert db.session.scalar(select(func.count(ItemEvent.id)).where(ItemEvent.created_at > now)) == 0
    breached = db.session.scalars(select(FeedbackItem).where(FeedbackItem.sla_breached_at.is_not(None))).all()
    assert breached and all(item.sla_breached_at == item.close_due_at for item in breached)
    events = db.session.scalars(select(ItemEvent).where(ItemEvent.kind == "sla_breached")).all()
    assert {event.item_id: event.created_at for event in events} == {item.id: item.close_due_at for item in breached}
    _keeps_the_products_rules()  # one seeding of the demo for both (a seeding is 12-16 s of the suite)


def _keeps_the_products_rules() -> None:
    """The survey page promises nobody is asked who has an open item: no customer of the demo's past
    was invited while an item of theirs was open. Its times to close in business hours are not whole
    working days (owners closing at 3 a.m. made most of them 8.0 h, 16.0 h: it read as a bug). Each closing
    message answers what the customer wrote."""
    later = (Invitation.contact_id == FeedbackItem.contact_id) & (Invitation.created_at > FeedbackItem.created_at)
    asked_while_open = db.session.scalar(select(func.count()).select_from(FeedbackItem).join(Invitation, later).where(
        FeedbackItem.closed_at.is_(None) | (Invitation.created_at < FeedbackItem.closed_at)))
    assert asked_while_open == 0
    business = db.session.scalars(select(FeedbackItem.business_seconds_to_close).where(
        FeedbackItem.business_seconds_to_close > 0)).all()
    whole_days = [seconds for seconds in business if seconds % (8 * 3600) == 0]
    assert len(business) > 50 and len(whole_days) < len(business) / 10, (len(whole_days), len(business))
    assert db.session.scalar(select(func.count(FeedbackItem.id)).where(
        FeedbackItem.close_reason == "no_action_needed")) > 0  # the loop effect's "without a message" group
    from vocloop.demo import FIXES
    closed = db.session.scalars(select(FeedbackItem).where(FeedbackItem.close_reason == "closing_message")).all()
    answered = [(item.response.comment, event.body) for item in closed for event in item.events
                if event.kind == "closed" and item.response.comment]
    assert len(answered) > 20 and all(FIXES[comment] in body for comment, body in answered)  # no refund for a crash


def test_the_follow_up_labels_follow_the_surveys_scale(app, client):
    from tests.factories import login, make_survey, make_user

    make_user("lee@example.com", role="lead")
    login(client, "lee@example.com")
    csat, nps, ces = make_survey("csat"), make_survey("nps"), make_survey("ces")
    csat_page = client.get(f"/surveys/{csat.id}").get_data(as_text=True)
    assert "Unhappy scores (1–2)" in csat_page and "Middle scores (3)" in csat_page
    assert "Happy scores (4–5)" in csat_page and "(0–" not in csat_page
    nps_page = client.get(f"/surveys/{nps.id}").get_data(as_text=True)
    assert "Unhappy scores (0–6)" in nps_page and "Middle scores (7–8)" in nps_page
    assert "Unhappy scores (1–" in client.get(f"/surveys/{ces.id}").get_data(as_text=True)


def test_a_score_always_shows_its_scale_and_a_detractors_praise_is_flagged(app, client, drain):
    """'4 Great product, positive' was a 4 of 5 on a CSAT (rightly positive), read as a 4 of 10."""
    from tests.factories import answer, login, make_contact, make_invitation, make_survey, make_user
    from vocloop.routing.service import create_rule

    dana = make_user("dana@example.com", name="Dana")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    answer(client, make_invitation(make_survey("nps"), make_contact("a@customer.example", name="Ann")), 4,
           "Great product, the new dashboard is really intuitive.")
    answer(client, make_invitation(make_survey("csat"), make_contact("b@customer.example", name="Bo")), 2,
           "Great product, the new dashboard is really intuitive.")
    drain()
    login(client, "dana@example.com")
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert "4/10 NPS" in inbox and "2/5 CSAT" in inbox
    assert inbox.count(">mismatch</span>") == 2  # praise after a detractor's score, on either scale
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact.has(name="Ann")))
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "answered 4/10 NPS" in page and "score and words disagree" in page


def test_the_dev_outbox_pages_and_filters_so_the_survey_emails_are_not_buried(app, client):
    from tests.factories import login, make_user
    from vocloop.mail import outbox

    make_user("admin@example.com", role="admin")
    for n in range(20):
        outbox.queue_message(key=f"survey:{n}", kind="survey", to_email=f"c{n}@customer.example",
                             subject="Quarterly NPS", html="<p>x</p>", text="x")
    for n in range(380):
        outbox.queue_message(key=f"notice:{n}", kind="notification", to_email="dana@example.com",
                             subject=f"Item #{n} needs you", html="<p>x</p>", text="x")
    db.session.commit()
    login(client, "admin@example.com")
    first = client.get("/dev/outbox").get_data(as_text=True)
    assert "All (400)" in first and "Survey (20)" in first and "Notification (380)" in first
    assert first.count("needs you</a>") == 50 and 'rel="next"' in first
    surveys = client.get("/dev/outbox?kind=survey").get_data(as_text=True)
    assert surveys.count("Quarterly NPS</a>") == 20 and "needs you" not in surveys
    assert client.get("/dev/outbox?q=c7@customer").get_data(as_text=True).count("Quarterly NPS</a>") == 1
    seen, page = set(), "/dev/outbox?kind=notification"
    import re
    while page:
        html = client.get(page).get_data(as_text=True)
        seen.update(re.findall(r"Item #(\d+) needs you</a>", html))
        following = re.search(r'href="([^"]+)" rel="next"', html)
        page = following.group(1).replace("&amp;", "&") if following else None
    assert len(seen) == 380
