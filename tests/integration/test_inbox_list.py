"""The inbox list: filters, search over comments and notes, keyset pages, and bulk actions."""

import re

from sqlalchemy import select

from tests.factories import csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.jobs.tasks import triage_response
from vocloop.mail.models import Message
from vocloop.responses import service as responses
from vocloop.routing.service import create_rule

ITEM_LINK = re.compile(r'href="/inbox/items/(\d+)"')


def seed(count, owner, comments=("Invoice is wrong", "Support was slow", "App crashes 100% of the time")):
    for index in range(count):
        token = make_invitation(make_survey(), make_contact(f"c{index}@customer.example"))
        triage_response(responses.submit_comment(token, str(index % 7), comments[index % len(comments)]))
    db.session.rollback()
    return list(db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.id)))


def pages(client, url):
    """Each page's HTML, following its Next link to the last."""
    while url:
        html = client.get(url).get_data(as_text=True)
        yield html
        following = re.search(r'href="([^"]+)" rel="next"', html)
        url = following.group(1).replace("&amp;", "&") if following else None


def listed(client, query):
    return [int(i) for i in ITEM_LINK.findall(client.get(f"/inbox/?{query}").get_data(as_text=True))]


def test_filters_and_search_narrow_the_list(app, client):
    admin = make_user("admin@example.com", role="admin")
    all_items = seed(9, admin)
    items.add_note(admin, all_items[0], "Called the customer about the refund")
    login(client, "admin@example.com")
    assert sorted(listed(client, "tab=team")) == [item.id for item in all_items]
    billing = listed(client, "tab=team&topic=billing")
    assert billing and all("billing" in db.session.get(FeedbackItem, i).response.topics for i in billing)
    crashes = sorted(i.id for i in all_items if "crashes" in i.response.comment)
    assert sorted(listed(client, "tab=team&q=crashes")) == crashes
    assert listed(client, "tab=team&q=refund") == [all_items[0].id]  # found in a note
    assert sorted(listed(client, "tab=team&q=100%25")) == crashes  # % is a character, not a wildcard
    assert listed(client, "tab=team&q=1_0") == []
    p1 = listed(client, "tab=team&priority=P1")
    assert p1 and all(db.session.get(FeedbackItem, i).priority == "P1" for i in p1)
    assert listed(client, "tab=team&from=2000-01-01&to=2000-01-02") == []
    assert client.get("/inbox/?tab=team&priority=P9&from=nonsense").status_code == 200  # bad values ignored


