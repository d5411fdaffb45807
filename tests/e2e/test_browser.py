"""The loop in a real browser (Debian's chromium driven by Playwright): customer, owner, lead.

(Fixtures and the chromium check: tests/e2e/conftest.py.)
"""

from __future__ import annotations

import re

from tests.e2e.conftest import read_later
from tests.factories import PASSWORD, make_contact, make_survey, make_user
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.routing.service import create_rule
from vocloop.surveys import service as surveys


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_customer_owner_and_lead_close_the_loop_in_a_browser(app, live_server, browser, sendgrid, drain,
                                                            settings):
    make_user("admin@example.com", role="admin")
    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="unhappy to Dana", action="user", user_id=dana.id, conditions={"bands": ["negative"]})
    contact = make_contact("ann@customer.example", name="Ann")
    surveys.send_invitations(make_survey(), [contact.id])
    deliver_messages(outbox.take_queued_ids())
    read_later()
    [email] = sendgrid.emails()
    link = re.search(r'href="([^"]+\?score=9)"', email.html).group(1)
    link = link.replace(settings["VOCLOOP_BASE_URL"], live_server)  # the worker may build links elsewhere

    customer = browser.new_page(viewport={"width": 390, "height": 844})
    customer.goto(link)
    assert customer.get_by_role("status").inner_text().startswith("Your score of 9 is saved.")
    customer.get_by_text("3", exact=True).click()  # changes her mind: the score labels are the radio buttons
    customer.get_by_label("What is the main reason for your score?").fill("Invoices are wrong every month.")
    customer.get_by_role("button", name="Send").click()
    customer.get_by_text(re.compile("Dana will get back to you within")).wait_for(timeout=15_000)
    drain()

    owner = browser.new_page()
    sign_in(owner, live_server, "dana@example.com")
    owner.get_by_role("link", name=re.compile(r"#\d+")).first.click()
    assert "Invoices are wrong every month." in owner.inner_text("main")
    assert "answered 3" in owner.inner_text("h2 >> nth=0")
    owner.get_by_label("Internal note").fill("Checked billing: a tax rule was wrong.")
    owner.get_by_role("button", name="Add note").click()
    owner.get_by_label("Message to Ann").fill("Hi Ann,\n\nWe fixed the tax rule; next invoice is right.")
    owner.get_by_role("button", name="Send closing message").click()
    owner.get_by_text("Closing message queued").wait_for()  # the POST's redirect has landed
    drain()
    owner.reload()
    assert "loop closed" in owner.inner_text("h1")
    closing = [e for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("closing:")]
    assert [e.to for e in closing] == ["ann@customer.example"]

    lead = browser.new_page()
    sign_in(lead, live_server, "lee@example.com")
    lead.get_by_role("link", name="Metrics").click()
    assert "100.0%" in lead.inner_text(".tiles")


