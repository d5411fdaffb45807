"""The inbox finds an item the way a person remembers it (the customer's name, email or company,
the item's number), opens on a tab with something in it, and stays on the tab a bulk action was on."""

from tests.factories import csrf_from, login, make_contact, make_invitation, make_survey, make_user
from tests.integration.test_inbox_list import listed
from vocloop.extensions import db
from vocloop.jobs.tasks import triage_response
from vocloop.responses import service as responses


def two_items():
    for email, name, account, comment in (("ann@globex.example", "Ann Lindqvist", "Globex", "Invoice is wrong"),
                                          ("bo@initech.example", "Bo Tran", "Initech", "Support was slow")):
        token = make_invitation(make_survey(), make_contact(email, name=name, account=account))
        triage_response(responses.submit_comment(token, "2", comment))
    db.session.rollback()
    from sqlalchemy import select

    from vocloop.items.models import FeedbackItem
    return {item.contact.name: item for item in db.session.scalars(select(FeedbackItem))}


def test_search_finds_the_customers_name_email_company_and_the_item_number(app, client):
    make_user("admin@example.com", role="admin")
    items = two_items()
    ann, bo = items["Ann Lindqvist"].id, items["Bo Tran"].id
    login(client, "admin@example.com")
    assert listed(client, "tab=team&q=lindqvist") == [ann]
    assert listed(client, "tab=team&q=bo@initech") == [bo]
    assert listed(client, "tab=team&q=Globex") == [ann]
    assert listed(client, f"tab=team&q=%23{bo}") == [bo]  # "#12"
    assert listed(client, f"tab=team&q={bo}") == [bo]
    assert listed(client, "tab=team&q=invoice") == [ann]  # comments still
    items["Ann Lindqvist"].contact.account.name = "Globex Corporation"  # a company name not in any address
    db.session.commit()
    assert listed(client, "tab=team&q=corporation") == [ann]
    assert listed(client, "tab=team&q=priority") == []  # the timeline's own words ("Opened with priority") are no note
    html = client.get("/inbox/?tab=team").get_data(as_text=True)
    assert 'placeholder="name, email, company, #number, comment or note"' in html


def test_an_admin_with_nothing_of_their_own_opens_on_the_team_tab(app, client):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="to Dana", action="user", user_id=dana.id)
    two_items()
    login(client, "admin@example.com")
    html = client.get("/inbox/").get_data(as_text=True)
    assert 'aria-current="page">All open (2)' in html and len(listed(client, "")) == 2  # no team: every item
    assert 'aria-current="page">Mine' in client.get("/inbox/?tab=mine").get_data(as_text=True)  # asked for
    login(client, "dana@example.com")
    assert 'aria-current="page">Mine (2)' in client.get("/inbox/").get_data(as_text=True)


def test_bulk_apply_comes_back_to_the_tab_and_filters_it_was_on(app, client):
    make_user("admin@example.com", role="admin")
    items = two_items()
    login(client, "admin@example.com")
    page = client.get("/inbox/?tab=team&q=slow").get_data(as_text=True)
    assert 'name="back" value="tab=team&amp;q=slow"' in page
    done = client.post("/inbox/bulk", data={"csrf_token": csrf_from(page), "item_ids": [str(items["Bo Tran"].id)],
                                            "status": "waiting", "back": "tab=team&q=slow"})
    assert done.status_code == 303 and done.headers["Location"] == "/inbox/?tab=team&q=slow"
    evil = client.post("/inbox/bulk", data={"csrf_token": csrf_from(page), "item_ids": [],
                                            "back": "tab=x&next=https://evil.example"})
    assert evil.headers["Location"].startswith("/inbox/")


def test_empty_tabs_say_what_to_do_next_and_rare_filters_fold_away(app, client):
    make_user("admin@example.com", role="admin")
    make_user("dana@example.com", name="Dana")
    two_items()
    login(client, "dana@example.com")
    mine = client.get("/inbox/?tab=mine").get_data(as_text=True)
    assert "Nothing needs you right now" in mine
    assert '<details class="more-filters" >' in mine or '<details class="more-filters">' in mine  # folded
    login(client, "admin@example.com")
    none = client.get("/inbox/?tab=team&q=nobody-like-this").get_data(as_text=True)
    assert "No item matches “nobody-like-this” on this tab." in none and "Clear the search and filters" in none
    filtered = client.get("/inbox/?tab=team&priority=P4&sentiment=positive").get_data(as_text=True)
    assert '<details class="more-filters" open>' in filtered and "More filters (2 set)" in filtered
