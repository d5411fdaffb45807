"""What customers see, in Debian's chromium on a phone-sized screen: the survey email, one click,
the comment and follow-up, the confirmation; by keyboard alone; and an automated accessibility
check (axe-core, WCAG 2 A and AA rules) of every page and of the email with no serious violation."""

from __future__ import annotations

import re

from axe_playwright_python.base import AXE_SCRIPT

from tests.e2e.conftest import read_later
from tests.factories import make_contact, make_invitation, make_survey, make_user
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.routing.service import create_rule
from vocloop.surveys import service as surveys

PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


def serious_violations(page) -> list[str]:
    """axe-core's WCAG 2 A/AA rules on the page as it is now; the serious and critical findings.

    Only the violations are detailed and brought back: every rule still runs, but axe skips building
    selectors for the nodes that passed and the browser does not send them over (1.3 s -> 0.5 s on the
    inbox, the page walks' costliest step)."""
    page.evaluate(AXE_SCRIPT)
    violations = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                               "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, "
                               "resultTypes: ['violations']}).then(results => results.violations)")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120]}" for v in violations
            if v["impact"] in SERIOUS]


def test_a_customer_answers_from_the_email_on_a_phone_and_every_page_passes_axe(
        app, live_server, browser, sendgrid, drain, settings):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Support", action="team", team_id=dana.teams[0].id)
    survey = make_survey(followups={"neutral": "What would make it a 10?"}, brand_color="#0b5cad",
                         intro="You bought a plan last week.")
    contact = make_contact("ann@customer.example", name="Ann")
    surveys.send_invitations(survey, [contact.id])
    deliver_messages(outbox.take_queued_ids())
    read_later()
    [email] = sendgrid.emails()

    page = browser.new_page(viewport=PHONE)
    page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    assert len(serious_violations(page)) >= 2  # the checker does find what it should (alt text, label)
    page.set_content(email.html)  # the email itself, as a mail client shows it
    assert serious_violations(page) == []
    link = re.search(r'href="([^"]+\?score=8)"', email.html).group(1).replace(settings["VOCLOOP_BASE_URL"],
                                                                            live_server)
    page.goto(link)
    assert page.get_by_role("status").inner_text().startswith("Your score of 8 is saved.")  # a line, not a headline
    assert serious_violations(page) == []
    page.get_by_label("What is the main reason for your score?").fill("Setup took a while.")
    page.get_by_label("What would make it a 10?").fill("A setup guide for admins.")
    page.get_by_role("button", name="Send").click()
    page.get_by_text(re.compile("Dana from Support will get back to you within")).wait_for(timeout=15_000)
    assert serious_violations(page) == []
    drain()

    page.goto(link.split("?")[0] + "/unsubscribe")
    assert serious_violations(page) == []
    expired = make_invitation(survey, make_contact("old@customer.example"), expires_in_days=-1)
    response = page.goto(f"{live_server}/s/{expired}?score=3")
    assert response.status == 410 and "expired" in page.inner_text("main")
    assert serious_violations(page) == []


def test_the_answer_page_works_by_keyboard_alone(app, live_server, browser):
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/s/{token}?score=7")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    while page.evaluate("document.activeElement.name") != "score":
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "7"  # focus lands on the chosen score
    page.keyboard.press("ArrowLeft")  # arrow keys move the choice, as in any radio group
    page.keyboard.press("Tab")
    page.keyboard.type("Arrow keys changed my score.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("Thank you for your feedback.").wait_for(timeout=15_000)
    from vocloop.extensions import db
    from vocloop.responses.models import Response

    db.session.expire_all()
    answer = db.session.query(Response).one()
    assert (answer.score, answer.comment) == (6, "Arrow keys changed my score.")


def test_the_survey_and_contact_pages_pass_axe_too(app, live_server, browser):
    from tests.e2e.test_browser import sign_in

    make_user("lead@example.com", role="lead")
    survey = make_survey(followups={"negative": "What should we fix?"})
    page = browser.new_page()
    sign_in(page, live_server, "lead@example.com")
    for path in ("/surveys/", f"/surveys/{survey.id}", "/contacts/"):
        page.goto(live_server + path)
        assert serious_violations(page) == [], path
    for width in (390, 1366):  # "Again every [90] days" reads as one line (the field took the whole width)
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/surveys/{survey.id}")
        checkbox, field = page.get_by_label("Again every"), page.get_by_label("Days between sends")
        assert abs(checkbox.bounding_box()["y"] - field.bounding_box()["y"]) < 20, width
        assert field.bounding_box()["width"] < 120, width


def test_the_answer_a_verdict_link_chose_is_marked_not_filled_like_the_send_button(
        app, client, live_server, browser, drain):
    """The customer clicked "Yes" in the closing email: on the page "Yes" is ticked and tinted, and only
    "Send my answer" is a filled button (a filled "Yes" read as sent, and nothing was)."""
    from tests.integration.test_inbox import item_for_dana
    from vocloop.items import verdict_links
    from vocloop.items.service import close_with_message

    item, dana = item_for_dana(client, drain, comment="The export crashes")
    close_with_message(dana, item, "Hi Ann, the export is fixed.")
    drain()
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/v/{verdict_links.serializer().dumps(item.id)}?answer=yes")
    chosen, other = page.locator(".choices span").all()
    send = page.get_by_role("button", name="Send my answer")
    style = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
    assert chosen.evaluate(style) != send.evaluate(style)
    assert chosen.evaluate("e => getComputedStyle(e, '::before').content") == '"✓ "'
    assert other.evaluate("e => getComputedStyle(e, '::before').content") in ("none", "normal")
    assert chosen.evaluate("e => getComputedStyle(e).borderTopWidth") == "2px"
    assert serious_violations(page) == []
