"""Staff forms over HTTPS, as behind a TLS-terminating proxy in production: every page sends
Referrer-Policy: no-referrer, so browsers send no Referer; sign-in and forms must work without one,
while another site's page still cannot make a signed-in browser post."""

from sqlalchemy import select

from tests.factories import PASSWORD, csrf_from, make_user
from vocloop.accounts.models import User
from vocloop.extensions import db

HTTPS = "https://feedback.example.com"


def https_login(client, email):
    page = client.get("/login", base_url=HTTPS)
    return client.post("/login", base_url=HTTPS, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": email, "password": PASSWORD},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": HTTPS})


def test_sign_in_and_a_staff_form_work_over_https_without_a_referer(app, client):
    make_user("dana@example.com")
    signed_in = https_login(client, "dana@example.com")
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[:300]
    assert "Referrer-Policy" in signed_in.headers and signed_in.headers["Referrer-Policy"] == "no-referrer"

    page = client.get("/settings/", base_url=HTTPS)
    saved = client.post("/settings/", base_url=HTTPS, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "notify_new_items": "digest"},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": HTTPS})
    assert saved.status_code == 303
    assert db.session.scalar(select(User.notify_new_items).where(User.email == "dana@example.com")) == "digest"


def test_another_sites_page_cannot_post_a_staff_form_even_with_a_token(app, client):
    make_user("dana@example.com")
    assert https_login(client, "dana@example.com").status_code == 302
    token = csrf_from(client.get("/settings/", base_url=HTTPS).get_data(as_text=True))
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = client.post("/settings/", base_url=HTTPS, headers=headers,
                              data={"csrf_token": token, "notify_new_items": "off"})
        assert refused.status_code == 403, headers
        assert "can only be sent from its own page" in refused.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(User.notify_new_items).where(User.email == "dana@example.com")) == "immediate"


def test_a_form_without_its_csrf_token_is_still_refused(app, client):
    make_user("dana@example.com")
    assert https_login(client, "dana@example.com").status_code == 302
    refused = client.post("/settings/", base_url=HTTPS, data={"notify_new_items": "off"},
                          headers={"Sec-Fetch-Site": "same-origin"})
    assert refused.status_code == 400
    db.session.rollback()
    assert db.session.scalar(select(User.notify_new_items).where(User.email == "dana@example.com")) == "immediate"
