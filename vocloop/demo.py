"""A small, realistic demo: one company's month of feedback, with loops closed and loops open.

Built through the same services as real traffic (classification, routing, outbox), then moved
back in time, so the inbox and the closure figures look like a real month.
"""

from __future__ import annotations

import random
from datetime import timedelta

from markupsafe import escape
from sqlalchemy import insert, select

from vocloop.accounts import service as accounts
from vocloop.accounts.models import User
from vocloop.announcements import service as announcements
from vocloop.company import service as company
from vocloop.contacts import service as contacts
from vocloop.contacts.imports import list_named
from vocloop.contacts.models import Contact, list_members
from vocloop.db import utcnow
from vocloop.errors import Conflict
from vocloop.extensions import db
from vocloop.items import closing_templates
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.triage import triage_response
from vocloop.jobs.tasks import enqueue_queued_work
from vocloop.mail.models import Message
from vocloop.responses.models import Response
from vocloop.routing import service as routing
from vocloop.routing import sla
from vocloop.routing.calendar import add_business_hours
from vocloop.security import new_secret_token
from vocloop.surveys import service as surveys
from vocloop.surveys.kinds import get_kind
from vocloop.surveys.models import Invitation

DEMO_PASSWORD = "demo-password"
ADMIN_EMAIL = "admin@example.com"
USERS = [  # email, name, role, team
    (ADMIN_EMAIL, "Alex Admin", "admin", None),
    ("lee@example.com", "Lee Park", "lead", "Support"),
    ("dana@example.com", "Dana Whitfield", "owner", "Support"),
    ("omar@example.com", "Omar Haddad", "owner", "Support"),
    ("sam@example.com", "Sam Okafor", "owner", "Customer Success"),
]
ACCOUNTS = ["Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Retail",
            "Soylent Foods", "Hooli", "Vandelay Imports", "Cyberdyne Systems", "Tyrell Labs", "Wonka Industries"]
LAST = ["Garcia", "Smith", "Tanaka", "Wang", "Khan", "Silva", "Rossi", "Müller", "Patel", "Petrov", "Okoye", "Murphy"]
COMPANY = {"company_name": "Acme Analytics", "brand_color": "#1a56db", "sender_email": "feedback@example.com",
           "reply_to": "support@example.com", "postal_address": "Acme Analytics Ltd\n1 Harbour Street\nBristol BS1 4XX",
           "privacy_url": "https://example.com/privacy"}
# Most demo customers read English; some German, French or Spanish (their emails and pages follow).
LANGUAGES = {3: "de", 6: "fr", 8: "es"}
CONTACTS = 300
PAST_ANSWERS = 200
FRESH_SURVEY_RECIPIENTS = 20
FIRST = ["Maria", "James", "Aiko", "Chen", "Fatima", "Lucas", "Sofia", "Noah", "Priya", "Ivan", "Amara", "Liam",
         "Zoe", "Mateo", "Hana", "Oliver", "Leila", "Ethan", "Nora", "Ravi", "Elena", "Kofi", "Ines", "Tom",
         "Yara", "Felix", "Mei", "Omar", "Clara", "Diego", "Anya", "Ben", "Sara", "Jonas", "Lina", "Paul"]
COMMENTS = {
    "negative": ["Support took four days to reply and the issue is still not fixed.",
                 "I was charged twice on my last invoice and nobody has answered my emails.",
                 "The app keeps crashing when I export reports. Very frustrating.",
                 "Onboarding was confusing and the docs are out of date.",
                 "Too expensive for what we get, we are considering switching to another vendor.",
                 "Delivery was late again, third time this quarter."],
    "neutral": ["It does the job. Setup took longer than expected.",
                "Fine overall, but the reporting could be more flexible.",
                "Okay product, pricing is a bit high."],
    "positive": ["Dana in support was fantastic, solved everything in one call!",
                 "Great product, the new dashboard is really intuitive.",
                 "Reliable and easy to use. The team is always helpful."],
}
CLOSING = ("Hi {name},\n\nThank you for telling us. We looked into it: {fix}\n\n"
           "If anything is still not right, just reply to this email.")