def test_an_owners_day_note_hand_over_close_reply_reopen(app, live_server, browser, client, sendgrid, drain):
    from sqlalchemy import select

    from tests.factories import answer, make_invitation
    from vocloop.extensions import db
    from vocloop.items.models import FeedbackItem

    app.config.update(REPLY_DOMAIN="reply.example.com", INBOUND_PARSE_SECRET="inbound-secret-for-the-test-0123")
    make_user("admin@example.com", role="admin", name="Alex")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    make_user("omar@example.com", name="Omar", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example", name="Ann")), 1,
           "Still waiting for my refund <script>alert('x')</script>")
    drain()

    page = browser.new_page()
    page.on("dialog", lambda dialog: (_ for _ in ()).throw(AssertionError("a script ran")))
    sign_in(page, live_server, "dana@example.com")
    page.get_by_role("link", name=re.compile(r"#\d+")).first.click()
    main = page.inner_text("main")
    assert "Still waiting for my refund <script>alert('x')</script>" in main  # shown as text, inert
    assert "Ann’s history" in main and "Answered 1/10" in main
    # the page's main act is the filled button; the classifier's label in force is a ticked, tinted chip
    filled = "e => getComputedStyle(e).backgroundColor"
    in_force = page.locator('form.correct button[name=label][aria-pressed="true"]')
    assert in_force.evaluate(filled) != page.get_by_role("button", name="Send closing message").evaluate(filled)
    assert in_force.evaluate("e => getComputedStyle(e).color") != "rgb(255, 255, 255)"
    page.get_by_label("Internal note").fill("Refund approved by finance.")
    page.get_by_role("button", name="Add note").click()
    assert "Refund approved by finance." in page.inner_text("main")
    page.get_by_label("Message to Ann").fill("Hi Ann,\n\nYour refund is on its way.")
    page.get_by_role("button", name="Preview").click()
    preview = page.frame_locator("iframe.preview")
    preview.get_by_text("Your refund is on its way.").wait_for()
    page.get_by_role("button", name="Send closing message").click()
    page.get_by_text("Closing message queued").wait_for()  # reloading mid-redirect detaches the page
    drain()
    page.reload()
    assert "loop closed" in page.inner_text("h1")

    admin = browser.new_page()
    sign_in(admin, live_server, "admin@example.com")
    more = admin.get_by_role("navigation", name="Main").locator("summary")  # the "More" menu, by keyboard
    more.focus()
    admin.keyboard.press("Enter")
    admin.get_by_role("link", name="Outbox (dev)").click()
    assert "Re: A quick question from Acme" in admin.inner_text("main")

    [closing] = [e for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("closing:")]
    reply = client.post("/webhooks/sendgrid/inbound/inbound-secret-for-the-test-0123", data={
        "to": closing.reply_to, "from": "Ann <ann@customer.example>", "subject": "Re: refund",
        "text": "Thanks! Received it.\n\nOn Tue, Dana wrote:\n> Your refund is on its way.",
        "headers": "Message-ID: <r1@customer.example>\n"})
    assert reply.json["status"] == "attached"
    page.reload()
    assert "Thanks! Received it." in page.inner_text("main") and "in progress" in page.inner_text("h1")
    db.session.rollback()
    assert db.session.scalar(select(FeedbackItem.status)) == "in_progress"


def test_select_all_ticks_every_item_and_pages_work_without_script(app, live_server, browser, client, drain):
    from tests.factories import answer, make_invitation
    make_user("admin@example.com", role="admin")
    make_user("lee@example.com", role="lead", team="Support")
    for index in range(3):
        answer(client, make_invitation(make_survey(), make_contact(f"c{index}@customer.example")), 1, "Bad")
    drain()
    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        sign_in(page, live_server, "admin@example.com")
        page.goto(f"{live_server}/inbox/?tab=team")
        page.get_by_label("Select all items on this page").check()
        ticked = page.locator('input[name="item_ids"]:checked').count()
        assert ticked == (3 if javascript else 0)
        context.close()


def test_on_a_phone_a_whole_inbox_card_opens_its_item_and_its_checkbox_only_ticks(app, live_server, browser, client,
                                                                                   drain):
    """The inbox's rows are cards on a phone: the "#85" alone was a small target, so the whole card is its
    link; the checkbox in it still only selects, and on a screen the row is a table row as before."""
    from tests.factories import answer, make_invitation
    make_user("admin@example.com", role="admin")
    make_user("lee@example.com", role="lead", team="Support")
    for index in range(2):
        answer(client, make_invitation(make_survey(), make_contact(f"c{index}@customer.example")), 1, "Bad")
    drain()
    for width, opens in ((390, True), (1366, False)):
        page = browser.new_page(viewport={"width": width, "height": 900})
        sign_in(page, live_server, "admin@example.com")  # the items fell back to the admin; a lead's tab alike
        page.goto(f"{live_server}/inbox/?tab=team")
        card = page.locator("table.list tbody tr").first
        item_link = card.locator("td.id a").get_attribute("href")
        card.locator('input[name="item_ids"]').click()
        assert card.locator('input[name="item_ids"]').is_checked() and page.url.endswith("/inbox/?tab=team")
        box = card.locator('td[data-label="Comment"]').bounding_box()  # the card's middle, its comment
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if opens:
            page.wait_for_url(f"**{item_link}")
        else:
            page.wait_for_timeout(500)
            assert page.url.endswith("/inbox/?tab=team")
        page.close()


def test_the_interactive_api_page_works_offline_under_the_pages_security_policy(app, live_server, browser):
    page = browser.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server) and not request.url.startswith("data:") else None)
    page.goto(f"{live_server}/api/docs")
    page.get_by_text("/api/v1/webhooks/{endpoint_id}/deliveries", exact=True).first.wait_for(timeout=15_000)
    page.get_by_text("/api/v1/items", exact=True).first.click()
    page.get_by_text("Items the token's user may see").first.wait_for(timeout=5_000)
    assert refused == [] and outside == []
