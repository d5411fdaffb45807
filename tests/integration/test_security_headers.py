"""Headers every answer carries: no cached copy of pages and API answers (they hold people's names and
customers' words), no framing by other sites, and HSTS in production (issue #24, finding 6)."""

from sqlalchemy import select

from tests.factories import api_token, login, make_contact, make_invitation, make_survey, make_user
from vocloop import create_app
from vocloop.extensions import db
from vocloop.mail.models import Message
from vocloop.surveys import service as surveys


def test_staff_pages_and_api_answers_are_never_stored_in_a_cache(app, client):
    dana = make_user("dana@example.com")
    login(client, "dana@example.com")
    for response in (client.get("/inbox/"), client.get("/settings/"), client.get("/login"),
                     client.get("/api/v1/users/me", headers=api_token(dana)),
                     client.get("/api/v1/items", headers=api_token(dana))):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    assert "no-store" not in client.get("/static/public.css").headers["Cache-Control"]  # a stylesheet may be


def test_no_page_may_be_framed_by_another_site(app, client):
    make_user("dana@example.com")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    login(client, "dana@example.com")
    for path in ("/inbox/", "/login", f"/s/{token}"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY"


def test_the_email_preview_is_framed_by_the_outbox_page_only(app, client):
    make_user("admin@example.com", role="admin")
    surveys.send_invitations(make_survey(), [make_contact("ann@customer.example").id])
    login(client, "admin@example.com")
    preview = client.get(f"/dev/outbox/{db.session.scalar(select(Message.id))}/html")
    assert preview.status_code == 200
    # One of each: a browser given a second policy beside it enforces both (and 'none' forbids the frame).
    [policy] = preview.headers.getlist("Content-Security-Policy")
    assert "frame-ancestors 'self'" in policy
    assert preview.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]


def test_strict_transport_security_in_production_only(app, client, settings, schema):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    production = {**settings, "VOCLOOP_ENV": "production", "SECRET_KEY": "p" * 40,
                  "VOCLOOP_BASE_URL": "https://feedback.example.com",
                  "REDIS_URL": settings.get("REDIS_URL") or "redis://127.0.0.1:6379/10"}
    served = create_app(production).test_client().get("/healthz", base_url="https://feedback.example.com")
    assert served.headers["Strict-Transport-Security"] == "max-age=31536000"
