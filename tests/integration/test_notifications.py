"""Who hears about a new item: the owner (immediately, in a digest, or not), P1 always at once,
and a rule's "also notify" targets, Slack included."""

import json
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from tests.factories import api_token, make_contact, make_invitation, make_survey, make_user
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.notifications import send_digests
from vocloop.jobs.tasks import triage_response
from vocloop.mail.models import Message
from vocloop.responses import service as responses
from vocloop.routing import service as routing


def new_item(email, score=5, comment="It is slow"):
    token = make_invitation(make_survey(), make_contact(email))
    triage_response(responses.submit_comment(token, str(score), comment))
    db.session.rollback()
    return db.session.scalar(select(FeedbackItem).order_by(FeedbackItem.id.desc()))


def notices():
    db.session.rollback()
    return Counter(db.session.scalars(select(Message.to_email).where(Message.kind == "notification")))


@pytest.fixture
def slack():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/services/T0/B0/secret", received
    server.shutdown()


def test_owners_choose_immediate_digest_or_off_but_p1_always_comes_at_once(app):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana")
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    new_item("a@customer.example")
    assert notices() == {"dana@example.com": 1}
    dana.notify_new_items = "off"
    db.session.commit()
    new_item("b@customer.example")
    assert notices() == {"dana@example.com": 1}
    urgent = new_item("c@customer.example", score=0, comment="We are cancelling, this is a disaster")
    assert urgent.priority == "P1" and notices() == {"dana@example.com": 2}


def test_the_digest_lists_new_items_once_a_day(app):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana")
    dana.notify_new_items = "digest"
    db.session.commit()
    routing.create_rule(name="to Dana", action="user", user_id=dana.id)
    first, second = new_item("a@customer.example"), new_item("b@customer.example")
    assert notices() == {}
    assert send_digests(utcnow()) == 1
    digest = db.session.scalar(select(Message).where(Message.kind == "notification"))
    assert f"#{first.id}" in digest.text and f"#{second.id}" in digest.text and digest.subject == "2 new items for you"
    assert send_digests(utcnow() + timedelta(hours=2)) == 0  # not again the same day
    new_item("c@customer.example")
    assert send_digests(utcnow() + timedelta(hours=25)) == 1
    latest = db.session.scalar(select(Message).where(Message.kind == "notification").order_by(Message.id.desc()))
    assert f"#{first.id}" not in latest.text and latest.subject == "1 new items for you"


def test_a_rule_also_notifies_a_user_a_team_and_slack(app, client, slack, drain):
    url, received = slack
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    cx = make_user("cx@example.com", name="Cy")
    rule = client.post("/api/v1/routing-rules", headers=api_token(admin), json={
        "name": "to Dana", "action": "user", "user_id": dana.id, "notify_user_id": cx.id,
        "notify_team_id": dana.teams[0].id, "notify_slack_url": url})
    assert rule.status_code == 201 and rule.json["notify_slack_url"] == url
    item = new_item("a@customer.example")
    drain()
    assert notices() == {"dana@example.com": 1, "cx@example.com": 1, "lee@example.com": 1}
    assert len(received) == 1 and f"#{item.id}" in received[0]["text"] and "Dana" in received[0]["text"]
    assert lee.id != cx.id


def test_a_slack_url_must_be_a_web_url(app, client):
    headers = api_token(make_user("admin@example.com", role="admin"))
    bad = client.post("/api/v1/routing-rules", headers=headers, json={
        "name": "x", "action": "account_owner", "notify_slack_url": "file:///etc/passwd"})
    assert bad.status_code == 422 and "notify_slack_url" in bad.json["detail"]
