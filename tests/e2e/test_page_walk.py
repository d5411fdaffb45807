"""The page walk: every email and page a customer can meet, in Debian's chromium at 320, 390, 768
and 1280 px wide: no horizontal scrolling, no console error, no serious or critical axe-core
finding (emails in dark mode too), the email's score scale on one row or two tidy ones.

Every screenshot is written to build/customer-pages/ (VOCLOOP_SCREENSHOTS elsewhere) with an
index.html that shows them all side by side. What is drawn does not depend on the database, so the
walk runs in the SQLite pass only (CI's PostgreSQL pass skips it to stay within its time budget).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from sqlalchemy import select

from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.e2e.test_customer_pages import SERIOUS
from tests.factories import make_contact, make_survey, make_user
from tests.integration.test_inbox import post_form
from vocloop.company import service as company
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.surveys import reminders
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

WIDTHS = (320, 390, 768, 1280)
AXE_WIDTHS = (320, 1280)  # reflow is checked at every width; axe's rules read the same markup
SHOTS = Path(os.environ.get("VOCLOOP_SCREENSHOTS") or ROOT / "build" / "customer-pages")
LOGO = ('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><rect width="160" height="40" rx="6" '
        'fill="#0b5cad"/><text x="14" y="26" font-family="Arial" font-size="17" font-weight="bold" fill="#fff">'
        'Acme Analytics</text></svg>')

pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="drawn the same on both databases: SQLite pass only")


@dataclass
class Stop:
    name: str
    html: str | None = None  # an email, as a mail client shows it
    url: str | None = None  # a page, as the customer's browser opens it
    status: int = 200
    dark: bool = False  # an email, checked in dark mode as well


def axe_findings(page) -> list[str]:
    page.evaluate(AXE_SCRIPT)
    results = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: "
                            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:100]}" for v in results["violations"]
            if v["impact"] in SERIOUS]


def score_rows(page) -> list[list[str]]:
    """The email's score buttons grouped by the row they are drawn on."""
    boxes = page.evaluate("[...document.querySelectorAll('a[href*=\"score=\"]')].map(a => "
                          "[a.textContent.trim(), Math.round(a.getBoundingClientRect().top)])")
    rows: dict[int, list[str]] = {}
    for label, top in boxes:
        rows.setdefault(top, []).append(label)
    return [rows[top] for top in sorted(rows)]


def emails_of_the_loop(client, drain, sendgrid, live_server, base_url) -> list[Stop]:
    """A customer's whole story by email: the survey (in English and in German), the reminder, the
    hand-over and the closing message."""
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana Whitfield", team="Support")
    omar = make_user("omar@example.com", name="Omar Haddad", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey(company=None, title="Your experience with Acme Analytics",
                         intro="Thank you for being a customer this year.\n\nIt takes ten seconds.",
                         followups={"neutral": "What would make it a 10?"})
    liam = make_contact("liam@customer.example", name="Liam Patel")
    jonas = make_contact("jonas@customer.example", name="Jonas Weber")
    liam.first_name, jonas.first_name, jonas.language = "Liam", "Jonas", "de"
    db.session.commit()
    surveys.send_invitations(survey, [liam.id, jonas.id])
    for invitation in db.session.scalars(select(Invitation).where(Invitation.contact_id == jonas.id)):
        invitation.status, invitation.created_at = "delivered", utcnow() - timedelta(days=4)
    db.session.commit()
    reminders.send_reminders()
    deliver_messages(outbox.take_queued_ids())
    by_key = {email.custom_args["vocloop_key"].split(":")[0] + ":" + email.to: email for email in sendgrid.emails()}
    token = re.search(r"/s/([\w-]+)\?score=3", by_key["survey:liam@customer.example"].text).group(1)
    client.get(f"/s/{token}?score=3")
    client.post(f"/s/{token}", data={"score": "3", "comment": "Support never answered my ticket."})
    drain()
    from vocloop.items.models import FeedbackItem
    item = db.session.scalar(select(FeedbackItem))
    from tests.factories import login
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Billing.", "tell_customer": "y"})
    login(client, "omar@example.com")
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": (
        "Hi Liam,\r\n\r\nThank you for telling us. Your ticket had been assigned to a queue nobody watched; "
        "it is answered now, and we have fixed the queue.\r\n\r\nIf anything is still not right, just reply.")})
    drain()
    emails = {email.custom_args["vocloop_key"].split(":")[0] + ":" + email.to: email for email in sendgrid.emails()}
    return [Stop("email-survey", html=emails["survey:liam@customer.example"].html, dark=True),
            Stop("email-survey-de", html=emails["survey:jonas@customer.example"].html),
            Stop("email-reminder-de", html=emails["reminder:jonas@customer.example"].html),
            Stop("email-hand-over", html=emails["handover:liam@customer.example"].html, dark=True),
            Stop("email-closing", html=emails["closing:liam@customer.example"].html, dark=True)]