# What the owner did about each comment, so a closing message answers the complaint it closes.
FIXES = {
    "Support took four days to reply and the issue is still not fixed.":
        "we have added a second support shift so replies come within one business day, and your issue is fixed.",
    "I was charged twice on my last invoice and nobody has answered my emails.":
        "the duplicate charge has been refunded and we fixed the billing bug behind it.",
    "The app keeps crashing when I export reports. Very frustrating.":
        "our engineers shipped a fix for the export crash this week.",
    "Onboarding was confusing and the docs are out of date.":
        "we rewrote the getting-started guide based on your notes.",
    "Too expensive for what we get, we are considering switching to another vendor.":
        "your account manager will call you this week with the plan that fits your use.",
    "Delivery was late again, third time this quarter.":
        "your deliveries now go with a carrier that guarantees the date, and we tell you before each one ships.",
    "It does the job. Setup took longer than expected.": "we rewrote the setup guide; it now takes half the time.",
    "Fine overall, but the reporting could be more flexible.":
        "custom columns in reports arrive next month, and you will be among the first to get them.",
    "Okay product, pricing is a bit high.": "your account manager will send you the plans that fit your use.",
    "Dana in support was fantastic, solved everything in one call!": "we passed your words on to Dana and her team.",
    "Great product, the new dashboard is really intuitive.": "we shared your words with the team behind the dashboard.",
    "Reliable and easy to use. The team is always helpful.": "we shared your words with the whole team.",
}
ANY_FIX = "we went through your answer with the team that can act on it."


def seed_demo(seed: int = 7) -> list[str]:
    """Create the demo once; a second run changes nothing and says so."""
    if db.session.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is not None:
        return ["Demo data is already there.", *_credentials()]
    rng = random.Random(seed)
    users = {email: accounts.create_user(email, role=role, name=name, password=DEMO_PASSWORD, team=team)
             for email, name, role, team in USERS}
    company.save_profile(**COMPANY)
    account_names = list(ACCOUNTS)
    people = []
    for index in range(CONTACTS):
        first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST)) % len(LAST)]
        account = account_names[index % len(account_names)]
        people.append(contacts.create_contact(
            email=f"{first.lower()}.{index}@{account.split()[0].lower()}.example", name=f"{first} {last}",
            first_name=first, language=LANGUAGES.get(index % 10),
            account_name=account, account_annual_value=(len(account) * 9973) % 120000,
            attributes={"plan": rng.choice(["starter", "growth", "enterprise"])}))
    northwind = people[0].account
    northwind.owner_id = users["sam@example.com"].id
    db.session.commit()
    # Ids from here on: a commit expires every object the session still holds, and three hundred
    # contacts kept alive made each of the history's 1,500 commits expire them all (8.4 -> 7.5 s).
    contact_ids = [contact.id for contact in people]
    del people

    support = users["lee@example.com"].teams[0]
    routing.create_rule(name="Northwind goes to its account owner", action="account_owner", position=10,
                        conditions={"account_ids": [northwind.id]})
    routing.create_rule(name="Billing problems to Omar", action="user", user_id=users["omar@example.com"].id,
                        position=20, conditions={"topics": ["billing"], "sentiments": ["negative"]})
    routing.create_rule(name="Unhappy customers to Support", action="team", team_id=support.id, position=30,
                        conditions={"bands": ["negative"]})
    success = users["sam@example.com"].teams[0]
    routing.create_rule(name="Everything else to Customer Success", action="team", team_id=success.id,
                        team_strategy="least_loaded", position=90)
    nps = surveys.create_survey(name="Quarterly NPS", title="Your experience with Acme Analytics", kind="nps",
                                followups={"neutral": "What would make it a 10?",
                                           "negative": "What is the one thing we should fix first?"})
    csat = surveys.create_survey(name="Support CSAT", title="Your recent support request", kind="csat",
                                 company="Acme Analytics Support", sender_name="Acme Analytics Support",
                                 quarantine_days=14)
    ces = surveys.create_survey(name="Onboarding effort", title="Getting started with Acme Analytics", kind="ces",
                                quarantine_days=30)
    closing_templates.create_template(
        name="Thank you, and what we are doing", body=(
            "Hi {first_name},\n\nThank you for taking the time to answer “{survey_title}”. I read your comment "
            "and here is what we are doing about it:\n\n…\n\nIf anything is still not right, just reply to "
            "this email: it comes straight back to me.\n\n{owner_name}"))
    closing_templates.create_template(
        name="Billing: your invoice is corrected", topic="billing", body=(
            "Hi {first_name},\n\nYou were right about the invoice, and I am sorry for the trouble. I have "
            "corrected it and the refund is on its way: you will see it within five working days.\n\n{owner_name}"))

    history = contact_ids[:PAST_ANSWERS]
    fresh = contact_ids[-FRESH_SURVEY_RECIPIENTS:]
    for contact_id in history:
        _past_answer(rng, db.session.get(Contact, contact_id), rng.choices([nps, csat, ces], weights=[5, 3, 2])[0],
                     users)
    demo_list = list_named("Demo customers")
    db.session.execute(insert(list_members), [{"list_id": demo_list.id, "contact_id": contact_id}
                                              for contact_id in contact_ids])
    db.session.commit()
    outcome = surveys.send_invitations(nps, fresh)
    enqueue_queued_work()
    told = _announce_the_billing_fix(users["lee@example.com"])
    return [f"Seeded {len(contact_ids)} contacts, {len(history)} past answers, "
            f"sent “{nps.name}” to {len(outcome.invitations)} contacts, "
            f"and told the {told} customers who raised billing that it is fixed.", *_credentials()]


