"""The rate limit of the pages customers open from emails: a count per page and address (in Redis in
the PostgreSQL run, in memory in the embedded one), a clear 429 with Retry-After, and customers
still served, and still limited, while Redis is out of reach."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
from limits.errors import StorageError

from tests.factories import make_contact, make_invitation, make_survey
from vocloop import create_app
from vocloop.extensions import db


def limited_app(settings, **overrides):
    return create_app({**settings, "RATELIMIT_ENABLED": True, "RATELIMIT_PUBLIC": "5 per minute", **overrides})


def address() -> str:
    """An address of its own per test: the counters in Redis outlive a test's app."""
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def token(app):
    return make_invitation(make_survey(), make_contact("ann@customer.example"))


def test_each_page_counts_per_address_and_a_refusal_says_when_to_come_back(settings, app, token):
    client = limited_app(settings).test_client()
    mine, theirs = {"REMOTE_ADDR": address()}, {"REMOTE_ADDR": address()}
    clicks = [client.get(f"/s/{token}", query_string={"score": str(n)}, environ_base=mine).status_code
              for n in range(5)]
    assert clicks == [200] * 5
    refused = client.get(f"/s/{token}", query_string={"score": "9"}, environ_base=mine)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.headers["X-RateLimit-Remaining"] == "0" and refused.headers["X-RateLimit-Limit"] == "5"
    assert "try again" in refused.get_data(as_text=True)
    # The same customer's next pages have counts of their own: a visit is several requests.
    assert client.post(f"/s/{token}", data={"score": "9", "comment": "Quick"}, environ_base=mine).status_code == 303
    assert [client.get(f"/s/{token}/thanks", environ_base=mine).status_code for _ in range(6)] == [200] * 5 + [429]
    assert client.get(f"/s/{token}", environ_base=theirs).status_code == 409  # another address: not limited


def test_an_allowed_page_carries_no_rate_limit_headers(settings, app, token):
    page = limited_app(settings).test_client().get(f"/s/{token}", environ_base={"REMOTE_ADDR": address()})
    assert page.status_code == 200 and not [h for h in page.headers.keys() if h.startswith("X-RateLimit")]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_with_redis_out_of_reach_customers_are_served_and_still_limited(settings, app, token, caplog):
    client = limited_app(settings, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0").test_client()
    started = time.monotonic()
    codes = [client.get(f"/s/{token}", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    assert time.monotonic() - started < 5
    assert "rate limit store out of reach" in caplog.text
    db.session.rollback()


def test_switched_off_nothing_is_counted(settings, app, token):
    client = create_app({**settings, "RATELIMIT_ENABLED": False, "RATELIMIT_PUBLIC": "1 per minute"}).test_client()
    assert {client.get(f"/s/{token}").status_code for _ in range(5)} == {200}


def test_a_refusal_never_sends_the_customer_back_before_the_page_opens_again(settings, app, token):
    """Retry-After counts whole seconds up to the end of the window (never one short, or the customer
    who waits as told is refused again), and X-RateLimit-Reset names that same moment."""
    client, mine = limited_app(settings).test_client(), {"REMOTE_ADDR": address()}
    first_click = time.time()
    for _ in range(5):
        client.get(f"/s/{token}", environ_base=mine)
    refused = client.get(f"/s/{token}", environ_base=mine)
    refused_at, wait = time.time(), int(refused.headers["Retry-After"])
    assert refused.status_code == 429
    assert refused_at + wait >= first_click + 60 - 0.5  # (Redis tells its window in whole seconds)
    assert wait <= 61
    assert abs(int(refused.headers["X-RateLimit-Reset"]) - (first_click + 60)) <= 2


@contextmanager
def stalled_redis():
    """A Redis address that takes connections and never answers (a hung server, a full network)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def timed_clicks(client, path: str, count: int) -> tuple[list[int], float]:
    """The clicks' statuses and how long they took, given up on (as if hung) after 15 s."""
    codes: list[int] = []
    started = time.monotonic()
    clicking = threading.Thread(target=lambda: codes.extend(
        client.get(path, environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code for _ in range(count)), daemon=True)
    clicking.start()
    clicking.join(15)
    return codes, time.monotonic() - started


def test_with_redis_hung_customers_are_served_and_only_the_first_click_waits_for_it(settings, app, token):
    """A Redis that never answers holds one request for half a second; the next clicks are counted in
    memory without asking it again (for a few seconds), so a send's clicks are not each held up."""
    with stalled_redis() as hung:
        client = limited_app(settings, RATELIMIT_STORAGE_URI=hung).test_client()
        codes, took = timed_clicks(client, f"/s/{token}", 7)
    assert codes == [200] * 5 + [429] * 2
    assert took < 2.5, took
    db.session.rollback()


def test_redis_lost_just_as_a_page_is_refused_still_says_when_to_come_back(settings, app, token, monkeypatch):
    """The count was taken, then Redis went away before the window could be read: still a 429 that
    says a minute, not an error page or "come back in a second"."""
    limited = limited_app(settings)
    client, mine = limited.test_client(), {"REMOTE_ADDR": address()}
    for _ in range(5):
        client.get(f"/s/{token}", environ_base=mine)

    def lost(*args):
        raise StorageError(ConnectionError("Redis went away"))

    monkeypatch.setattr(limited.extensions["vocloop_customer_page_limit"].shared, "get_window_stats", lost)
    refused = client.get(f"/s/{token}", environ_base=mine)
    assert refused.status_code == 429 and 59 <= int(refused.headers["Retry-After"]) <= 61
