"""The Webhooks page, for admins: endpoints checked by the same guard as the API, the signing secret
shown once, the delivery log paged, a replay through the same service as the API."""

import pytest
from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from tests.support.webhook_receiver import WebhookReceiver
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.outbound.models import WebhookDelivery, WebhookEndpoint
from vocloop.outbound.signing import verify
from vocloop.routing.service import create_rule

PAGE = "/integrations/webhooks/"


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


def post(client, path, fields):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


def test_an_admin_adds_an_endpoint_reads_its_log_replays_rotates_and_deletes(app, client, drain, receiver):
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana")
    make_user("lee@example.com", role="lead")
    login(client, "lee@example.com")
    assert client.get(PAGE).status_code == 403
    login(client, "admin@example.com")
    assert 'href="/integrations/webhooks/">Webhooks</a>' in client.get("/inbox/").get_data(as_text=True)
    assert "No webhook endpoints yet" in client.get(PAGE).get_data(as_text=True)

    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False  # the API's guard: no loopback or private address
    try:
        refused = post(client, PAGE, {"url": receiver.url.replace("http://", "https://"), "events": ["item.created"],
                                      "description": "CRM"})
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = True
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "The URL is refused" in html and "Nothing was saved" in html
    assert f'value="{receiver.url.replace("http://", "https://")}"' in html  # kept as typed
    assert 'value="item.closed" >' in html and 'value="item.created" checked' in html
    assert db.session.scalar(select(WebhookEndpoint.id)) is None

    created = post(client, PAGE, {"url": receiver.url, "events": ["item.created"], "description": "CRM"})
    secret = created.get_data(as_text=True).split('<code id="new-secret" class="url">')[1].split("<")[0]
    assert created.status_code == 201 and secret.startswith("whsec_") and created.headers["Cache-Control"] == "no-store"
    endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    page = f"{PAGE}{endpoint_id}"
    assert secret not in client.get(page).get_data(as_text=True)  # shown once

    receiver.answers.append(500)
    create_rule(name="to Dana", action="user", user_id=dana.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example")), 2, "Charged twice")
    drain()
    log = client.get(page).get_data(as_text=True)
    assert "item.created" in log and ">pending<" in log and "HTTP 500" in log
    first_id = db.session.scalar(select(WebhookDelivery.id))
    replayed = post(client, f"{page}/deliveries/{first_id}/replay", {})
    assert replayed.status_code == 303
    drain()
    log = client.get(page).get_data(as_text=True)
    assert f"replay of #{first_id}" in log and ">delivered<" in log and "queued again as" in log
    assert verify(secret, receiver.received[-1].headers["Vocloop-Signature"], receiver.received[-1].body)

    rotated = post(client, f"{page}/rotate", {}).get_data(as_text=True)
    new_secret = rotated.split('<code id="new-secret" class="url">')[1].split("<")[0]
    db.session.rollback()
    assert new_secret != secret and db.session.get(WebhookEndpoint, endpoint_id).secret == new_secret

    post(client, f"{page}/active", {"active": ""})
    assert client.get(f"/api/v1/webhooks/{endpoint_id}", headers=api_token(admin)).json["active"] is False
    bad = post(client, page, {"url": "ftp://crm.example", "events": ["item.closed"], "description": "CRM"})
    assert bad.status_code == 422 and 'value="ftp://crm.example"' in bad.get_data(as_text=True)

    body = db.session.get(WebhookDelivery, first_id).body
    db.session.add_all([WebhookDelivery(endpoint_id=endpoint_id, event_id=f"evt_{n}", event_type="item.closed",
                                        body=body, status="failed", attempts=n, last_error=f"error number {n}",
                                        created_at=utcnow()) for n in range(30)])
    db.session.commit()
    failed = client.get(f"{page}?status=failed").get_data(as_text=True)
    assert failed.count("Replay delivery #") == 25 and "error number 29" in failed and "error number 4<" not in failed
    older = failed.split('Older deliveries')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older).get_data(as_text=True)
    assert rest.count("Replay delivery #") == 5 and "error number 0<" in rest and "Older deliveries" not in rest

    deleted = post(client, f"{page}/delete", {})
    assert deleted.status_code == 303 and db.session.scalar(select(WebhookEndpoint.id)) is None
