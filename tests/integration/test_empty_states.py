"""A new install's pages are empty; each says what to do next rather than just "nothing here"."""

import pytest

from tests.factories import login, make_user

NEXT_STEPS = {
    "/surveys/": "No survey yet. Create one below",
    "/contacts/": "No contact yet: import a CSV below",
    "/teams/": "No teams yet. Create one below, then point a routing rule at it.",
    "/integrations/webhooks/": "No webhook endpoints yet. Add your CRM",
    "/templates/": "No templates yet. Add one below",
    "/announcements/": "None yet. When a fix ships, pick its topic",
    "/inbox/?tab=closed": "No item is closed yet. An item closes when its closing message is sent",
}


@pytest.mark.parametrize("path", sorted(NEXT_STEPS))
def test_every_empty_page_says_what_to_do_next(app, client, path):
    make_user("admin@example.com", role="admin", name="Alex")
    login(client, "admin@example.com")
    page = client.get(path)
    assert page.status_code == 200
    assert NEXT_STEPS[path] in page.get_data(as_text=True)
