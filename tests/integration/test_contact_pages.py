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