def test_every_customer_email_and_page_fits_every_screen_and_passes_axe(
        app, client, live_server, browser, sendgrid, drain, settings):
    company.save_profile(company_name="Acme Analytics", brand_color="#0b5cad",
                         logo_url="https://cdn.acme.example/logo.svg",
                         postal_address="Acme Analytics Ltd\n1 Harbour Street\nBristol BS1 4XX",
                         privacy_url="https://acme.example/privacy")
    stops = emails_of_the_loop(client, drain, sendgrid, live_server, settings["VOCLOOP_BASE_URL"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for width in WIDTHS:
        for scheme in ("light", "dark"):
            walked = [stop for stop in stops if scheme == "light" or stop.dark]
            if not walked or (scheme == "dark" and width not in (390,)):
                continue
            context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
            context.route("https://cdn.acme.example/**", lambda route: route.fulfill(
                body=LOGO, content_type="image/svg+xml"))
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda message, seen=errors: seen.append(message.text) if message.type == "error"
                    else None)
            page.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
            for stop in walked:
                where = f"{stop.name} at {width} px ({scheme})"
                errors.clear()
                if stop.html is not None:
                    page.set_content(stop.html, wait_until="load")
                else:
                    answered = page.goto(stop.url)
                    if answered.status != stop.status:
                        problems.append(f"{where}: HTTP {answered.status}, expected {stop.status}")
                overflow = page.evaluate("document.documentElement.scrollWidth")
                if overflow > width:
                    problems.append(f"{where}: {overflow} px wide, scrolls sideways")
                if stop.name.startswith("email-survey") or stop.name.startswith("email-reminder"):
                    rows = score_rows(page)
                    tidy = [[str(n) for n in range(11)]] if width >= 768 else \
                        [[str(n) for n in range(6)], [str(n) for n in range(6, 11)]]
                    if rows != tidy and rows != [[str(n) for n in range(11)]]:
                        problems.append(f"{where}: score rows {rows}")
                if width in AXE_WIDTHS or scheme == "dark":
                    problems += [f"{where}: {finding}" for finding in axe_findings(page)]
                problems += [f"{where}: console: {error}" for error in errors]
                page.screenshot(path=str(SHOTS / f"{stop.name}-{width}{'-dark' if scheme == 'dark' else ''}.png"),
                                full_page=True)
            context.close()
    _contact_sheet(stops)
    assert problems == []


def _contact_sheet(stops: list[Stop]) -> None:
    """index.html: one row per email or page, one column per width, to look at them all at once."""
    rows = []
    for stop in stops:
        cells = "".join(f'<td><a href="{stop.name}-{w}.png"><img src="{stop.name}-{w}.png" width="{w // 4}" '
                        f'alt="{stop.name} at {w} px"></a></td>' for w in WIDTHS)
        if stop.dark:
            cells += f'<td><a href="{stop.name}-390-dark.png"><img src="{stop.name}-390-dark.png" width="97" ' \
                     f'alt="{stop.name} dark"></a></td>'
        rows.append(f"<tr><th>{escape(stop.name)}</th>{cells}</tr>")
    head = "".join(f"<th>{w} px</th>" for w in WIDTHS) + "<th>390 px, dark</th>"
    (SHOTS / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>vocloop: what customers see</title>"
        "<style>body{font:14px system-ui}td{vertical-align:top;padding:4px}th{text-align:left}</style>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>", encoding="utf-8")
