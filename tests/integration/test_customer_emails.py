"""What reaches the customer by email: sent and branded by the company profile (or the survey's own
sender), paragraphs kept, the survey's internal name never shown, greeted by first name, in the
contact's language."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from tests.factories import api_token, csrf_from, login, make_contact, make_survey, make_user
from tests.integration.test_inbox import item_for_dana, post_form
from vocloop.company import service as company
from vocloop.company.models import CompanyProfile
from vocloop.contacts import imports
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.i18n import format_day, format_duration, format_number
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.surveys import reminders
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation, Survey

ACME = {"company_name": "Acme Analytics", "brand_color": "#0b5cad", "sender_email": "hello@acme.example",
        "reply_to": "care@acme.example", "postal_address": "Acme Analytics Ltd\r\n1 Harbour Street\r\nBristol BS1 4XX",
        "privacy_url": "https://acme.example/privacy", "logo_url": "https://cdn.acme.example/logo.png"}


def sent(sendgrid, prefix: str):
    deliver_messages(outbox.take_queued_ids())
    return [email for email in sendgrid.emails() if email.custom_args["vocloop_key"].startswith(prefix)]


def closing_email_dana_sends(client, drain, sendgrid, item, message: str):
    """Dana closes the item from its page with this message: the closing email as SendGrid got it."""
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": message})
    drain()
    [closing] = sent(sendgrid, "closing:")
    return closing


def test_an_admin_sets_the_company_profile_and_the_survey_email_carries_it(app, client, sendgrid):
    make_user("admin@example.com", role="admin")
    login(client, "admin@example.com")
    token = csrf_from(client.get("/company/").get_data(as_text=True))
    refused = client.post("/company/", data={"csrf_token": token, **ACME, "brand_color": "#ffee88"})
    assert refused.status_code == 422 and "WCAG AA needs 4.5:1" in refused.get_data(as_text=True)
    assert db.session.get(CompanyProfile, 1) is None  # nothing half-saved
    assert client.post("/company/", data={"csrf_token": token, **ACME}).status_code == 303
    survey = make_survey(company=None)
    assert survey.question == "How likely are you to recommend Acme Analytics to a friend or colleague?"
    surveys.send_invitations(survey, [make_contact("ann@customer.example", name="Ann Lee").id])
    [email] = sent(sendgrid, "survey:")
    assert (email.from_name, email.from_email, email.reply_to) == ("Acme Analytics", "hello@acme.example",
                                                                   "care@acme.example")
    for part in (email.html, email.text):
        assert "1 Harbour Street" in part and "https://acme.example/privacy" in part and "/unsubscribe" in part
    assert 'src="https://cdn.acme.example/logo.png" alt="Acme Analytics"' in email.html
    assert "background:#0b5cad" in email.html


def test_a_survey_created_on_the_page_goes_out_from_the_company_not_from_vocloop(app, client, sendgrid):
    company.save_profile(company_name="Acme Analytics")
    make_user("lead@example.com", role="lead")
    login(client, "lead@example.com")
    token = csrf_from(client.get("/surveys/").get_data(as_text=True))
    client.post("/surveys/", data={"csrf_token": token, "name": "Relationship NPS", "kind": "nps", "company": ""})
    survey = db.session.scalar(select(Survey))
    surveys.send_invitations(survey, [make_contact("ann@customer.example").id])
    [email] = sent(sendgrid, "survey:")
    assert email.from_name == "Acme Analytics"  # was "vocloop": the survey's sender name was empty


def test_a_survey_can_use_its_own_sender(app, sendgrid):
    company.save_profile(**ACME)
    survey = make_survey(sender_name="Acme Support", sender_email="support@acme.example", brand_color="#7a1f1f")
    surveys.send_invitations(survey, [make_contact("ann@customer.example").id])
    [email] = sent(sendgrid, "survey:")
    assert (email.from_name, email.from_email) == ("Acme Support", "support@acme.example")
    assert "background:#7a1f1f" in email.html and "background:#0b5cad" not in email.html


def test_the_closing_message_wears_the_surveys_own_brand_and_address_and_is_signed_by_its_owner(
        app, client, drain, sendgrid):
    company.save_profile(**ACME)
    item, dana = item_for_dana(client, drain)
    item.survey.brand_color, item.survey.logo_url = "#7a1f1f", "https://cdn.acme.example/support.png"
    item.survey.sender_email = "support@acme.example"
    db.session.commit()
    closing = closing_email_dana_sends(client, drain, sendgrid, item, "Hi Ann,\n\nIt is fixed.")
    assert (closing.from_name, closing.from_email) == ("Dana from Acme Analytics", "support@acme.example")
    assert "background:#7a1f1f" in closing.html and "background:#0b5cad" not in closing.html
    assert "https://cdn.acme.example/support.png" in closing.html
    assert '<p style="margin:0 0 4px">Dana</p>' in closing.html and "It is fixed.\n\nDana\n\n" in closing.text


def test_a_closing_message_that_ends_with_its_owners_name_is_signed_once(app, client, drain, sendgrid):
    """A template ending in {owner_name}, or Dana signing herself: the email adds no second signature."""
    item, dana = item_for_dana(client, drain)
    closing = closing_email_dana_sends(client, drain, sendgrid, item, "Hi Ann,\n\nIt is fixed.\n\nDana")
    assert closing.text.count("Dana") == 1 and "It is fixed.\n\nDana\n\n" in closing.text
    assert closing.html.count(">Dana</p>") == 1 and closing.html.count("Dana") == 1

def test_the_company_profile_through_the_api(app, client):
    admin, lead = make_user("admin@example.com", role="admin"), make_user("lead@example.com", role="lead")
    assert client.get("/api/v1/company", headers=api_token(lead)).get_json()["company_name"] == ""
    assert client.patch("/api/v1/company", json={"company_name": "X"}, headers=api_token(lead)).status_code == 403
    changed = client.patch("/api/v1/company", json={"company_name": "Acme", "reply_to": "care@acme.example"},
                           headers=api_token(admin))
    assert changed.status_code == 200 and changed.get_json()["reply_to"] == "care@acme.example"
    for bad in ({"brand_color": "#ffee88"}, {"sender_email": "not an address"}, {"logo_url": "http://x.example/l.png"},
                {}, {"company_name": "A\nBcc: x@evil.example"}):
        answer = client.patch("/api/v1/company", json=bad, headers=api_token(admin))
        assert answer.status_code == 422, bad
    assert client.get("/api/v1/company", headers=api_token(lead)).get_json()["company_name"] == "Acme"


def test_closing_paragraphs_are_kept_whatever_line_endings_the_form_posts(app, client, drain, sendgrid):
    item, dana = item_for_dana(client, drain)
    body = "Hi Ann,\r\n\r\nWe found the bug.\r\nIt is fixed in 4.2.\r\n\r\nThanks for your patience."
    closing = closing_email_dana_sends(client, drain, sendgrid, item, body)
    paragraphs = re.findall(r"<p style=\"margin:0 0 12px\">(.*?)</p>", closing.html)
    assert paragraphs == ["Hi Ann,", "We found the bug.<br>It is fixed in 4.2.", "Thanks for your patience."]
    assert "\r" not in closing.text and "We found the bug.\nIt is fixed in 4.2.\n\nThanks" in closing.text
    assert closing.from_name == "Dana from vocloop"  # a person of the company (no profile here: the default)


def test_the_internal_name_never_reaches_customers(app, client, drain, sendgrid):
    """Every customer email (survey, reminder, closing, hand-over) and page behind them names the
    survey by its title or not at all."""
    internal = "Q3 churn-risk NPS (internal)"
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    omar = make_user("omar@example.com", name="Omar", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="to Dana", action="user", user_id=dana.id)
    seen: list[str] = []
    for title in ("Your experience with Acme", None):
        survey = make_survey(name=internal, title=title)
        contact = make_contact(f"ann{len(seen)}@customer.example", name="Ann")
        surveys.send_invitations(survey, [contact.id])
        invitation = db.session.scalar(select(Invitation).where(Invitation.contact_id == contact.id))
        invitation.status, invitation.created_at = "delivered", utcnow() - timedelta(days=4)
        db.session.commit()
        reminders.send_reminders()
        emails = sent(sendgrid, "")
        token = re.search(r"/s/([\w-]+)\?score=2", emails[-1].text).group(1)
        for path in (f"/s/{token}", f"/s/{token}?score=2", f"/s/{token}/unsubscribe"):
            seen.append(client.get(path).get_data(as_text=True))
        client.post(f"/s/{token}", data={"score": "2", "comment": "Slow support."})
        seen.append(client.get(f"/s/{token}/thanks").get_data(as_text=True))
        seen.append(client.get(f"/s/{token}?score=3").get_data(as_text=True))  # already answered
        drain()
        from vocloop.items.models import FeedbackItem
        item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == contact.id))
        login(client, "dana@example.com")
        page = f"/inbox/items/{item.id}"
        post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Omar knows this.",
                                                     "tell_customer": "y"})
        login(client, "omar@example.com")
        post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hi Ann, it is fixed."})
        client.post("/logout", data={"csrf_token": csrf_from(client.get(page).get_data(as_text=True))})
        drain()
        customer_emails = [e for e in sendgrid.emails() if e.to == contact.email]
        assert {e.custom_args["vocloop_key"].split(":")[0] for e in customer_emails} == \
            {"survey", "reminder", "handover", "closing"}
        verdict = re.search(r"http://vocloop\.test(/v/\S+)", customer_emails[-1].text).group(1)
        seen.append(client.get(verdict).get_data(as_text=True))
        seen += [part for e in customer_emails for part in (e.subject, e.html, e.text, e.from_name or "")]
        if title:
            assert any(f"“{title}”" in e.text for e in customer_emails if "closing" in e.custom_args["vocloop_key"])
    assert len(seen) > 20 and not [text[:80] for text in seen if internal in text]


def test_greetings_use_the_first_name_else_the_whole_name_else_a_neutral_hello(app, sendgrid):
    survey = make_survey()
    people = [make_contact("liam@customer.example", name="Liam Patel"),
              make_contact("aiko@customer.example", name="Tanaka Aiko"), make_contact("x@customer.example")]
    people[0].first_name = "Liam"
    db.session.commit()
    surveys.send_invitations(survey, [contact.id for contact in people])
    greetings = {email.to: email.text.splitlines()[0] for email in sent(sendgrid, "survey:")}
    assert greetings == {"liam@customer.example": "Hi Liam,", "aiko@customer.example": "Hi Tanaka Aiko,",
                         "x@customer.example": "Hello,"}


def test_contacts_get_a_first_name_and_language_from_import_api_and_their_page(app, client):
    lead = make_user("lead@example.com", role="lead")
    csv = (b"email,name,first_name,language\nliam@customer.example,Liam Patel,Liam,de-AT\n"
           b"bad@customer.example,Bad,,German\n")
    contact_import = imports.start_import(lead, "people.csv", csv)
    imports.process_import(contact_import.id)
    liam = db.session.scalar(select(Contact).where(Contact.email == "liam@customer.example"))
    assert (liam.first_name, liam.language) == ("Liam", "de-at")
    assert "language must be a language code" in contact_import.rejections[0]["error"]
    created = client.post("/api/v1/contacts", headers=api_token(lead),
                          json={"email": "ines@customer.example", "name": "Inés García", "first_name": "Inés",
                                "language": "es"})
    assert created.status_code == 201 and created.get_json()["first_name"] == "Inés"
    assert created.get_json()["language"] == "es"
    login(client, "lead@example.com")
    page = f"/contacts/{liam.id}/edit"
    token = csrf_from(client.get(page).get_data(as_text=True))
    assert client.post(page, data={"csrf_token": token, "name": "Liam Patel", "first_name": "Li",
                                   "language": "fr"}).status_code == 303
    db.session.refresh(liam)
    assert (liam.first_name, liam.language) == ("Li", "fr")
    assert client.post(page, data={"csrf_token": token, "name": "Liam", "first_name": "",
                                   "language": "klingon!"}).status_code == 422
    db.session.refresh(liam)
    assert liam.language == "fr"


def test_each_contact_reads_the_survey_email_in_their_own_language(app, sendgrid):
    company.save_profile(**ACME)
    survey = make_survey(title="Your experience")
    people = {"de": make_contact("jonas@customer.example", name="Jonas Weber"),
              "fr": make_contact("ines@customer.example", name="Inès Martin"),
              "pt-br": make_contact("joao@customer.example", name="João Silva"),  # no catalog: the survey's
              None: make_contact("ann@customer.example", name="Ann Lee")}
    for language, contact in people.items():
        contact.language = language
    db.session.commit()
    surveys.send_invitations(survey, [contact.id for contact in people.values()])
    emails = {email.to: email for email in sent(sendgrid, "survey:")}
    german = emails["jonas@customer.example"]
    assert german.text.startswith("Hallo Jonas Weber,") and '<html lang="de">' in german.html
    assert "Überhaupt nicht wahrscheinlich" in german.html and "Datenschutzerklärung" in german.html
    assert "Von Umfragen und Neuigkeiten abmelden" in german.text
    assert emails["ines@customer.example"].text.startswith("Bonjour Inès Martin,")
    assert emails["joao@customer.example"].text.startswith("Hi João Silva,")
    assert emails["ann@customer.example"].text.startswith("Hi Ann Lee,")
    assert len({email.message_id for email in emails.values()}) == 3  # one request per language


def test_an_english_surveys_standard_wording_reaches_a_german_customer_in_german(app, client, drain, sendgrid):
    """Jonas reads German; the survey is English. Where it kept its kind's standard wording (subject, question,
    comment prompt, a suggested follow-up), his email, his answer page and the reply to his feedback are German
    throughout; the question another survey's admin wrote reaches him as written (nobody translated it), and
    Ann, who reads English, gets the survey as stored."""
    from tests.factories import make_invitation
    from vocloop.items import service as items
    from vocloop.items.models import FeedbackItem
    from vocloop.responses.models import Response

    alex = make_user("admin@example.com", role="admin", name="Alex")
    survey = make_survey(company="Globex", followups={"negative": "What is the one thing we should fix first?"})
    jonas = make_contact("jonas@customer.example", name="Jonas Weber")
    jonas.language = "de"
    ann = make_contact("ann@customer.example", name="Ann Lee")
    db.session.commit()
    surveys.send_invitations(survey, [jonas.id, ann.id])
    emails = {email.to: email for email in sent(sendgrid, "survey:")}
    german, english = emails["jonas@customer.example"], emails["ann@customer.example"]
    question_de = "Wie wahrscheinlich ist es, dass Sie Globex einem Freund oder Kollegen weiterempfehlen?"
    assert german.subject == "Eine kurze Frage von Globex" and question_de in german.text
    assert question_de in unescape(german.html)
    assert english.subject == "A quick question from Globex" and survey.question in english.text

    token = make_invitation(survey, jonas)
    page = unescape(client.get(f"/s/{token}?score=3").get_data(as_text=True))
    assert f"<h1>{question_de}</h1>" in page and "<title>Eine kurze Frage von Globex" in page
    assert "Was ist der Hauptgrund für Ihre Bewertung?" in page
    assert "Was sollten wir als Erstes verbessern?" in page and "fix first" not in page
    ann_token = make_invitation(survey, ann)  # the same score's page, drawn for English: not the German copy
    assert f"<h1>{survey.question}</h1>" in unescape(client.get(f"/s/{ann_token}?score=3").get_data(as_text=True))
    client.post(f"/s/{token}", data={"score": "3", "comment": "Die Rechnung war falsch.", "followup": "Die Rechnung."})
    drain()
    response = db.session.scalar(select(Response).where(Response.contact_id == jonas.id))
    assert response.followup_question == "Was sollten wir als Erstes verbessern?"  # as he was asked it

    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == jonas.id))
    items.close_with_message(alex, item, "Hallo Jonas,\n\nerledigt.")
    assert [email.subject for email in sent(sendgrid, "closing:")] == ["Re: Eine kurze Frage von Globex"]

    lena = make_contact("lena@customer.example", name="Lena Braun")
    lena.language = "de"
    written = make_survey(name="Written", question="How was your delivery today?")
    surveys.send_invitations(written, [lena.id])
    [email] = [email for email in sent(sendgrid, "survey:") if email.to == "lena@customer.example"]
    assert "How was your delivery today?" in email.text and email.subject == "Eine kurze Frage von Acme"
    login(client, "admin@example.com")  # the survey's page says so where its wording is edited
    page = " ".join(client.get(f"/surveys/{written.id}").get_data(as_text=True).split())
    assert "reach each customer in their own language (English, German, Spanish, French); wording you change " \
        "reaches everyone as you wrote it" in page


def test_closing_and_hand_over_emails_speak_the_customers_language(app, client, drain, sendgrid):
    company.save_profile(company_name="Acme")
    item, dana = item_for_dana(client, drain)
    item.contact.language, item.contact.first_name = "de", "Ann"
    item.survey.title = "Ihre Erfahrung"
    db.session.commit()
    omar = make_user("omar@example.com", name="Omar", team="Support")
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    assert "Hallo Ann," in client.get(page).get_data(as_text=True)  # the draft starts in her language
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Omar.", "tell_customer": "y"})
    login(client, "omar@example.com")
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hallo Ann,\n\nerledigt."})
    drain()
    handover, closing = [e for e in sendgrid.emails() if e.to == "ann@customer.example"
                         and e.custom_args["vocloop_key"].split(":")[0] in ("handover", "closing")]
    assert handover.subject == "Omar ist jetzt Ihre Ansprechperson" and handover.text.startswith("Hallo Ann,")
    assert "Omar kümmert sich ab sofort um Ihr Feedback aus „Ihre Erfahrung“" in handover.text
    assert closing.from_name == "Omar von Acme" and "Hat das Ihr Anliegen gelöst?" in closing.html
    assert "Ja: http" in closing.text and "Nein: http" in closing.text


def hand_over_email(client, drain, sendgrid, item, to):
    """Dana hands the item to `to` from its page, telling the customer: the email as SendGrid got it."""
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/reassign", {"owner_id": str(to.id), "note": "Over to you.", "tell_customer": "y"})
    drain()
    [handover] = sent(sendgrid, "handover:")
    return handover


def test_the_hand_over_email_wears_the_surveys_brand_and_is_signed_by_the_new_owner(app, client, drain, sendgrid):
    """Like the closing message: from the new owner at the survey's address, to the customer by name,
    naming the survey it is about and who it takes over from; the customer's reply reaches the item."""
    app.config.update(REPLY_DOMAIN="reply.example.com")
    company.save_profile(**ACME)
    item, dana = item_for_dana(client, drain)
    item.survey.logo_url, item.survey.sender_email = "https://cdn.acme.example/support.png", "support@acme.example"
    item.survey.title = "Your experience with Acme"
    db.session.commit()
    omar = make_user("omar@example.com", name="Omar", team="Support")
    handover = hand_over_email(client, drain, sendgrid, item, omar)
    assert (handover.from_name, handover.from_email) == ("Omar from Acme Analytics", "support@acme.example")
    assert (handover.to, handover.to_name) == ("ann@customer.example", "Ann")
    assert handover.reply_to.startswith(f"reply+{item.id}.") and handover.reply_to.endswith("@reply.example.com")
    for part in (handover.text, unescape(handover.html)):
        assert ("Omar is now looking after the feedback you gave us in “Your experience with Acme”, taking over "
                "from Dana.") in part
        assert "Omar has the whole story" in part
        assert "You are receiving this because you answered our survey “Your experience with Acme”." in part
    assert "https://cdn.acme.example/support.png" in handover.html and ACME["logo_url"] not in handover.html
    assert '<p style="margin:0">Omar</p>' in handover.html and "reach them.\n\nOmar\n" in handover.text