def _announce_the_billing_fix(lead: User) -> int:
    """The outer loop, once: Lee tells everyone in Support's items who raised billing that it is fixed
    (their items stay as they are: closing them is a choice the demo leaves to the newcomer)."""
    announcement = announcements.create(lead, {
        "topic": "billing", "subject": "We fixed the invoice errors you told us about",
        "body": "You told us that invoices were sometimes wrong. Since this month, every invoice is checked "
                "against your plan before it is sent, and the tax rule that caused most errors is fixed.\n\n"
                "Thank you for telling us: it is why this got fixed. If anything still looks wrong, just reply.",
        "translations": {"de": {"subject": "Wir haben die Rechnungsfehler behoben, die Sie gemeldet haben",
                                "body": "Sie haben uns gesagt, dass Rechnungen manchmal falsch waren. Seit diesem "
                                        "Monat wird jede Rechnung vor dem Versand geprüft.\n\nDanke für Ihren "
                                        "Hinweis. Wenn noch etwas nicht stimmt, antworten Sie einfach."}}})
    try:
        count = announcements.send(lead, announcement)
    except Conflict:  # nobody in the demo's history raised billing: nothing to tell
        announcements.delete(lead, announcement)
        return 0
    while announcements.queue_next_batch(announcement.id) is not None:
        enqueue_queued_work()
    return count


def _credentials() -> list[str]:
    return [f"Sign in as {email} ({role}) with the password {DEMO_PASSWORD}" for email, _, role, _ in USERS[:3]]


def _past_answer(rng: random.Random, contact, survey, users) -> None:
    """One answered invitation from the last 90 days, triaged, and for most items a closed loop; some
    customers answer the same survey again later, so the Metrics page's loop effect has answers to
    compute from (the effect itself is computed there, never stored)."""
    days_ago = rng.uniform(1, 90)
    answered = utcnow() - timedelta(days=days_ago)
    mood = rng.choices(["negative", "neutral", "positive"], weights=[5, 3, 4])[0]
    score = {"nps": {"negative": rng.randint(0, 6), "neutral": rng.randint(7, 8), "positive": rng.randint(9, 10)},
             "csat": {"negative": rng.randint(1, 2), "neutral": 3, "positive": rng.randint(4, 5)},
             "ces": {"negative": rng.randint(1, 3), "neutral": 4, "positive": rng.randint(5, 7)}}[survey.kind][mood]
    item = _answer_in_the_past(rng, contact, survey, score, answered, rng.choice(COMMENTS[mood]))
    if item is None:
        return
    if days_ago > 2:
        roll = rng.random()
        if roll < 0.8:
            _close_in_the_past(rng, item, answered)
        elif roll < 0.9:
            _close_without_message_in_the_past(rng, item, answered)
    _sla_history(item)
    db.session.commit()
    if item.closed_at is None:  # vocloop asks nobody with an open item again (a survey's eligibility)
        return
    ended = item.loop_closed_at or item.closed_at
    days_since = (utcnow() - ended).total_seconds() / 86400
    if days_since > 2 and rng.random() < 0.85:
        _answer_again(rng, contact, survey, score, item, ended + timedelta(days=rng.uniform(1, days_since - 0.5)))


