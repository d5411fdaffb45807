"""Personal API tokens: made in the UI and the CLI, shown once, hashed, scoped, expiring, revocable."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import api_token, csrf_from, login, make_user
from vocloop.accounts import service as accounts
from vocloop.accounts.models import ApiToken
from vocloop.db import utcnow
from vocloop.errors import Forbidden, Invalid
from vocloop.extensions import db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_scopes_limit_what_a_token_may_do_within_its_users_permissions(app, client):
    admin = make_user("admin@example.com", role="admin")
    lead = make_user("lead@example.com", role="lead")
    reader, writer = api_token(admin, "read"), api_token(admin, "write")
    assert client.get("/api/v1/items", headers=reader).status_code == 200
    refused = client.post("/api/v1/contacts", json={"email": "a@customer.example"}, headers=reader)
    assert refused.status_code == 403 and "read scope" in refused.json["detail"]
    created = client.post("/api/v1/contacts", json={"email": "a@customer.example"}, headers=writer)
    assert created.status_code == 201
    export = f"/api/v1/contacts/{created.json['id']}/export"
    assert client.get(export, headers=writer).status_code == 403  # admins-only: needs the admin scope
    assert client.get(export, headers=api_token(admin, "admin")).status_code == 200
    assert client.get(export, headers=api_token(lead, "write")).status_code == 403  # the user's role still counts
    with pytest.raises(Forbidden):
        accounts.create_api_token(lead, scope="admin")
    with pytest.raises(Invalid):
        accounts.create_api_token(lead, scope="everything")


def test_expired_and_revoked_tokens_stop_working(app, client):
    owner = make_user("dana@example.com")
    soon = accounts.create_api_token(owner, name="ci", expires_at=utcnow() + timedelta(days=1))
    assert client.get("/api/v1/items", headers=bearer(soon)).status_code == 200
    record = db.session.scalar(select(ApiToken))
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/items", headers=bearer(soon)).status_code == 401
    with pytest.raises(Invalid):
        accounts.create_api_token(owner, expires_at=utcnow() - timedelta(days=1))
    live = accounts.create_api_token(owner, name="crm")
    accounts.revoke_api_token(owner, db.session.scalar(select(ApiToken.id).where(ApiToken.name == "crm")))
    assert client.get("/api/v1/items", headers=bearer(live)).status_code == 401


def test_a_user_makes_sees_once_and_revokes_tokens_on_the_settings_page(app, client):
    make_user("dana@example.com", name="Dana")
    other = make_user("omar@example.com")
    foreign = accounts.create_api_token(other, name="omar's")
    login(client, "dana@example.com")
    page = client.get("/settings/").get_data(as_text=True)
    assert '<option value="admin"' not in page  # owners cannot pick the admin scope
    made = client.post("/settings/tokens", data={"csrf_token": csrf_from(page), "name": "CRM sync", "scope": "read",
                                                 "expires_days": "30"})
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token">(vl_[^<]+)</code>', html).group(1)
    assert client.get("/api/v1/items", headers=bearer(token)).status_code == 200
    stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "CRM sync"))
    assert stored.scope == "read" and token[3:] not in stored.token_hash and stored.expires_at is not None
    again = client.get("/settings/").get_data(as_text=True)
    assert token not in again and "CRM sync" in again  # listed, never shown again
    bad = client.post("/settings/tokens", data={"csrf_token": csrf_from(again), "name": "x", "scope": "admin",
                                                "expires_days": "30"})
    assert bad.status_code == 403
    foreign_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "omar's"))
    assert client.post(f"/settings/tokens/{foreign_id}/revoke",
                       data={"csrf_token": csrf_from(again)}).status_code == 404  # not hers
    assert client.get("/api/v1/items", headers=bearer(foreign)).status_code == 200
    revoked = client.post(f"/settings/tokens/{stored.id}/revoke", data={"csrf_token": csrf_from(again)})
    assert revoked.status_code == 303
    assert client.get("/api/v1/items", headers=bearer(token)).status_code == 401
    assert client.post("/settings/tokens", data={"name": "no csrf", "scope": "read",
                                                 "expires_days": "30"}).status_code == 400


def test_the_cli_makes_scoped_expiring_tokens(app):
    make_user("admin@example.com", role="admin")
    make_user("dana@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", "admin@example.com", "--scope", "admin", "--expires-days", "90"])
    assert result.exit_code == 0 and "scope admin, expires" in result.output
    assert db.session.scalar(select(ApiToken.scope)) == "admin"
    refused = runner.invoke(args=["create-token", "dana@example.com", "--scope", "admin"])
    assert refused.exit_code != 0 and "Only admins" in refused.output


def test_the_api_is_rate_limited_per_token_with_retry_after(app, settings):
    from vocloop import create_app
    owner = make_user("dana@example.com")
    first, second = api_token(owner), api_token(owner)
    limited_app = create_app({**settings, "RATELIMIT_ENABLED": True, "RATELIMIT_API": "3 per minute"})
    client = limited_app.test_client()
    codes = [client.get("/api/v1/items", headers=first).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/v1/items", headers=first)
    assert limited.status_code == 429 and limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0 and limited.json["status"] == 429
    assert client.get("/api/v1/items", headers=second).status_code == 200  # another token, its own budget
