"""Contacts as people, not a file: a list with search, and a profile with the person's story, their
consent, and (for admins) export and erasure, as the API offers them."""

import json

from sqlalchemy import select

from tests.factories import answer, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.contacts.models import Contact
from vocloop.extensions import db


def test_leads_list_and_search_contacts_by_name_email_or_company(app, client):
    make_user("lee@example.com", role="lead")
    for n in range(60):
        make_contact(f"person{n}@customer.example", name=f"Person {n}", account="Globex" if n == 7 else None)
    make_contact("ann@initech.example", name="Ann Lindqvist", account="Initech")
    login(client, "lee@example.com")
    page = client.get("/contacts/").get_data(as_text=True)
    assert "Ann Lindqvist" in page and page.count('href="/contacts/') >= 50 and 'rel="next"' in page
    found = client.get("/contacts/?q=lindq").get_data(as_text=True)
    assert "Ann Lindqvist" in found and "Person 1<" not in found
    assert "Person 7" in client.get("/contacts/?q=globex").get_data(as_text=True)
    assert "No contact matches" in client.get("/contacts/?q=nobody-at-all").get_data(as_text=True)


def test_a_profile_shows_the_persons_story_and_consent(app, client, drain):
    make_user("admin@example.com", role="admin")
    make_user("lee@example.com", role="lead")
    ann = make_contact("ann@initech.example", name="Ann Lindqvist", account="Initech")
    answer(client, make_invitation(make_survey(), ann), 2, "Support never answered.")
    drain()
    db.session.get(Contact, ann.id).unsubscribed_at = db.session.get(Contact, ann.id).created_at
    db.session.commit()
    login(client, "lee@example.com")
    page = client.get(f"/contacts/{ann.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ann Lindqvist" in html and "Initech" in html and "Support never answered." in html
    assert "Unsubscribed from surveys" in html
    assert "Erase" not in html and "export.json" not in html  # admins only, as in the API
    assert client.get(f"/contacts/{ann.id}/export.json").status_code == 403


def test_admins_export_and_erase_a_contact_from_the_profile(app, client, drain):
    make_user("admin@example.com", role="admin")
    ann = make_contact("ann@initech.example", name="Ann Lindqvist", account="Initech")
    answer(client, make_invitation(make_survey(), ann), 2, "Support never answered.")
    drain()
    login(client, "admin@example.com")
    html = client.get(f"/contacts/{ann.id}").get_data(as_text=True)
    exported = client.get(f"/contacts/{ann.id}/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert json.loads(exported.get_data(as_text=True))["responses"][0]["comment"] == "Support never answered."
    erased = client.post(f"/contacts/{ann.id}/erase", data={"csrf_token": csrf_from(html)})
    assert erased.status_code == 303
    db.session.rollback()
    contact = db.session.scalar(select(Contact).where(Contact.id == ann.id))
    assert contact.name == "" and contact.email.endswith("@erased.invalid")
    assert "erased" in client.get(erased.headers["Location"]).get_data(as_text=True).lower()


def test_a_contacts_export_shows_each_email_exactly_as_they_received_it(app, client, drain, sendgrid):
    """Ann asks what was sent to her: the export holds the survey email with her own name and link
    (not the template's placeholders) and the closing message's words, the same text SendGrid got."""
    from vocloop.items import service as items
    from vocloop.items.models import FeedbackItem
    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail import outbox
    from vocloop.surveys import service as surveys

    admin = make_user("admin@example.com", role="admin")
    ann = make_contact("ann@initech.example", name="Ann Lindqvist", account="Initech")
    surveys.send_invitations(make_survey(), [ann.id])
    answer(client, make_invitation(make_survey("csat", name="Support"), ann), 2, "Support never answered.")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    items.close_with_message(admin, item, "Hi Ann, we answer within a day now.")
    deliver_messages(outbox.take_queued_ids())
    received = {email.subject: email for email in sendgrid.emails() if email.to == "ann@initech.example"}
    login(client, "admin@example.com")
    emails = json.loads(client.get(f"/contacts/{ann.id}/export.json").get_data(as_text=True))["emails"]
    survey, closing = sorted(emails, key=lambda email: email["id"])
    assert survey["text"].startswith("Hi Ann Lindqvist,") and "{{" not in survey["text"]
    assert "Hi Ann, we answer within a day now." in closing["text"]
    for email in (survey, closing):
        assert email["subject"] in received and email["text"] == received[email["subject"]].text


def test_the_customers_story_is_theirs_and_their_colleagues_newest_first(app, client, drain):
    """Promise 5: Ann's story holds each survey sent her (with what became of the email), her answer, its
    item (state and owner), the closing message (without its signature) and hand-over email sent her, her
    reply (from another address), and her colleague Bob's answer and announcement at the same account,
    newest first; a story cut short keeps the newest entries. Staff notes and notifications are not hers,
    and Cy, at another company, is in none of it."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from vocloop.items.models import FeedbackItem, ItemEvent
    from vocloop.items.timeline import customer_timeline
    from vocloop.mail.models import Message
    from vocloop.responses.models import Response
    from vocloop.surveys.models import Invitation

    make_user("alex@example.com", role="admin", name="Alex")
    ann = make_contact("ann@initech.example", name="Ann", account="Initech")
    bob = make_contact("bob@initech.example", name="Bob", account="Initech")
    cy = make_contact("cy@globex.example", name="Cy", account="Globex")
    nps, onboarding = make_survey(name="Quarterly NPS"), make_survey("csat", name="Onboarding")
    make_invitation(onboarding, ann)
    answer(client, make_invitation(nps, ann), 2, "Support never answered.")
    answer(client, make_invitation(nps, bob), 9)
    answer(client, make_invitation(nps, cy), 1, "Broken.")
    drain()

    def on(day: int):
        return datetime(2026, 6, day, 12, tzinfo=UTC)

    invitations = db.session.scalars(select(Invitation.id).order_by(Invitation.id)).all()
    for invitation_id, day in zip(invitations, (1, 2, 5, 6), strict=True):
        db.session.execute(update(Invitation).where(Invitation.id == invitation_id).values(created_at=on(day)))
    ann_answer, bob_answer = (db.session.scalar(select(Response).where(Response.contact_id == who.id))
                              for who in (ann, bob))
    ann_answer.answered_at, bob_answer.answered_at = on(3), on(7)
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == ann.id))
    item.created_at = on(4)
    for hour, kind, who, subject, text, status in [
            (13, "closing", ann, "About your answer", "We fixed the queue.\n\n--\nAlex, Acme", "delivered"),
            (14, "handover", ann, "Lee is now your contact", "Lee knows queues.", "sent"),
            (15, "announcement", bob, "The new status page is live", "See it at status.acme.example", "sent"),
            (16, "notification", ann, "New item for you", "Not the customer's", "sent"),
            (17, "closing", cy, "About your answer", "Cy's own closing message", "delivered")]:
        db.session.add(Message(idempotency_key=f"story-{hour}", kind=kind, to_email=who.email, from_name="Alex",
                               from_email="alex@acme.example", subject=subject, text=text, status=status,
                               contact_id=who.id, item_id=item.id if who is ann else None,
                               created_at=on(4).replace(hour=hour)))
    cy_item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == cy.id))
    for minute, of, kind, body in [(10, item, "customer_replied", "Still slow today."),
                                   (20, item, "note", "Staff note, not the customer's"),
                                   (30, cy_item, "customer_replied", "Cy's own reply")]:
        db.session.add(ItemEvent(item_id=of.id, kind=kind, body=body, created_at=on(4).replace(hour=17, minute=minute),
                                 data={"from": "ann.home@example.net", "from_another_address": True}))
    db.session.commit()
    assert ann_answer.sentiment_label == "negative"
    story = [(entry.kind, entry.contact.name, entry.title, entry.detail, entry.item_id, entry.sentiment)
             for entry in customer_timeline(db.session.get(Contact, ann.id))]
    assert story == [
        ("response", "Bob", "Answered 9/10 to “Quarterly NPS”", "", None, bob_answer.sentiment_label),
        ("invitation", "Bob", "Survey “Quarterly NPS” sent", "email queued", None, None),
        ("reply", "Ann", f"Replied about item #{item.id}, from another address (ann.home@example.net)",
         "Still slow today.", item.id, None),
        ("message", "Bob", "Announcement from Alex (sent)", "The new status page is live", None, None),
        ("message", "Ann", "Hand-over email from Alex", "Lee is now your contact", item.id, None),
        ("message", "Ann", "Closing message from Alex", "We fixed the queue.", item.id, None),
        ("item", "Ann", f"Item #{item.id} (open)", f"owner Alex, {item.priority}", item.id, None),
        ("response", "Ann", "Answered 2/10 to “Quarterly NPS”", "Support never answered.", None,
         ann_answer.sentiment_label),
        ("invitation", "Ann", "Survey “Quarterly NPS” sent", "email queued", None, None),
        ("invitation", "Ann", "Survey “Onboarding” sent", "email queued", None, None)]
    assert [entry.title for entry in customer_timeline(db.session.get(Contact, ann.id), limit=2)] == [
        "Answered 9/10 to “Quarterly NPS”", "Survey “Quarterly NPS” sent"]
    assert [entry.title for entry in customer_timeline(db.session.get(Contact, ann.id), limit=1)] == [
        "Answered 9/10 to “Quarterly NPS”"]

    def item_title() -> str:
        return next(e.title for e in customer_timeline(db.session.get(Contact, ann.id)) if e.kind == "item")

    item.status = "in_progress"
    db.session.commit()
    assert item_title() == f"Item #{item.id} (in progress)"
    item.status, item.loop_closed_at = "closed", on(8)
    db.session.commit()
    assert item_title() == f"Item #{item.id} (loop closed)"


def test_a_story_cut_short_keeps_the_newest_of_each_kind(app, client, drain):
    """An account with more entries of one kind than the story holds shows the newest of them, not the
    oldest: the newest item, then the newest closing message, then the newest reply (each read newest
    first before the story is cut)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from vocloop.items.models import FeedbackItem, ItemEvent
    from vocloop.items.timeline import customer_timeline
    from vocloop.mail.models import Message
    from vocloop.responses.models import Response
    from vocloop.surveys.models import Invitation

    make_user("alex@example.com", role="admin", name="Alex")
    ann = make_contact("ann@initech.example", name="Ann")
    survey = make_survey(quarantine_days=0)
    for comment in ("First complaint.", "Second complaint."):
        answer(client, make_invitation(survey, ann), 2, comment)
    drain()

    def on(day: int):
        return datetime(2026, 6, day, 12, tzinfo=UTC)

    db.session.execute(update(Invitation).values(created_at=on(1)))
    db.session.execute(update(Response).values(answered_at=on(1)))
    first, second = db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.id)).all()
    first.created_at, second.created_at = on(2), on(3)
    db.session.commit()

    def newest():
        return customer_timeline(db.session.get(Contact, ann.id), limit=1)[0].title

    assert newest() == f"Item #{second.id} (open)"
    for day, text in ((4, "First reply."), (5, "Second reply.")):
        db.session.add(Message(idempotency_key=f"closing-{day}", kind="closing", to_email=ann.email, from_name="Alex",
                               from_email="alex@acme.example", subject="About your answer", text=text,
                               status="sent", contact_id=ann.id, item_id=first.id, created_at=on(day)))
    db.session.commit()
    assert customer_timeline(db.session.get(Contact, ann.id), limit=1)[0].detail == "Second reply."
    for day, body in ((6, "Thanks."), (7, "Still broken.")):
        db.session.add(ItemEvent(item_id=first.id, kind="customer_replied", body=body, created_at=on(day),
                                 data={"from": ann.email}))
    db.session.commit()
    assert customer_timeline(db.session.get(Contact, ann.id), limit=1)[0].detail == "Still broken."
    assert newest() == f"Replied about item #{first.id}"