def test_without_reply_addresses_a_reply_to_the_hand_over_goes_to_the_companys_reply_to(app, client, drain,
                                                                                         sendgrid):
    company.save_profile(**ACME)
    item, dana = item_for_dana(client, drain)
    omar = make_user("omar@example.com", name="Omar", team="Support")
    handover = hand_over_email(client, drain, sendgrid, item, omar)
    assert handover.reply_to == "care@acme.example"
    assert "You are receiving this because you answered one of our surveys." in handover.text


def test_a_hand_over_email_to_a_contact_of_no_stated_language_speaks_the_surveys(app, client, drain, sendgrid):
    company.save_profile(company_name="Acme")
    item, dana = item_for_dana(client, drain)
    item.survey.language, item.contact.language = "de", None
    db.session.commit()
    omar = make_user("omar@example.com", name="Omar", team="Support")
    handover = hand_over_email(client, drain, sendgrid, item, omar)
    assert handover.subject == "Omar ist jetzt Ihre Ansprechperson" and handover.from_name == "Omar von Acme"
    assert "Omar kümmert sich ab sofort um Ihr Feedback und übernimmt von Dana." in handover.text


def test_a_closing_message_to_a_contact_of_no_stated_language_speaks_the_surveys(app, client, drain, sendgrid):
    """And its footer, for a survey without a title, names none."""
    item, dana = item_for_dana(client, drain)
    item.survey.language, item.survey.title, item.contact.language = "de", None, None
    db.session.commit()
    closing = closing_email_dana_sends(client, drain, sendgrid, item, "Hallo Ann,\n\nerledigt.")
    assert "Hat das Ihr Anliegen gelöst?" in closing.html and "Ja: http" in closing.text
    assert "Sie erhalten diese E-Mail, weil Sie an einer unserer Umfragen teilgenommen haben." in closing.text