def test_each_tab_and_each_filter_lists_exactly_the_items_it_names(app, client):
    """Waiting, Closed and Team; a status, survey, owner, sentiment and a range of days (both ends whole
    days, as a person means them): each narrows the list to the items it names and keeps every one of them
    (mutation testing items/queries.py: each of these could be dropped or inverted with every test green)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from vocloop.responses.models import Response
    admin = make_user("admin@example.com", role="admin")
    omar = make_user("omar@example.com", name="Omar")
    first, waiting, working, closed, late = seed(5, admin)
    other_survey = make_survey(name="Onboarding")
    day = datetime(2026, 11, 10, tzinfo=UTC)
    facts = {first: {"created_at": day.replace(hour=0)},  # the first instant of the 10th
             waiting: {"status": "waiting", "owner_id": omar.id, "created_at": day.replace(hour=23, minute=59)},
             working: {"status": "in_progress", "survey_id": other_survey.id, "created_at": day.replace(day=11)},
             closed: {"status": "closed", "closed_at": day, "created_at": day.replace(day=9, hour=23, minute=59)},
             late: {"created_at": day.replace(day=12)}}
    for item, values in facts.items():
        db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item.id).values(**values))
    db.session.execute(update(Response).values(sentiment_label="negative"))
    db.session.execute(update(Response).where(Response.id == working.response_id).values(sentiment_label="positive"))
    db.session.commit()
    login(client, "admin@example.com")
    ids = lambda *chosen: sorted(item.id for item in chosen)  # noqa: E731
    assert sorted(listed(client, "tab=team")) == ids(first, waiting, working, late)
    assert listed(client, "tab=waiting") == [waiting.id]
    assert listed(client, "tab=closed") == [closed.id]
    assert listed(client, "tab=team&status=in_progress") == [working.id]
    assert listed(client, f"tab=team&survey_id={other_survey.id}") == [working.id]
    assert listed(client, f"tab=team&owner_id={omar.id}") == [waiting.id]
    assert listed(client, "tab=team&sentiment=positive") == [working.id]
    assert sorted(listed(client, "tab=team&sentiment=negative")) == ids(first, waiting, late)
    assert sorted(listed(client, "tab=team&from=2026-11-10&to=2026-11-10")) == ids(first, waiting)
    assert sorted(listed(client, "tab=team&from=2026-11-11&to=2026-11-12")) == ids(working, late)


def test_pages_follow_each_other_without_gaps_or_repeats(app, client):
    from vocloop.inbox import views
    admin = make_user("admin@example.com", role="admin")
    all_items = seed(7, admin)
    login(client, "admin@example.com")
    views.PAGE_SIZE = 3
    try:
        seen = [int(i) for html in pages(client, "/inbox/?tab=team") for i in ITEM_LINK.findall(html)]
    finally:
        views.PAGE_SIZE = 50
    assert sorted(seen) == [item.id for item in all_items] and len(seen) == len(set(seen))


def test_each_page_says_which_items_it_shows_of_how_many_and_leads_back_to_the_first(app, client):
    """Seven items, three a page: "Items 1–3 of 7", then "4–6", then "Item 7" with no Next; after the first,
    a way back to it; searching, the list no longer says "of 7" (the tab's count is not the search's)."""
    from vocloop.inbox import views
    make_user("admin@example.com", role="admin")
    seed(7, None)
    login(client, "admin@example.com")
    views.PAGE_SIZE = 3
    try:
        seen = []
        for html in pages(client, "/inbox/?tab=team"):
            paging = " ".join(re.search(r'<p class="paging" id="paging">(.*?)</p>', html, re.S).group(1).split())
            seen.append((re.sub(r"<[^>]+>", "", paging), "First page" in paging))
        searched = client.get("/inbox/?tab=team&q=invoice").get_data(as_text=True)
    finally:
        views.PAGE_SIZE = 50
    assert seen == [("Items 1–3 of 7 · Next page →", False), ("Items 4–6 of 7 · ← First page · Next page →", True),
                    ("Item 7 of 7 · ← First page", True)]
    assert "Items 1–3</span>" in searched and " of 7" not in searched


def test_open_tabs_page_by_urgency_and_the_closed_tab_newest_first_without_gaps(app, client):
    """Open items by their closing message's due time, the most urgent first; closed ones by when they were
    closed, the newest first; equal times by number; and the pages carry on exactly where the last stopped
    (mutation testing items/queries.py: either order, a tie's order and the closed tab's cursor could be
    changed with every test green)."""
    from datetime import timedelta

    from sqlalchemy import update

    from vocloop.db import utcnow
    from vocloop.inbox import views
    make_user("admin@example.com", role="admin")
    all_items = seed(7, None)
    base = utcnow().replace(microsecond=0)
    due = [5, 1, 2, 2, 0, 6, 3]  # hours from now; two due at the same time, across the first page's end
    for item, hours in zip(all_items, due, strict=True):
        db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item.id)
                           .values(close_due_at=base + timedelta(hours=hours)))
    db.session.commit()
    login(client, "admin@example.com")

    def walk(tab):
        seen, url = [], f"/inbox/?tab={tab}"
        while url:
            html = client.get(url).get_data(as_text=True)
            seen += [int(i) for i in ITEM_LINK.findall(html)]
            following = re.search(r'href="([^"]+)" rel="next"', html)
            url = following.group(1).replace("&amp;", "&") if following else None
        return seen

    views.PAGE_SIZE = 3
    try:
        urgent_first = [item.id for _, item in sorted(zip(due, all_items, strict=True),
                                                      key=lambda pair: (pair[0], pair[1].id))]
        assert walk("team") == urgent_first
        for item, hours in zip(all_items, due, strict=True):  # closed 0-6 hours ago, two at the same moment
            db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item.id)
                               .values(status="closed", closed_at=base - timedelta(hours=hours)))
        db.session.commit()
        assert walk("closed") == [item.id for _, item in sorted(zip(due, all_items, strict=True),
                                                                 key=lambda pair: (pair[0], -pair[1].id))]
    finally:
        views.PAGE_SIZE = 50


def test_an_owners_tab_counts_are_of_the_items_they_may_see(app, client):
    """Another team's items are in no count of Dana's (the tab counts read every tab's visible items)."""
    make_user("admin@example.com", role="admin")
    make_user("dana@example.com", name="Dana", team="Support")
    zed = make_user("zed@example.com", name="Zed", team="Billing")
    create_rule(name="to Zed", action="user", user_id=zed.id)
    seed(2, None)
    login(client, "dana@example.com")
    html = client.get("/inbox/?tab=team").get_data(as_text=True)
    assert "Team (0)" in html and "Mine (0)" in html and ITEM_LINK.findall(html) == []
    login(client, "zed@example.com")
    assert "Team (2)" in client.get("/inbox/?tab=team").get_data(as_text=True)


def test_leads_reassign_and_set_status_in_bulk_and_owners_cannot(app, client):
    make_user("admin@example.com", role="admin")
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Lee", action="user", user_id=lee.id)
    chosen = [item.id for item in seed(4, lee)[:3]]
    login(client, "lee@example.com")
    token = csrf_from(client.get("/inbox/").get_data(as_text=True))
    done = client.post("/inbox/bulk", data={"csrf_token": token, "item_ids": [str(i) for i in chosen],
                                            "owner_id": str(dana.id), "note": "Dana covers this week",
                                            "status": "waiting"})
    assert done.status_code == 303, done.get_data(as_text=True)[-600:]
    db.session.rollback()
    for item_id in chosen:
        item = db.session.get(FeedbackItem, item_id)
        assert item.owner_id == dana.id and item.status == "waiting"
    # a hand-over in bulk tells no customer: the one-by-one hand-over asks first
    assert db.session.scalar(select(Message.id).where(Message.kind == "handover")) is None
    no_note = client.post("/inbox/bulk", data={"csrf_token": token, "item_ids": [str(chosen[0])],
                                               "owner_id": str(lee.id), "note": ""})
    assert no_note.status_code == 303
    db.session.rollback()
    assert db.session.get(FeedbackItem, chosen[0]).owner_id == dana.id  # refused: a hand-over needs a note
    login(client, "dana@example.com")
    token = csrf_from(client.get("/inbox/").get_data(as_text=True))
    assert client.post("/inbox/bulk", data={"csrf_token": token, "item_ids": [str(chosen[0])],
                                            "status": "open"}).status_code == 403


def test_an_answer_without_words_says_no_comment_in_the_list(app, client):
    """A bare "Comment:" on a phone's card read as a page that failed to load."""
    admin = make_user("admin@example.com", role="admin")
    [silent, spoken] = seed(2, admin, comments=("", "Support was slow"))
    assert silent.response.comment in (None, "")
    login(client, "admin@example.com")
    html = client.get("/inbox/?tab=team").get_data(as_text=True)
    comment_of = re.compile(r'href="/inbox/items/(\d+)".*?(<td data-label="Comment">.*?</td>)', re.DOTALL)
    rows = {int(number): row for number, row in comment_of.findall(html)}
    assert rows[silent.id] == '<td data-label="Comment"><span class="muted">No comment</span></td>'
    assert rows[spoken.id] == '<td data-label="Comment">Support was slow</td>'
