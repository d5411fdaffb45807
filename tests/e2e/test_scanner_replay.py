"""The scanner replay: what corporate mail security does to a survey email, modelled on the documented
behaviour of Microsoft Defender for Office 365 Safe Links, Mimecast URL Protect, Proofpoint URL
Defense, Barracuda and Cisco (every link fetched within seconds of delivery, from data-centre
addresses, often with a browser's User-Agent, sometimes HEAD first, sometimes rendering the page and
running its script), beside what people do. Scanners and people are played by the test client and,
where a page's script matters, by chromium itself.

    (a) all eleven links within two seconds of delivery, browser User-Agent
    (b) HEAD then GET of each link
    (c) one random link fetched at delivery, then the person clicks another an hour later
    (d) a scanner that renders the page and runs its JavaScript
    (e) a person who clicks and never comments (moving the pointer; and one who makes no input at all)
    (f) a person who clicks within seconds of delivery
    (g) verdict links fetched by a scanner, then the person chooses "Yes"

It prints the README's figures: scanner fetches counted (goal 0), people's answers counted (goal
all), and the share of people who were asked to confirm.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

from sqlalchemy import select

from tests.e2e.conftest import PERSON_USER_AGENT
from tests.factories import login, make_contact, make_invitation, make_survey, make_user
from tests.integration.test_inbox import post_form
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.jobs.tasks import sweep
from vocloop.responses import scanners
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

BROWSER = {"User-Agent": PERSON_USER_AGENT}
DATA_CENTRE = {"REMOTE_ADDR": "20.190.151.7"}  # a cloud address in no seeded rule: timing alone must tell
SCANNER_UA = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                            "Chrome/124.0.0.0 Safari/537.36 Edg/124.0"}


def time_passes(seconds: float) -> None:
    """Move every stored moment back (the clock's sweep then sees that much time gone by)."""
    db.session.rollback()
    delta = timedelta(seconds=seconds)
    for response in db.session.scalars(select(Response)):
        response.answered_at -= delta
    for invitation in db.session.scalars(select(Invitation)):
        invitation.sent_at = invitation.sent_at and invitation.sent_at - delta
        invitation.head_at = invitation.head_at and invitation.head_at - delta
    db.session.commit()


def test_scanners_never_count_and_people_always_do(app, client, live_server, browser, drain, sendgrid):
    scanners.seed_default_rules()
    make_user("admin@example.com", role="admin")
    survey = make_survey("nps", name="Quarterly NPS")
    tokens = {}
    for name in ("a", "b", "c", "d", "e", "e2", "f"):
        tokens[name] = make_invitation(survey, make_contact(f"{name}@customer.example", name=name.upper()))
    db.session.execute(Invitation.__table__.update().values(sent_at=utcnow(), status="delivered"))
    db.session.commit()
    people = {"c": 2, "e": 8, "e2": 10, "f": 3}  # who is a person, and the score they give
    asked = set()
    rng = random.Random(18)

    # (a) every link within two seconds of delivery, a browser's User-Agent, a data-centre address
    for score in range(11):
        client.get(f"/s/{tokens['a']}?score={score}", headers=SCANNER_UA, environ_base=DATA_CENTRE)
    # (b) HEAD, then GET, of each link
    for score in range(11):
        client.head(f"/s/{tokens['b']}?score={score}", headers=SCANNER_UA, environ_base=DATA_CENTRE)
        client.get(f"/s/{tokens['b']}?score={score}", headers=SCANNER_UA, environ_base=DATA_CENTRE)
    # (c) one random link at delivery ...
    client.get(f"/s/{tokens['c']}?score={rng.randrange(11)}", headers=SCANNER_UA, environ_base=DATA_CENTRE)
    # (d) a scanner that renders the page and runs its script: every link, in a real browser, no input
    scanner = browser.new_context(user_agent=SCANNER_UA["User-Agent"])
    rendered = scanner.new_page()
    for score in range(11):
        rendered.goto(f"{live_server}/s/{tokens['d']}?score={score}", wait_until="networkidle")
    scanner.close()
    # (f) a person who clicks within seconds of delivery: the page asks once, and they confirm
    person = browser.new_page(viewport={"width": 390, "height": 844})
    person.goto(f"{live_server}/s/{tokens['f']}?score=3")
    if person.get_by_text("Is 3 your answer?").count():
        asked.add("f")
        person.get_by_role("button", name="Yes, 3 is my answer").click()
        person.wait_for_url(re.compile(r"/s/[\w-]+$"))
    person.close()

    time_passes(3600)  # an hour later
    sweep()
    # (c) ... then the person clicks another score and leaves without a word
    page = browser.new_page()
    page.goto(f"{live_server}/s/{tokens['c']}?score=2")
    if page.get_by_text("Is 2 your answer?").count():
        asked.add("c")
    page.close()
    # (e) a person who clicks and never comments: the pointer moves over the page (the beacon) ...
    page = browser.new_page()
    page.goto(f"{live_server}/s/{tokens['e']}?score=8")
    if page.get_by_text("Is 8 your answer?").count():
        asked.add("e")
    page.mouse.move(200, 300)
    page.mouse.move(240, 320)
    page.wait_for_timeout(300)
    assert db.session.scalar(select(Response.status).where(Response.score == 8)) == "counted"  # at once
    page.close()
    # ... and one who makes no input at all (opens the page on a phone and puts it away)
    client.get(f"/s/{tokens['e2']}?score=10", headers=BROWSER)
    time_passes(601)
    sweep()
    drain()

    from vocloop.contacts.models import Contact
    by_name = {name: db.session.scalar(select(Response).join(Contact, Contact.id == Response.contact_id)
                                       .where(Contact.email == f"{name}@customer.example")) for name in tokens}
    scanner_only = [name for name in tokens if name not in people]
    scanner_counted = [name for name in scanner_only if by_name[name].status == "counted"]
    people_counted = [name for name, score in people.items()
                      if by_name[name].status == "counted" and by_name[name].score == score]

    # (g) verdict links fetched by a scanner, then the person chooses "Yes"
    verdict_scanner_acted, verdict_counted = verdict_story(client, drain, sendgrid, survey)

    print(f"\nscanner replay: scanner fetches counted {len(scanner_counted) + verdict_scanner_acted} of "
          f"{len(scanner_only) + 1} (goal 0); people's answers counted {len(people_counted) + verdict_counted} "
          f"of {len(people) + 1} (goal all); people asked to confirm {len(asked)} of {len(people)}")
    assert scanner_counted == [] and verdict_scanner_acted == 0
    assert sorted(people_counted) == sorted(people) and verdict_counted == 1
    print({name: (by_name[name].status, scanners.describe(by_name[name].signals)) for name in tokens})
    assert {name: scanners.describe(by_name[name].signals) for name in ("a", "b", "d")} == {
        "a": ["all_links", "at_delivery", "no_interaction"],
        "b": ["all_links", "at_delivery", "head_first", "no_interaction"],
        "d": ["all_links", "at_delivery", "no_interaction"]}
    assert asked == {"f"}
    assert db.session.scalar(select(FeedbackItem.id).join(Response).where(
        Response.id.in_([by_name[name].id for name in scanner_only]))) is None  # no item for a scanner's score


def verdict_story(client, drain, sendgrid, survey) -> tuple[int, int]:
    """(g): a closed item's verdict links fetched by a scanner (HEAD and GET of both), then the
    customer answers "Yes" on the page. Returns (changes the scanner made, the person's verdicts kept)."""
    from vocloop.routing.service import create_rule
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    token = make_invitation(survey, make_contact("g@customer.example", name="G"))
    client.get(f"/s/{token}?score=2", headers=BROWSER)
    client.post(f"/s/{token}", data={"score": "2", "comment": "Invoices wrong"}, headers=BROWSER)
    drain()
    item = db.session.scalar(select(FeedbackItem).join(Response).where(Response.comment == "Invoices wrong"))
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hi, fixed."})
    drain()
    client.delete_cookie("session")
    closing = [e for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("closing:")][-1]
    links = re.findall(r"http://vocloop\.test(/v/\S+)", closing.text)
    notices = len(sendgrid.emails())
    for link in links:
        client.head(link, headers=SCANNER_UA, environ_base=DATA_CENTRE)
        client.get(link, headers=SCANNER_UA, environ_base=DATA_CENTRE)
    drain()
    db.session.rollback()
    item = db.session.get(FeedbackItem, item.id)
    scanner_acted = int(item.customer_verdict is not None or item.status != "closed" or
                        len(sendgrid.emails()) != notices)
    client.post(links[0].split("?")[0], data={"answer": "yes"}, headers={"Sec-Fetch-Site": "same-origin", **BROWSER})
    db.session.rollback()
    item = db.session.get(FeedbackItem, item.id)
    return scanner_acted, int(item.customer_verdict == "resolved" and item.status == "closed")