def test_a_survey_in_german_starts_with_german_wording(app):
    survey = make_survey(language="de", company="Acme")
    assert survey.question == "Wie wahrscheinlich ist es, dass Sie Acme einem Freund oder Kollegen weiterempfehlen?"
    assert survey.subject == "Eine kurze Frage von Acme"
    assert survey.comment_prompt == "Was ist der Hauptgrund für Ihre Bewertung?"


def test_dates_numbers_and_waits_follow_the_language(app):
    day = utcnow().replace(year=2026, month=12, day=3)
    assert [format_day(day, code) for code in ("en", "de", "fr", "es")] == [
        "December 3, 2026", "3. Dezember 2026", "3 décembre 2026", "3 de diciembre de 2026"]
    assert format_number(1234.5, "de") == "1.234,5" and format_number(1234.5, "en") == "1,234.5"
    assert format_duration(timedelta(hours=72), "de") == "3 Tage"
    assert format_duration(timedelta(hours=5), "fr") == "5\xa0heures"  # French keeps number and unit together



ENGLISH = re.compile(r"\b(the|your|you|please|thank|our|and|with|from|this|field|cannot|longer)\b", re.I)


def visible_words(html: str) -> str:
    html = re.sub(r"(?s)<(style|script|title)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_a_german_contact_meets_no_english_in_any_email_or_page(app, client, drain, sendgrid):
    """The catalogs test finds strings marked for translation; this finds the ones nobody marked
    (a library's message, a string written straight into a page) by walking everything a German
    contact can meet, mistakes included, and looking for English words."""
    company.save_profile(company_name="Acme", privacy_url="https://acme.example/datenschutz",
                         postal_address="Acme GmbH\nHafenstraße 1\nHamburg")
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    omar = make_user("omar@example.com", name="Omar", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey(title="Ihre Erfahrung", language="de", followups={"negative": "Was sollen wir ändern?"})
    contact = make_contact("jonas@customer.example", name="Jonas Weber")
    contact.language = "de"
    db.session.commit()
    surveys.send_invitations(survey, [contact.id])
    invitation = db.session.scalar(select(Invitation))
    invitation.status, invitation.created_at = "delivered", utcnow() - timedelta(days=4)
    db.session.commit()
    reminders.send_reminders()
    token = re.search(r"/s/([\w-]+)\?score=2", sent(sendgrid, "reminder:")[0].text).group(1)
    pages = [client.get(f"/s/{token}?score=2"), client.get(f"/s/{token}"), client.get(f"/s/{token}?score=3D5"),
             client.post(f"/s/{token}", data={"score": "2", "comment": "z" * 5001}),
             client.post(f"/s/{token}", data={"score": "12", "comment": "Gut."}),
             client.get(f"/s/{token}/unsubscribe")]
    client.post(f"/s/{token}", data={"score": "2", "comment": "Der Support antwortet nie."})
    pages.append(client.get(f"/s/{token}/thanks"))
    drain()
    pages += [client.get(f"/s/{token}/thanks"), client.get(f"/s/{token}?score=3"),
              client.post(f"/s/{token}/add", data={"addition": " "})]
    from vocloop.items.models import FeedbackItem
    item = db.session.scalar(select(FeedbackItem))
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Omar.", "tell_customer": "y"})
    login(client, "omar@example.com")
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hallo Jonas,\n\nerledigt."})
    client.post("/logout", data={"csrf_token": csrf_from(client.get(page).get_data(as_text=True))})
    drain()
    emails = [e for e in sendgrid.emails() if e.to == contact.email]
    assert {e.custom_args["vocloop_key"].split(":")[0] for e in emails} == {"survey", "reminder", "handover",
                                                                          "closing"}
    verdict = re.search(r"http://vocloop\.test(/v/\S+?)\?answer=yes", emails[-1].text).group(1)
    same_site = {"Sec-Fetch-Site": "same-origin"}
    pages += [client.get(f"{verdict}?answer=no"), client.post(verdict, data={"answer": "?"}, headers=same_site)]
    client.post(verdict, data={"answer": "no", "still_wrong": "Immer noch kaputt."}, headers=same_site)
    pages += [client.get(f"{verdict}/thanks"), client.get(verdict)]
    client.post(f"/s/{token}/unsubscribe")
    pages += [client.get(f"/s/{token}/unsubscribe"), client.get(f"/s/{token}?score=9"),
              client.get("/s/kein-echter-link?score=3", headers={"Accept-Language": "de-DE,de;q=0.9"})]
    texts = [visible_words(p.get_data(as_text=True)) for p in pages]
    texts += [text for e in emails for text in (e.subject, e.text, visible_words(e.html))]
    english = {found.group(0) + ": …" + text[max(0, found.start() - 40):found.end() + 40] + "…"
               for text in texts for found in [ENGLISH.search(text.replace("z" * 5001, ""))] if found}
    assert len(texts) > 25 and not english, english


def test_every_score_of_the_scale_is_one_button_in_order_in_rows_a_phone_can_show(app, sendgrid):
    """NPS: eleven buttons, 0–5 over 6–10 on a phone; CES: 1–4 over 5–7; CSAT's five in one row. Each
    score once, in order, each button its own score's link, the end labels under the first and last row."""
    rows_of = {}
    for kind, low, high in (("nps", "Not at all likely", "Extremely likely"),
                            ("csat", "Very dissatisfied", "Very satisfied"),
                            ("ces", "Strongly disagree", "Strongly agree")):
        address = f"{kind}@customer.example"
        surveys.send_invitations(make_survey(kind, name=f"{kind} survey"), [make_contact(address).id])
        [email] = [email for email in sent(sendgrid, "survey:") if email.to == address]
        groups = re.findall(r'<div style="display:inline-block;vertical-align:top;width:\d+px;margin:0 0 8px 0">'
                            r"(.*?)</table>\s*</div>", email.html, re.DOTALL)
        rows = []
        for group in groups:
            buttons = re.findall(r'<a href="[^"]*\?score=(\d+)"[^>]*aria-label="Score (\d+)">(\d+)</a>', group)
            assert group.count("<a ") == len(buttons) and all(link == label == shown for link, label, shown in buttons)
            rows.append([int(shown) for *_, shown in buttons])
        rows_of[kind] = rows
        assert low in groups[0] and high in groups[-1], kind
    assert rows_of == {"nps": [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], "csat": [[1, 2, 3, 4, 5]],
                       "ces": [[1, 2, 3, 4], [5, 6, 7]]}


def test_the_survey_email_says_what_it_asks_before_it_is_opened_and_whose_link_it_is(app, sendgrid):
    """The inbox preview (the hidden preheader) is the question; the survey's intro comes in its own
    paragraphs; the link is said to be this customer's own (their address, in both parts); the reminder
    says it is one, and the first email does not."""
    survey = make_survey(intro="Thank you for being a customer this year.\n\nIt takes ten seconds.")
    contact = make_contact("ann.lee@customer.example", name="Ann Lee")
    surveys.send_invitations(survey, [contact.id])
    [first] = [email for email in sent(sendgrid, "survey:") if email.to == "ann.lee@customer.example"]
    preheader = re.search(r'<div style="display:none;[^"]*" aria-hidden="true">([^<]*)</div>', first.html)
    assert unescape(preheader.group(1)) == survey.question
    assert "<p style=\"margin:0 0 12px\">Thank you for being a customer this year.</p>" in first.html
    assert "Thank you for being a customer this year.\n\nIt takes ten seconds." in first.text
    mine = "This personal link is for ann.lee@customer.example only; please do not forward this email."
    assert mine in unescape(first.html) and mine in first.text
    reminder_words = "A few days ago we asked you one question."
    assert reminder_words not in first.text and reminder_words not in first.html
    invitation = db.session.scalar(select(Invitation).where(Invitation.contact_id == contact.id))
    invitation.status, invitation.created_at = "delivered", utcnow() - timedelta(days=4)
    db.session.commit()
    reminders.send_reminders()
    [reminder] = [email for email in sent(sendgrid, "reminder:") if email.to == "ann.lee@customer.example"]
    assert reminder_words in reminder.text and reminder_words in reminder.html
    assert mine in unescape(reminder.html) and mine in reminder.text


def test_a_contact_of_no_stated_language_reads_the_survey_email_in_the_surveys(app, sendgrid):
    """A German survey: a contact with no language, or one we have no words for, reads it in German."""
    survey = make_survey(language="de")
    people = [make_contact("nobody-said@customer.example", name="Jonas Weber"),
              make_contact("joao-de@customer.example", name="João Silva")]
    people[1].language = "pt-br"
    db.session.commit()
    surveys.send_invitations(survey, [contact.id for contact in people])
    emails = {email.to: email for email in sent(sendgrid, "survey:") if email.to in {p.email for p in people}}
    assert emails["nobody-said@customer.example"].text.startswith("Hallo Jonas Weber,")
    assert emails["joao-de@customer.example"].text.startswith("Hallo João Silva,")
    assert all('<html lang="de">' in email.html for email in emails.values())
