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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.e2e.conftest import read_later
from tests.e2e.test_customer_pages import serious_violations
from tests.factories import csrf_from, make_contact, make_survey, make_user
from tests.integration.test_inbox import post_form
from vocloop.company import service as company
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.responses.models import Response
from vocloop.surveys import reminders
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

WIDTHS = (320, 390, 768, 1280)
AXE_WIDTHS = (390,)  # reflow, console and the scale are checked at every width; axe's rules read the same markup
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
    dark: bool = False  # checked in dark mode as well
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None


def score_rows(page) -> list[list[str]]:
    """The email's score buttons grouped by the row they are drawn on."""
    boxes = page.evaluate("[...document.querySelectorAll('a[href*=\"score=\"]')].map(a => "
                          "[a.textContent.trim(), Math.round(a.getBoundingClientRect().top)])")
    rows: dict[int, list[str]] = {}
    for label, top in boxes:
        rows.setdefault(top, []).append(label)
    return [rows[top] for top in sorted(rows)]


def the_whole_story(app, client, drain, sendgrid, base_url) -> list[Stop]:
    """Everything a customer can meet: the survey email (in English and in German), the reminder, the
    hand-over, the closing message and an announcement; the answer page (with a follow-up), the
    thank-you page of each score band, an answer already in, an expired link, unsubscribing and
    after, a link that records nothing any more, too many requests, a broken link, a score link a
    mail client mangled, and the verdict pages (the choice each link opens, the thanks after each
    answer, the choice again once answered, and a link past its days)."""
    admin = make_user("admin@example.com", role="admin", name="Alex Morgan")
    dana = make_user("dana@example.com", name="Dana Whitfield", team="Support")
    omar = make_user("omar@example.com", name="Omar Haddad", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey(company=None, title="Your experience with Acme Analytics",
                         intro="Thank you for being a customer this year.\n\nIt takes ten seconds.",
                         followups={"neutral": "What would make it a 10?"},
                         thanks={"negative": "We are sorry it was not better. Dana's team reads every word.",
                                 "neutral": "Thank you! We read every answer and use them to plan our work.",
                                 "positive": "You made our week. Thank you for being with us."},
                         review_url="https://www.trustpilot.com/review/acme.example")
    people = {name: make_contact(f"{name.lower()}@customer.example", name=f"{name} {last}")
              for name, last in (("Liam", "Patel"), ("Jonas", "Weber"), ("Maria", "Garcia"), ("Noah", "Smith"),
                                 ("Zoe", "Khan"), ("Aiko", "Tanaka"), ("Ravi", "Rossi"), ("Lina", "Okoye"),
                                 ("Ben", "Murphy"), ("Emma", "Novak"))}
    for name, contact in people.items():
        contact.first_name = name
    people["Jonas"].language = "de"
    db.session.commit()
    surveys.send_invitations(survey, [contact.id for contact in people.values()])
    for invitation in db.session.scalars(select(Invitation).where(Invitation.contact_id == people["Jonas"].id)):
        invitation.status, invitation.created_at = "delivered", utcnow() - timedelta(days=4)
    expired = db.session.scalar(select(Invitation).where(Invitation.contact_id == people["Aiko"].id))
    expired.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    reminders.send_reminders()
    deliver_messages(outbox.take_queued_ids())
    read_later()
    emails = {email.custom_args["vocloop_key"].split(":")[0] + ":" + email.to.split("@")[0]: email
              for email in sendgrid.emails()}

    def link(name: str) -> str:
        return re.search(r"/s/([\w-]+)\?score=3", emails[f"survey:{name.lower()}"].text).group(1)

    tokens = {name: link(name) for name in people}
    for name, score, comment in (("Maria", 2, "Support never answered my ticket."), ("Noah", 8, ""),
                                 ("Zoe", 10, "")):
        client.get(f"/s/{tokens[name]}?score={score}")
        client.post(f"/s/{tokens[name]}", data={"score": str(score), "comment": comment})
    client.post(f"/s/{tokens['Lina']}/unsubscribe")
    drain()
    from vocloop.items.models import FeedbackItem
    item = db.session.scalar(select(FeedbackItem))
    from tests.factories import login
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Billing.", "tell_customer": "y"})
    login(client, "omar@example.com")
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": (
        "Hi Maria,\r\n\r\nThank you for telling us. Your ticket had been assigned to a queue nobody watched; "
        "it is answered now, and we have fixed the queue.\r\n\r\nIf anything is still not right, just reply.")})
    client.post("/logout", data={"csrf_token": csrf_from(client.get(page).get_data(as_text=True))})
    drain()
    emails = {email.custom_args["vocloop_key"].split(":")[0] + ":" + email.to.split("@")[0]: email
              for email in sendgrid.emails()}
    verdict = re.search(r"(/v/\S+?)\?answer=yes", emails["closing:maria"].text).group(1)
    from unittest import mock

    from itsdangerous import TimestampSigner

    from vocloop.items import verdict_links
    with mock.patch.object(TimestampSigner, "get_timestamp",
                           lambda signer: int(time.time()) - verdict_links.MAX_AGE_SECONDS - 60):
        verdict_long_ago = "/v/" + verdict_links.serializer().dumps(item.id)
    from vocloop.announcements import service as announcements
    assert item.topics  # what Maria raised: the announcement goes to everyone who raised it
    announcement = announcements.create(admin, {"topic": item.topics[0], "subject": "We fixed the support queue",
                                                "body": "Some of you wrote that nobody answered your "
                                                        "ticket. A queue had no one watching it; every team now "
                                                        "has one, and all waiting tickets are answered.\n\n"
                                                        "Thank you for telling us."})
    _, announced = announcements.preview(admin, announcement, people["Maria"].id)
    s = base_url

    def limited(on: bool) -> None:
        app.config.update(RATELIMIT_ENABLED=on, RATELIMIT_PUBLIC="1 per hour")
        if on:
            client.get(f"/s/{tokens['Ben']}/thanks")  # the hour's one request: every visit after it is refused

    def just_sent() -> None:  # Emma clicks seconds after her email went out: the page asks once
        db.session.execute(update(Invitation).where(Invitation.contact_id == people["Emma"].id)
                           .values(sent_at=utcnow()))
        db.session.execute(update(Response).where(Response.contact_id == people["Emma"].id)
                           .values(status="pending", counted_by=None))
        db.session.commit()

    def not_yet_answered() -> None:  # each width starts from the choice a fresh link opens
        db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item.id)
                           .values(customer_verdict=None, verdict_at=None))
        db.session.commit()

    def said(answer: str, still_wrong: str = "") -> None:  # the verdict page's button, as the browser posts it
        client.post(verdict, data={"answer": answer, "still_wrong": still_wrong},
                    headers={"Sec-Fetch-Site": "same-origin"})

    return [Stop("email-survey", html=emails["survey:liam"].html, dark=True),
            Stop("email-survey-de", html=emails["survey:jonas"].html),
            Stop("email-reminder-de", html=emails["reminder:jonas"].html),
            Stop("email-hand-over", html=emails["handover:maria"].html, dark=True),
            Stop("email-closing", html=emails["closing:maria"].html, dark=True),
            Stop("email-announcement", html=announced["html"], dark=True),
            Stop("page-answer", url=f"{s}/s/{tokens['Liam']}?score=3", dark=True),
            Stop("page-answer-asked", url=f"{s}/s/{tokens['Emma']}?score=3", before=just_sent),
            Stop("page-answer-follow-up-de", url=f"{s}/s/{tokens['Jonas']}?score=7"),
            Stop("page-thanks-unhappy", url=f"{s}/s/{tokens['Maria']}/thanks"),
            Stop("page-thanks-passive", url=f"{s}/s/{tokens['Noah']}/thanks"),
            Stop("page-thanks-promoter", url=f"{s}/s/{tokens['Zoe']}/thanks", dark=True),
            Stop("page-already-answered", url=f"{s}/s/{tokens['Noah']}?score=9", status=409),
            Stop("page-expired", url=f"{s}/s/{tokens['Aiko']}?score=5", status=410),
            Stop("page-unsubscribe", url=f"{s}/s/{tokens['Ravi']}/unsubscribe"),
            Stop("page-unsubscribed", url=f"{s}/s/{tokens['Lina']}/unsubscribe"),
            Stop("page-unsubscribed-link", url=f"{s}/s/{tokens['Lina']}?score=9", status=409),
            Stop("page-not-found", url=f"{s}/s/this-link-was-cut-sho", status=404),
            Stop("page-score-mangled-de", url=f"{s}/s/{tokens['Jonas']}?score=3D7", status=422),
            Stop("page-verdict-yes", url=f"{s}{verdict}?answer=yes", before=not_yet_answered),
            Stop("page-verdict-no", url=f"{s}{verdict}?answer=no", dark=True),
            Stop("page-verdict-thanks-yes", url=f"{s}{verdict}/thanks", before=lambda: said("yes")),
            Stop("page-verdict-thanks-no", url=f"{s}{verdict}/thanks",
                 before=lambda: said("no", "The refund has still not arrived.")),
            Stop("page-verdict-changing", url=f"{s}{verdict}?answer=yes"),
            Stop("page-verdict-expired", url=f"{s}{verdict_long_ago}?answer=no", status=410),
            Stop("page-too-many-requests", url=f"{s}/s/{tokens['Ben']}/thanks", status=429,
                 before=lambda: limited(True), after=lambda: limited(False))]


