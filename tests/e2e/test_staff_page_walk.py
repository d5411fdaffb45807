"""The staff page walk: every page an owner, a lead and an admin can open, on the demo company, in
Debian's chromium at 390 and 1,366 px wide: no horizontal scrolling, no console error; and no serious
or critical axe-core finding, checked once per page (the server sends the same markup at both widths).

Every screenshot is written to build/staff-pages/ (VOCLOOP_STAFF_SCREENSHOTS elsewhere) with an
index.html that shows them side by side. SQLite pass only, like the customer walk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.e2e.test_customer_pages import serious_violations
from vocloop.accounts.models import User
from vocloop.announcements import service as announcements
from vocloop.announcements.models import Announcement
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.demo import DEMO_PASSWORD, seed_demo
from vocloop.extensions import db
from vocloop.items.models import ClosingTemplate, FeedbackItem
from vocloop.items.permissions import visible_items_filter
from vocloop.mail.models import Message
from vocloop.outbound.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from vocloop.routing.models import RoutingRule
from vocloop.surveys.models import Survey
from vocloop.themes import service as themes

WIDTHS = (390, 1366)
AXE_WIDTH = 390
SHOTS = Path(os.environ.get("VOCLOOP_STAFF_SCREENSHOTS") or ROOT / "build" / "staff-pages")
ROLES = {"owner": "dana@example.com", "lead": "lee@example.com", "admin": "admin@example.com"}

pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="drawn the same on both databases: SQLite pass only")


@dataclass
class Stop:
    name: str
    path: str
    status: int = 200


def visible(user: User) -> tuple:
    return () if user.role == "admin" else (visible_items_filter(user),)


def stops_for(role: str, user: User) -> list[Stop]:
    """The pages this role can open, with a real item, survey, contact and email of the demo."""
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.owner_id == user.id,
                                                        FeedbackItem.status != "closed")
                             .order_by(FeedbackItem.id)) or db.session.scalar(select(FeedbackItem))
    closed = db.session.scalar(select(FeedbackItem).where(FeedbackItem.loop_closed_at.is_not(None),
                                                          *visible(user)).order_by(FeedbackItem.id))
    message = db.session.scalar(select(Message).where(Message.kind == "survey").order_by(Message.id))
    stops = [Stop("inbox", "/inbox/"), Stop("inbox-team", "/inbox/?tab=team"),
             Stop("inbox-overdue", "/inbox/?tab=overdue"), Stop("inbox-closed", "/inbox/?tab=closed"),
             Stop("inbox-search", "/inbox/?tab=team&q=support"),
             Stop("item", f"/inbox/items/{item.id}"), Stop("settings", "/settings/"),
             Stop("not-found", "/inbox/items/999999", status=404)]
    if role in ("lead", "admin"):
        survey = db.session.scalar(select(Survey).order_by(Survey.id))
        contact = db.session.scalar(select(Contact).order_by(Contact.id))
        stops += [Stop("item-closed", f"/inbox/items/{closed.id}"), Stop("metrics", "/metrics/"),
                  Stop("metrics-effect", "/metrics/effect"),
                  Stop("surveys", "/surveys/"), Stop("survey", f"/surveys/{survey.id}"),
                  Stop("contacts", "/contacts/"), Stop("contacts-search", "/contacts/?q=globex"),
                  Stop("contact", f"/contacts/{contact.id}"), Stop("contact-edit", f"/contacts/{contact.id}/edit"),
                  Stop("routing", "/routing/"), Stop("topics", "/topics/")]
        rule = db.session.scalar(select(RoutingRule).order_by(RoutingRule.id))
        template = db.session.scalar(select(ClosingTemplate).order_by(ClosingTemplate.id))
        stops += [Stop("routing-rule", f"/routing/rules/{rule.id}/edit"), Stop("teams", "/teams/"),
                  Stop("templates", "/templates/"), Stop("template", f"/templates/{template.id}/edit")]
        sent = db.session.scalar(select(Announcement).where(Announcement.status != "draft"))
        draft = announcements.create(user, {"topic": "billing", "subject": "Invoices are checked twice now",
                                            "body": "Since Monday every invoice is checked twice.",
                                            "close_open_items": True})
        stops += [Stop("announcements", "/announcements/"), Stop("announcement-new", "/announcements/new"),
                  Stop("announcement-draft", f"/announcements/{draft.id}"),
                  Stop("announcement-sent", f"/announcements/{sent.id}")]
        run, started = themes.start_run(user, only_untagged=False)
        if started:
            themes.run_discovery(run.id)
        stops += [Stop("themes", "/themes/")]
    else:
        stops += [Stop("metrics-refused", "/metrics/", status=403),
                  Stop("announcements-refused", "/announcements/", status=403)]
    if role == "admin":
        endpoint_id = _webhook_with_a_log()
        stops += [Stop("outbox", "/dev/outbox"), Stop("outbox-email", f"/dev/outbox/{message.id}"),
                  Stop("people", "/people/"), Stop("company", "/company/"),
                  Stop("webhooks", "/integrations/webhooks/"), Stop("webhook", f"/integrations/webhooks/{endpoint_id}")]
    else:  # every customer's email is in it
        stops += [Stop("outbox-refused", "/dev/outbox", status=403)]
    return stops


def _webhook_with_a_log() -> int:
    """An endpoint with delivered, waiting and failed deliveries (the demo has none); written directly,
    as its URL would not resolve for the service's guard."""
    endpoint = db.session.scalar(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    if endpoint is None:
        endpoint = WebhookEndpoint(url="https://crm.example.com/hooks/vocloop/events-with-a-long-path",
                                   description="Our CRM", events=list(EVENT_TYPES), secret="whsec_walk")
        db.session.add(endpoint)
        db.session.flush()
        now = utcnow()
        for n, (status, code, error) in enumerate([
                ("delivered", 200, None), ("pending", 503, "HTTP 503: Service Unavailable"),
                ("failed", None, "ConnectTimeout: timed out connecting to crm.example.com:443 after 10 s")]):
            db.session.add(WebhookDelivery(endpoint_id=endpoint.id, event_id=f"evt_walk{n}", event_type="item.created",
                                           body="{}", status=status, attempts=n + 1, last_status_code=code,
                                           last_error=error, next_attempt_at=now + timedelta(minutes=5),
                                           created_at=now - timedelta(hours=n)))
        db.session.commit()
    return endpoint.id


# What reaches past the screen's right edge outside a region that scrolls (a table in a card whose last
# column the card clips: the page itself does not scroll, so scrollWidth alone misses it).
CUT_OFF = """width => [...document.querySelectorAll('td, th, caption, h1, h2, h3, p, label, button, a, input, select')]
  .filter(e => {
    const box = e.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) return false;
    for (let up = e.parentElement; up; up = up.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(up).overflowX)) return false;
    }
    return true;
  }).slice(0, 3).map(e => `${e.tagName.toLowerCase()} "${e.textContent.trim().slice(0, 40)}"`)"""


def walk(page, base: str, stops: list[Stop], prefix: str, width: int, problems: list[str]) -> None:
    errors: list[tuple[str, str | None]] = []
    page.on("console", lambda message: errors.append((message.text, message.location.get("url")))
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append((str(error), None)))
    for stop in stops:
        where = f"{prefix} {stop.name} at {width} px"
        errors.clear()
        answered = page.goto(base + stop.path)
        if answered.status != stop.status:
            problems.append(f"{where}: HTTP {answered.status}, expected {stop.status}")
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            problems.append(f"{where}: {wide} px wide, scrolls sideways")
        problems += [f"{where}: cut off at the screen's edge: {cut}" for cut in page.evaluate(CUT_OFF, width)]
        if width == AXE_WIDTH:  # the same markup at both widths: checked once, the costliest step of the walk
            problems += [f"{where}: {finding}" for finding in serious_violations(page)]
        problems += [f"{where}: console: {text}" for text, url in errors
                     if not (stop.status != 200 and "status of" in text)]
        page.screenshot(path=str(SHOTS / f"{prefix}-{stop.name}-{width}.png"), full_page=True)


# One test per group of roles, so that pytest-xdist's two processes share the walk (it was the suite's
# longest test by far, and the process that drew it finished last); each seeds its own demo.
GROUPS = {"owner": ("signed-out", "owner"), "lead": ("lead",), "admin": ("admin",)}


@pytest.mark.parametrize("group", GROUPS)
def test_every_staff_page_fits_both_screens_and_passes_axe_for_every_role(app, live_server, browser, group):
    seed_demo()
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    walked: dict[str, list[Stop]] = {}
    signed_in: dict[str, dict] = {}  # each role signs in once; its session is carried to the other width
    for width in WIDTHS:
        for role in GROUPS[group]:
            context = browser.new_context(viewport={"width": width, "height": 900},
                                          storage_state=signed_in.get(role))
            page = context.new_page()
            if role == "signed-out":
                walked[role] = [Stop("sign-in", "/login"), Stop("forgot-password", "/password/forgot")]
            elif role not in walked:  # the stops (a draft, a theme run, a webhook log) are made once per role
                page.goto(f"{live_server}/login")
                page.get_by_label("Email").fill(ROLES[role])
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{live_server}/inbox/**")
                signed_in[role] = context.storage_state()
                user = db.session.scalar(select(User).where(User.email == ROLES[role]))
                walked[role] = stops_for(role, user)
            walk(page, live_server, walked[role], role, width, problems)
            context.close()
    _contact_sheet(walked)
    assert problems == [], "\n".join(problems)


def _contact_sheet(walked: dict[str, list[Stop]]) -> None:
    """index.html: one row per role and page, one column per width, of every group walked so far (each
    group leaves the names of its stops beside its screenshots; the groups may run in two processes)."""
    for prefix, stops in walked.items():
        (SHOTS / f"{prefix}.stops").write_text("\n".join(stop.name for stop in stops), encoding="utf-8")
    rows = []
    for prefix in ("signed-out", *ROLES):
        listed = SHOTS / f"{prefix}.stops"
        for name in listed.read_text(encoding="utf-8").split("\n") if listed.exists() else ():
            cells = "".join(f'<td><a href="{prefix}-{name}-{w}.png"><img src="{prefix}-{name}-{w}.png" '
                            f'width="{w // 4}" alt="{prefix} {name} at {w} px"></a></td>' for w in WIDTHS)
            rows.append(f"<tr><th>{escape(prefix)}<br>{escape(name)}</th>{cells}</tr>")
    head = "".join(f"<th>{w} px</th>" for w in WIDTHS)
    (SHOTS / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>vocloop: what staff see</title>"
        "<style>body{font:14px system-ui}td{vertical-align:top;padding:4px}th{text-align:left}</style>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>", encoding="utf-8")
