"""Outbound webhooks: the loop's events reach a registered URL signed, failures are retried until the
window closes, the log shows every attempt, and an admin can replay."""

import socket
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.factories import answer, api_token, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from tests.support.certs import make_ca_and_server_cert
from tests.support.webhook_receiver import WebhookReceiver
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.jobs import tasks
from vocloop.outbound import service as webhooks
from vocloop.outbound.models import WebhookDelivery, WebhookEndpoint
from vocloop.outbound.signing import verify
from vocloop.routing.service import create_rule

ALL_EVENTS = ["response.created", "item.created", "item.assigned", "item.closed", "item.reopened", "sla.breached"]


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


def _register(client, admin, url, events=ALL_EVENTS):
    created = client.post("/api/v1/webhooks", json={"url": url, "events": events, "description": "CRM"},
                          headers=api_token(admin))
    assert created.status_code == 201, created.json
    return created.json


def _detractor(client, drain, owner, comment="Billing charged me twice"):
    create_rule(name="to owner", action="user", user_id=owner.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 2, comment)
    drain()
    return db.session.scalar(select(FeedbackItem))


def test_the_loops_events_arrive_signed_with_what_a_crm_needs(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com")
    endpoint = _register(client, admin, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in client.get(f"/api/v1/webhooks/{endpoint['id']}", headers=api_token(admin)).json
    item = _detractor(client, drain, dana)
    closed = client.post(f"/api/v1/items/{item.id}/close", json={"message": "Refunded, sorry!"},
                         headers=api_token(dana))
    assert closed.status_code == 200
    drain()
    assert [event["type"] for event in receiver.events()] == \
        ["response.created", "item.created", "item.assigned", "item.closed"]
    for request in receiver.received:
        assert verify(endpoint["secret"], request.headers["Vocloop-Signature"], request.body)
        assert request.headers["Vocloop-Event-Id"] == request.event["id"]
        assert request.headers["Content-Type"] == "application/json"
    assert len({event["id"] for event in receiver.events()}) == 4
    created = receiver.events("item.created")[0]["data"]
    assert created["item_id"] == item.id and created["owner_email"] == "dana@example.com"
    assert created["priority"] == item.priority and created["sentiment"] == "negative"
    assert created["topics"] == ["billing"]  # what the customer wrote about, as the inbox and metrics show it
    assigned = receiver.events("item.assigned")[0]["data"]
    assert assigned["owner_email"] == "dana@example.com" and assigned["assigned_by"] == "rule “to owner”"
    assert receiver.events("response.created")[0]["data"]["score"] == 2
    closed_event = receiver.events("item.closed")[0]["data"]
    assert closed_event["status"] == "closed" and closed_event["close_reason"] == "closing_message"
    log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=api_token(admin)).json
    assert [d["status"] for d in log] == ["delivered"] * 4
    assert log[0]["event_type"] == "item.closed" and log[0]["attempt_log"][0]["status_code"] == 200


def test_an_item_closed_without_a_message_reaches_the_crm_with_its_reason(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com")
    _register(client, admin, receiver.url, ["item.closed"])
    item = _detractor(client, drain, dana)
    closed = client.post(f"/api/v1/items/{item.id}/close", json={"reason": "spam"}, headers=api_token(dana))
    assert closed.status_code == 200
    drain()
    [event] = receiver.events("item.closed")
    assert event["data"]["item_id"] == item.id and event["data"]["status"] == "closed"
    assert event["data"]["close_reason"] == "spam"

def test_only_subscribed_events_go_to_active_endpoints(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    closes = _register(client, admin, receiver.url + "/closes", ["item.closed"])
    paused = _register(client, admin, receiver.url + "/paused")
    client.patch(f"/api/v1/webhooks/{paused['id']}", json={"active": False}, headers=api_token(admin))
    _detractor(client, drain, make_user("dana@example.com"))
    assert receiver.received == []
    assert db.session.scalar(select(WebhookDelivery.id)) is None
    assert closes["events"] == ["item.closed"]


def test_a_failing_receiver_is_retried_with_growing_pauses_then_gets_the_same_bytes(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    endpoint = _register(client, admin, receiver.url, ["item.created"])
    receiver.answers.extend([500, 503])
    _detractor(client, drain, make_user("dana@example.com"))
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    first_pause = delivery.next_attempt_at - utcnow()
    assert timedelta(seconds=20) < first_pause < timedelta(seconds=40)
    assert tasks.sweep()["webhooks_due"] == 0  # not due yet: nothing is posted early
    for _ in range(2):
        db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        webhooks.deliver(delivery.id)
    db.session.refresh(delivery)
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [attempt.status_code for attempt in delivery.attempt_log] == [500, 503, 200]
    assert len({r.body for r in receiver.received}) == 1 and len(receiver.received) == 3
    assert webhooks.next_pause(2) > webhooks.next_pause(1) * 2
    assert webhooks.next_pause(50) <= webhooks.LONGEST_PAUSE_SECONDS * 1.1
    log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=api_token(admin)).json
    assert [a["status_code"] for a in log[0]["attempt_log"]] == [500, 503, 200]


def test_after_the_retry_window_a_delivery_fails_and_an_admin_replays_it(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    endpoint = _register(client, admin, receiver.url, ["item.created"])
    receiver.answers.extend([500, 500])
    _detractor(client, drain, make_user("dana@example.com"))
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.execute(update(WebhookDelivery).values(created_at=utcnow() - timedelta(hours=25),
                                                      next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert webhooks.deliver(delivery.id) == "failed"
    assert webhooks.deliver(delivery.id) is None  # a failed delivery is never posted again by itself
    failed = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=failed", headers=api_token(admin))
    assert [d["id"] for d in failed.json] == [delivery.id]
    replayed = client.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery.id}/replay",
                           headers=api_token(admin))
    assert replayed.status_code == 202 and replayed.json["replay_of_id"] == delivery.id
    drain()
    assert len(receiver.received) == 3
    assert receiver.received[-1].event["id"] == receiver.received[0].event["id"]  # receivers can dedupe
    assert db.session.get(WebhookDelivery, replayed.json["id"]).status == "delivered"
    wrong = client.post(f"/api/v1/webhooks/{endpoint['id'] + 1}/deliveries/{delivery.id}/replay",
                        headers=api_token(admin))
    assert wrong.status_code == 404


def test_one_delivery_is_posted_by_one_worker_at_a_time(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    _register(client, admin, receiver.url, ["item.created"])
    receiver.answers.append(500)
    _detractor(client, drain, make_user("dana@example.com"))
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1),
                                                      leased_until=utcnow() + timedelta(seconds=30)))
    db.session.commit()
    assert webhooks.deliver(delivery.id) is None  # another worker holds it
    db.session.execute(update(WebhookDelivery).values(leased_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert webhooks.deliver(delivery.id) == "delivered"  # its worker died: the lease ran out
    assert len(receiver.received) == 2


def test_private_addresses_are_refused_when_not_allowed(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    _register(client, admin, receiver.url, ["item.created"])
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    receiver.answers.append(500)
    _detractor(client, drain, make_user("dana@example.com"))
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    count = len(receiver.received)
    webhooks.deliver(delivery.id)
    db.session.refresh(delivery)
    assert len(receiver.received) == count  # not called
    assert "non-public address (127.0.0.1)" in delivery.last_error and delivery.status == "pending"


def test_in_production_a_webhook_url_must_be_https(app, client):
    """README's promise ("a public https address"): events carry ids, owners and statuses; in production
    (private addresses refused) an http:// URL is refused where it is registered or changed; in
    development (WEBHOOK_ALLOW_PRIVATE_URLS, for a receiver on this machine) http:// is fine."""
    admin = make_user("admin@example.com", role="admin")
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    refused = client.post("/api/v1/webhooks", json={"url": "http://93.184.216.34/hooks", "events": ["item.created"]},
                          headers=api_token(admin))
    assert refused.status_code == 422 and "must be an https:// address" in refused.json["detail"]
    endpoint = _register(client, admin, "https://93.184.216.34/hooks", ["item.created"])
    moved = client.patch(f"/api/v1/webhooks/{endpoint['id']}", json={"url": "http://93.184.216.34/hooks"},
                         headers=api_token(admin))
    assert moved.status_code == 422 and db.session.scalar(select(WebhookEndpoint.url)) == "https://93.184.216.34/hooks"
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = True
    assert _register(client, admin, "http://127.0.0.1:9/hooks", ["item.created"])["url"] == "http://127.0.0.1:9/hooks"


def test_a_url_reaching_a_private_address_is_refused_when_the_webhook_is_registered(app, client, receiver):
    admin = make_user("admin@example.com", role="admin")
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    for url in (receiver.url.replace("http://", "https://"), f"https://localhost:{receiver.port}/hooks",
                "https://[::1]/hooks", "https://169.254.169.254/latest/meta-data", "https://10.0.0.7/hooks"):
        refused = client.post("/api/v1/webhooks", json={"url": url, "events": ["item.created"]},
                              headers=api_token(admin))
        assert refused.status_code == 422, url
        assert "non-public address" in refused.json["detail"], refused.json["detail"]
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = True
    endpoint = _register(client, admin, receiver.url, ["item.created"])
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    moved = client.patch(f"/api/v1/webhooks/{endpoint['id']}", json={"url": "https://127.0.0.2:8080/x"},
                         headers=api_token(admin))
    assert moved.status_code == 422 and "non-public address (127.0.0.2)" in moved.json["detail"]
    assert db.session.scalar(select(WebhookEndpoint.url)) == receiver.url
    assert receiver.received == []


def test_secrets_are_stored_sealed_and_survive_a_key_rotation_with_the_old_key_as_fallback(app, client, drain,
                                                                                        receiver):
    admin = make_user("admin@example.com", role="admin")
    endpoint = _register(client, admin, receiver.url, ["item.created"])
    stored = db.session.scalar(select(WebhookEndpoint.sealed_secret))
    assert endpoint["secret"] not in stored and endpoint["secret"][6:] not in stored
    _detractor(client, drain, make_user("dana@example.com"))
    count = len(receiver.received)
    app.config.update(SECRET_KEY="a-new-key-" + "n" * 30, SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    db.session.execute(update(WebhookDelivery).values(status="pending", next_attempt_at=utcnow() - timedelta(
        seconds=1)))
    db.session.commit()
    assert webhooks.deliver(db.session.scalar(select(WebhookDelivery.id))) == "delivered"  # here, with the new key
    assert len(receiver.received) == count + 1
    assert verify(endpoint["secret"], receiver.received[-1].headers["Vocloop-Signature"], receiver.received[-1].body)


def test_without_the_old_key_a_delivery_says_it_cannot_sign_until_the_secret_is_rotated(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    endpoint = _register(client, admin, receiver.url, ["item.created"])
    _detractor(client, drain, make_user("dana@example.com"))
    count = len(receiver.received)
    app.config.update(SECRET_KEY="a-new-key-" + "n" * 30, SECRET_KEY_FALLBACKS=None)
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.execute(update(WebhookDelivery).values(status="pending", next_attempt_at=utcnow() - timedelta(
        seconds=1)))
    db.session.commit()
    webhooks.deliver(delivery.id)
    db.session.refresh(delivery)
    assert len(receiver.received) == count and delivery.status == "pending"
    assert "cannot sign" in delivery.last_error and "rotate" in delivery.last_error
    rotated = client.patch(f"/api/v1/webhooks/{endpoint['id']}", json={"rotate_secret": True},
                           headers=api_token(admin)).json
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert webhooks.deliver(delivery.id) == "delivered"
    assert verify(rotated["secret"], receiver.received[-1].headers["Vocloop-Signature"], receiver.received[-1].body)


class Resolver:
    """Names only these tests know, answered as told: a list of addresses is given out one per
    lookup (the last one kept), as a DNS server that changes its answer between two lookups."""

    def __init__(self, monkeypatch, answers: dict[str, list[str]]):
        self.asked: Counter = Counter()
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host not in answers:
                return real(host, port, *args, **kwargs)
            self.asked[host] += 1
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _one_delivery_attempted_here(client, drain, url: str) -> WebhookDelivery:
    """A delivery to url, attempted (again) in this process, where the test's resolver answers; the
    first attempt, by the job, did not know the name."""
    _register(client, make_user("admin@example.com", role="admin"), url, ["item.created"])
    _detractor(client, drain, make_user("dana@example.com"))
    delivery = db.session.scalar(select(WebhookDelivery))
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    webhooks.deliver(delivery.id)
    db.session.refresh(delivery)
    return delivery


def test_the_post_goes_to_the_address_that_was_checked_with_the_name_as_host(app, client, drain, receiver,
                                                                            monkeypatch):
    resolver = Resolver(monkeypatch, {"crm.example.test": ["127.0.0.1"]})
    delivery = _one_delivery_attempted_here(client, drain, f"http://crm.example.test:{receiver.port}/hooks")
    assert delivery.status == "delivered", delivery.last_error
    assert receiver.received[-1].headers["Host"] == f"crm.example.test:{receiver.port}"
    assert resolver.asked["crm.example.test"] == 1  # one lookup: the check's answer is where the post went


def test_a_name_that_rebinds_to_a_private_address_after_the_check_is_never_reached(app, client, drain, receiver,
                                                                                   monkeypatch):
    """DNS rebinding: public for the check, loopback for the connection. The post goes to the
    public address it checked (unreachable here), never to the receiver on loopback."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE_URLS=False, WEBHOOK_TIMEOUT_SECONDS=1)
    Resolver(monkeypatch, {"rebind.example.test": ["8.8.8.8", "127.0.0.1"]})
    delivery = _one_delivery_attempted_here(client, drain, f"https://rebind.example.test:{receiver.port}/hooks")
    assert receiver.received == []
    assert delivery.status == "pending" and delivery.last_error


@pytest.fixture
def tls_receiver(tmp_path):
    ca, cert, key = make_ca_and_server_cert(tmp_path, "crm.example.test")
    server = WebhookReceiver(tls=(cert, key))
    yield server, ca
    server.close()


def test_https_receivers_are_verified_by_name_against_the_configured_authorities(app, client, drain, tls_receiver,
                                                                               monkeypatch):
    receiver, ca = tls_receiver
    app.config["WEBHOOK_CA_BUNDLE"] = str(ca)
    Resolver(monkeypatch, {"crm.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    delivery = _one_delivery_attempted_here(client, drain, f"https://crm.example.test:{receiver.port}/hooks")
    assert delivery.status == "delivered", delivery.last_error
    assert receiver.received[-1].headers["Host"] == f"crm.example.test:{receiver.port}"


def test_an_https_receiver_whose_certificate_does_not_verify_gets_nothing(app, client, drain, tls_receiver,
                                                                          monkeypatch):
    receiver, ca = tls_receiver
    Resolver(monkeypatch, {"other.example.test": ["127.0.0.1"]})
    app.config["WEBHOOK_CA_BUNDLE"] = str(ca)  # trusted authority, but the certificate names another host
    delivery = _one_delivery_attempted_here(client, drain, f"https://other.example.test:{receiver.port}/hooks")
    assert receiver.received == [] and delivery.status == "pending"
    assert "SSL" in delivery.last_error or "certificate" in delivery.last_error.lower()
    app.config["WEBHOOK_CA_BUNDLE"] = None  # the right name, but an authority nobody trusts
    Resolver(monkeypatch, {"crm.example.test": ["127.0.0.1"]})
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.execute(update(WebhookEndpoint).values(url=f"https://crm.example.test:{receiver.port}/hooks"))
    db.session.commit()
    webhooks.deliver(delivery.id)
    db.session.refresh(delivery)
    assert receiver.received == [] and delivery.status == "pending" and "certificate" in delivery.last_error.lower()


def test_only_admins_with_the_admin_scope_manage_webhooks_and_bad_input_is_refused(app, client):
    admin = make_user("admin@example.com", role="admin")
    lead = make_user("lead@example.com", role="lead")
    body = {"url": "https://crm.example/hooks", "events": ["item.closed"]}
    assert client.post("/api/v1/webhooks", json=body, headers=api_token(lead)).status_code == 403
    assert client.post("/api/v1/webhooks", json=body, headers=api_token(admin, scope="write")).status_code == 403
    for bad in ({"url": "ftp://crm.example/x", "events": ["item.closed"]},
                {"url": "https://user:pw@crm.example/x", "events": ["item.closed"]},
                {"url": "https://crm.example/x", "events": ["item.deleted"]},
                {"url": "https://crm.example/x", "events": []}):
        response = client.post("/api/v1/webhooks", json=bad, headers=api_token(admin))
        assert response.status_code == 422, bad
    assert client.get("/api/v1/webhooks", headers=api_token(admin)).json == []
    made = client.post("/api/v1/webhooks", json=body, headers=api_token(admin)).json
    rotated = client.patch(f"/api/v1/webhooks/{made['id']}", json={"rotate_secret": True}, headers=api_token(admin))
    assert rotated.json["secret"].startswith("whsec_") and rotated.json["secret"] != made["secret"]
    assert client.delete(f"/api/v1/webhooks/{made['id']}", headers=api_token(admin)).status_code == 204
    assert client.get(f"/api/v1/webhooks/{made['id']}", headers=api_token(admin)).status_code == 404


def test_events_of_a_bulk_action_an_api_call_and_a_command_are_posted_at_once_not_by_the_sweep(
        app, client, drain, receiver):
    """None of these edges starts the relay itself: the one after every request and command does."""
    admin = make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    _register(client, admin, receiver.url, events=["item.assigned", "item.closed"])
    item = _detractor(client, drain, dana)
    receiver.received.clear()

    login(client, "admin@example.com")
    token = csrf_from(client.get("/inbox/").get_data(as_text=True))
    assert client.post("/inbox/bulk", data={"csrf_token": token, "item_ids": [str(item.id)], "owner_id": str(omar.id),
                                            "note": "Omar covers this week"}).status_code == 303
    drain()
    assert [(e["type"], e["data"]["owner_id"]) for e in receiver.events()] == [("item.assigned", omar.id)]

    result = app.test_cli_runner().invoke(args=["deactivate-user", omar.email])
    assert result.exit_code == 0, result.output
    drain()
    assert [e["type"] for e in receiver.events()] == ["item.assigned", "item.assigned"]
    handed = receiver.events()[-1]["data"]  # like any hand-over: from whom, and why
    assert (handed["item_id"], handed["previous_owner_id"], handed["handover_note"]) == (
        item.id, omar.id, "Omar was deactivated.")

    new_owner = db.session.get(FeedbackItem, item.id).owner
    closed = client.post(f"/api/v1/items/{item.id}/close", json={"reason": "duplicate"}, headers=api_token(new_owner))
    assert closed.status_code == 200, closed.json
    drain()
    assert [e["type"] for e in receiver.events()] == ["item.assigned", "item.assigned", "item.closed"]
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.status != "delivered")) == 0