# How a customer's next answer tends to move (in 0–10 points), and how likely they are to answer at
# all, by how their last loop ended: people who heard back in time come back warmer and more often.
# A story the demo tells; the Metrics page measures it from the answers like any other.
NEXT_ANSWER_DRIFT = {"in_time": 2.5, "late": 0.5, "not_closed": -1.0}
ANSWERS_AGAIN = {"in_time": 0.8, "late": 0.65, "not_closed": 0.45}


def _answer_again(rng: random.Random, contact, survey, score: int, item: FeedbackItem, when) -> None:
    """The same survey again, after the loop ended; answered or not, by how it ended."""
    if when >= utcnow() - timedelta(hours=1):
        return
    ended = "not_closed" if item.loop_closed_at is None else \
        "in_time" if item.loop_closed_at <= item.close_due_at else "late"
    if rng.random() >= ANSWERS_AGAIN[ended]:  # asked again, and no answer
        _, token_hash = new_secret_token()
        # its reminder went out when due, had the clock been running then (the first start sent them all)
        reminded = when + timedelta(days=survey.reminder_days) if survey.reminder_days else None
        db.session.add(Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=token_hash,
                                  status="delivered", created_at=when, sent_at=when,
                                  reminded_at=reminded if reminded and reminded < utcnow() else None,
                                  expires_at=when + timedelta(days=30)))
        db.session.commit()
        return
    kind = get_kind(survey.kind)
    drift = NEXT_ANSWER_DRIFT[ended] * (kind.high - kind.low) / 10
    again = max(kind.low, min(kind.high, round(score + drift + rng.gauss(0, (kind.high - kind.low) / 6))))
    band = kind.band(again)
    later = _answer_in_the_past(rng, contact, survey, again, when, rng.choice(COMMENTS[band]))
    if later is not None:
        if when < utcnow() - timedelta(days=2) and rng.random() < 0.95:  # few more open items for the inbox
            _close_in_the_past(rng, later, when)
        _sla_history(later)
        db.session.commit()


def _answer_in_the_past(rng: random.Random, contact, survey, score: int, answered, comment: str):
    """An answered invitation at that moment, triaged as it would have been then; its item, if any."""
    _, token_hash = new_secret_token()
    invitation = Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=token_hash, status="delivered",
                            created_at=answered - timedelta(hours=3), sent_at=answered - timedelta(hours=3),
                            answered_at=answered, expires_at=answered + timedelta(days=30))
    db.session.add(invitation)
    db.session.flush()
    response = Response(invitation_id=invitation.id, survey_id=survey.id, contact_id=contact.id, score=score,
                        comment=comment if rng.random() < 0.85 else None,
                        answered_at=answered, completed_at=answered, created_at=answered)
    db.session.add(response)
    db.session.commit()
    item = triage_response(response.id)
    if item is None:
        return None
    shift = utcnow() - answered
    for field in ("created_at", "first_action_due_at", "close_due_at"):
        setattr(item, field, getattr(item, field) - shift)
    for event in item.events:
        event.created_at = answered
    return item


def _at_work(rng: random.Random, when):
    """When an owner gets to it: within working hours on the business calendar, soon after `when`
    (owners acting at 3 a.m. made every time to close in business hours a whole number of days)."""
    return add_business_hours(when, rng.uniform(0.1, 1.5), sla.business_calendar())


