"""The main navigation: a short bar of everyday pages, the rest under "More" (a <details> menu that
works without JavaScript), each role seeing only the pages it may open."""

import re

from tests.factories import login, make_user


def nav(client, path):
    html = client.get(path).get_data(as_text=True)
    main = html[html.index('<nav aria-label="Main"'):html.index("</nav>")]
    bar, more = main.split('<details class="nav-more">')
    return re.findall(r">([^<>]+)</a>", bar), re.findall(r">([^<>]+)</a>", more), main


def test_each_role_gets_a_short_bar_and_the_rest_under_more(app, client):
    make_user("admin@example.com", role="admin", name="Alex")
    make_user("lee@example.com", role="lead", name="Lee")
    make_user("dana@example.com", name="Dana")

    login(client, "dana@example.com")
    bar, more, main = nav(client, "/inbox/")
    assert bar == ["Inbox"] and more == ["Settings"] and ">Sign out</button>" in main  # the outbox: admins'
    assert '<a href="/inbox/" aria-current="page">Inbox</a>' in main and 'summary class="current"' not in main

    login(client, "lee@example.com")
    bar, more, main = nav(client, "/templates/")
    assert bar == ["Inbox", "Surveys", "Metrics"]
    assert more == ["Contacts", "Announcements", "Routing", "Teams", "Topics", "Closing templates", "Settings"]
    assert '<summary class="current">' in main  # the page open is under "More": the button says so
    assert '<a href="/templates/" aria-current="page">Closing templates</a>' in main

    login(client, "admin@example.com")
    bar, more, main = nav(client, "/metrics/")
    assert bar == ["Inbox", "Surveys", "Metrics"] and '<summary class="current">' not in main
    assert more[6:9] == ["People", "Company", "Webhooks"] and len(more) == 11