def test_every_customer_email_and_page_fits_every_screen_and_passes_axe(
        app, client, live_server, browser, sendgrid, drain, settings):
    company.save_profile(company_name="Acme Analytics", brand_color="#0b5cad",
                         logo_url="https://cdn.acme.example/logo.svg",
                         postal_address="Acme Analytics Ltd\n1 Harbour Street\nBristol BS1 4XX",
                         privacy_url="https://acme.example/privacy")
    stops = the_whole_story(app, client, drain, sendgrid, live_server)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for width in WIDTHS:
        for scheme in ("light", "dark"):
            walked = [stop for stop in stops if scheme == "light" or stop.dark]
            if not walked or (scheme == "dark" and width not in (390,)):
                continue
            context = browser.new_context(viewport={"width": width, "height": 844}, color_scheme=scheme)
            context.route("https://cdn.acme.example/**", lambda route: route.fulfill(
                body=LOGO, content_type="image/svg+xml"))
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda message, seen=errors: seen.append((message.text, message.location.get("url")))
                    if message.type == "error" else None)
            page.on("pageerror", lambda error, seen=errors: seen.append((str(error), None)))
            for stop in walked:
                where = f"{stop.name} at {width} px ({scheme})"
                errors.clear()
                if stop.before:
                    stop.before()
                if stop.html is not None:
                    page.set_content(stop.html, wait_until="load")
                else:
                    answered = page.goto(stop.url)
                    if answered.status != stop.status:
                        problems.append(f"{where}: HTTP {answered.status}, expected {stop.status}")
                if stop.after:
                    stop.after()
                overflow = page.evaluate("document.documentElement.scrollWidth")
                if overflow > width:
                    problems.append(f"{where}: {overflow} px wide, scrolls sideways")
                if stop.name.startswith("email-survey") or stop.name.startswith("email-reminder"):
                    rows = score_rows(page)
                    tidy = [[str(n) for n in range(11)]] if width >= 768 else \
                        [[str(n) for n in range(6)], [str(n) for n in range(6, 11)]]
                    if rows != tidy and rows != [[str(n) for n in range(11)]]:
                        problems.append(f"{where}: score rows {rows}")
                if stop.name.startswith("page-answer"):
                    tops = set(page.evaluate("[...document.querySelectorAll('.scale label')].map(l => "
                                             "Math.round(l.getBoundingClientRect().top))"))
                    if len(tops) != (1 if width >= 480 else 2):  # 0–5 over 6–10 on a phone, as in the email
                        problems.append(f"{where}: the scale takes {len(tops)} rows")
                    box = page.locator("#comment").bounding_box()
                    if width == 390 and box["y"] + box["height"] > 844:
                        problems.append(f"{where}: the comment box ends at {box['y'] + box['height']:.0f} px, "
                                        "below a phone's first screen")
                if width in AXE_WIDTHS or scheme == "dark":
                    problems += [f"{where}: {finding}" for finding in serious_violations(page)]
                problems += [f"{where}: console: {text}" for text, url in errors
                             if not (url == stop.url and stop.status != 200 and "status of" in text)]
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