def _close_in_the_past(rng: random.Random, item: FeedbackItem, opened) -> None:
    acted = _at_work(rng, opened + timedelta(hours=rng.uniform(0.5, 2)))
    closed = max(_at_work(rng, opened + timedelta(hours=rng.choice([rng.uniform(2, 40), rng.uniform(20, 100)]))),
                 acted + timedelta(minutes=rng.uniform(20, 90)))
    # never later than an hour ago: a demo item loop-closed "in two days" reads as a bug
    closed = min(closed, utcnow() - timedelta(hours=1))
    acted = min(acted, closed)
    owner = item.owner
    body = CLOSING.format(name=item.contact.greeting_name, fix=FIXES.get(item.response.comment or "", ANY_FIX))
    message = Message(idempotency_key=f"closing:{item.id}:1", kind="closing", to_email=item.contact.email,
                      to_name=item.contact.name, from_email="feedback@example.com", from_name=owner.name,
                      subject=f"Re: {item.survey.subject}", html=str(escape(body)), text=body,
                      contact_id=item.contact_id, item_id=item.id, status="delivered", attempts=1,
                      provider_message_id=f"demo-{item.id}", sent_at=closed, created_at=closed)
    db.session.add(message)
    items.record_first_action(item, acted)
    item.status, item.closed_at, item.close_reason = "closed", closed, "closing_message"
    items.record_loop_closed(item, closed)
    db.session.add(ItemEvent(item_id=item.id, kind="note", actor_id=owner.id, created_at=item.first_action_at,
                             body="Called the customer; reproducing the problem with engineering."))
    db.session.add(ItemEvent(item_id=item.id, kind="closed", actor_id=owner.id, body=body, created_at=closed))


def _close_without_message_in_the_past(rng: random.Random, item: FeedbackItem, opened) -> None:
    """Closed by its owner with nothing to tell the customer: the item is done, the loop is not."""
    closed = min(_at_work(rng, opened + timedelta(hours=rng.uniform(4, 72))), utcnow() - timedelta(hours=1))
    items.record_first_action(item, closed)
    item.status, item.closed_at, item.close_reason = "closed", closed, "no_action_needed"
    db.session.add(ItemEvent(item_id=item.id, kind="closed", actor_id=item.owner_id, created_at=closed,
                             body="Nothing for us to change here; closed without a message.",
                             data={"reason": "no_action_needed"}))


def _sla_history(item: FeedbackItem) -> None:
    """What the SLA watch would have recorded had it been running during the demo's past, at the
    times it would have: the first start of the server then has no deadlines of the past to warn
    about (it emailed 124 notices about them) and no breach dated at that start."""
    from vocloop.items.sla_watch import WARN_AT_SHARE, leads_of

    now = utcnow()
    until = min(item.loop_closed_at or item.closed_at or now, now)
    warn_at = item.created_at + WARN_AT_SHARE * (item.close_due_at - item.created_at)
    if warn_at < until:
        item.sla_warned_at = warn_at
        _event(item, "sla_warning", warn_at, f"Closing message due in {_hours(item.close_due_at - warn_at)}.")
    acted = item.first_action_at or until
    if item.first_action_due_at < min(acted, now):
        item.first_action_breached_at = item.first_action_due_at
        _event(item, "sla_first_action_missed", item.first_action_due_at, "No first action before its due time.")
    if item.close_due_at < until:
        item.sla_breached_at = item.first_breached_at = item.close_due_at
        _event(item, "sla_breached", item.close_due_at,
               f"Closing message overdue since {item.close_due_at:%Y-%m-%d %H:%M} UTC.")
        leads = leads_of(item)
        if leads:
            item.escalated_at = item.close_due_at
            for lead in leads:
                _event(item, "escalated", item.close_due_at, f"Escalated to {lead.name}, lead of the owner's team.")


def _event(item: FeedbackItem, kind: str, at, body: str) -> None:
    db.session.add(ItemEvent(item_id=item.id, kind=kind, body=body, created_at=at))


def _hours(delta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} hours"
