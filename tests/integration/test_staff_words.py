"""Staff pages speak the app's words when something is refused: no "read-protected", no
"10 per 1 minute", and always a way back."""

from tests.factories import login, make_user
from vocloop import create_app


def test_an_owner_opening_metrics_is_told_who_it_is_for_and_given_a_way_back(app, client):
    make_user("dana@example.com")
    login(client, "dana@example.com")
    page = client.get("/metrics/")
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "read-protected" not in html and "for leads and admins" in html and "Back to the inbox" in html
    missing = client.get("/inbox/items/999999").get_data(as_text=True)
    assert "Nothing here" in missing and "Back to the inbox" in missing


def test_too_many_sign_in_attempts_say_what_to_do_and_lead_back(settings):
    client = create_app({**settings, "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "1 per minute"}).test_client()
    login(client, "x@example.com", "nope")
    refused = login(client, "x@example.com", "nope")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "per 1 minute" not in html and "Wait a minute, then try again" in html and "Back to sign in" in html


def test_forgot_password_leads_back_to_sign_in(app, client):
    assert 'href="/login"' in client.get("/password/forgot").get_data(as_text=True)
