"""Idempotency-Key on the API's POST requests: a retry returns the first answer and creates nothing."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import api_token, make_user
from vocloop.accounts.idempotency import IdempotencyRecord, forget_old
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db


def contacts() -> int:
    return db.session.scalar(select(func.count()).select_from(Contact))


def test_a_retry_with_the_same_key_returns_the_first_answer_and_creates_nothing(app, client):
    headers = {**api_token(make_user("admin@example.com", role="admin")), "Idempotency-Key": "crm-sync-41"}
    first = client.post("/api/v1/contacts", json={"email": "ann@customer.example", "name": "Ann"}, headers=headers)
    again = client.post("/api/v1/contacts", json={"email": "ann@customer.example", "name": "Ann"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert contacts() == 1
    other = client.post("/api/v1/contacts", json={"email": "bob@customer.example"}, headers=headers)
    assert other.status_code == 422 and "different request" in other.json["detail"]
    assert contacts() == 1
    without_key = client.post("/api/v1/contacts", json={"email": "ann@customer.example"},
                              headers={"Authorization": headers["Authorization"]})
    assert without_key.status_code == 409  # no key: the ordinary conflict, nothing replayed


def test_a_failed_request_frees_its_key_for_a_corrected_retry(app, client):
    headers = {**api_token(make_user("admin@example.com", role="admin")), "Idempotency-Key": "k-1"}
    bad = client.post("/api/v1/contacts", json={"email": "not an address"}, headers=headers)
    assert bad.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    fixed = client.post("/api/v1/contacts", json={"email": "ann@customer.example"}, headers=headers)
    assert fixed.status_code == 201


def test_keys_belong_to_their_user_and_are_checked(app, client):
    admin = api_token(make_user("admin@example.com", role="admin"))
    other = api_token(make_user("other@example.com", role="admin"))
    for headers, email in ((admin, "a@customer.example"), (other, "b@customer.example")):
        response = client.post("/api/v1/contacts", json={"email": email},
                               headers={**headers, "Idempotency-Key": "same"})
        assert response.status_code == 201  # the same key from another user is another key
    assert contacts() == 2
    too_long = client.post("/api/v1/contacts", json={"email": "c@customer.example"},
                           headers={**admin, "Idempotency-Key": "x" * 201})
    assert too_long.status_code == 422 and contacts() == 2


def test_a_request_still_being_handled_is_not_run_twice(app, client):
    user = make_user("admin@example.com", role="admin")
    headers = {**api_token(user), "Idempotency-Key": "slow"}
    first = client.post("/api/v1/contacts", json={"email": "ann@customer.example"}, headers=headers)
    record = db.session.scalar(select(IdempotencyRecord))
    record.status_code = None  # as while the first request is still running
    db.session.commit()
    busy = client.post("/api/v1/contacts", json={"email": "ann@customer.example"}, headers=headers)
    assert first.status_code == 201 and busy.status_code == 409 and "still being handled" in busy.json["detail"]


def test_old_keys_are_forgotten_by_the_sweep(app, client):
    headers = {**api_token(make_user("admin@example.com", role="admin")), "Idempotency-Key": "old"}
    client.post("/api/v1/contacts", json={"email": "ann@customer.example"}, headers=headers)
    assert forget_old(utcnow()) == 0
    assert forget_old(utcnow() + timedelta(hours=25)) == 1


@pytest.mark.parametrize("key", ["race", None])
def test_two_identical_requests_at_once_create_one_object(app, client, settings, key):
    """With a key, or without one (then the losers get the ordinary 409 conflict, never a 500)."""
    if not settings["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("concurrent writers are PostgreSQL's")
    headers = {**api_token(make_user("admin@example.com", role="admin")), **({"Idempotency-Key": key} if key else {})}
    barrier, answers = threading.Barrier(8), []

    def send():
        local = app.test_client()
        barrier.wait()
        answers.append(local.post("/api/v1/contacts", json={"email": "ann@customer.example"}, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(response.status_code for response in answers)
    assert contacts() == 1 and codes.count(201) >= 1 and set(codes) <= {201, 409}
    created = {response.json["id"] for response in answers if response.status_code == 201}
    assert len(created) == 1  # every 201 is the same contact
