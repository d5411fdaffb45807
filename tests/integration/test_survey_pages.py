"""The Surveys pages: leads create a survey, set it up (bad settings refused, nothing lost), preview
who a send reaches and who the rules skip, send now or later, cancel; owners cannot."""

from sqlalchemy import func, select

from tests.factories import csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.extensions import db
from vocloop.surveys.models import Invitation, Survey, SurveySend


def _lead(client):
    make_user("lead@example.com", role="lead")
    login(client, "lead@example.com")
    return csrf_from(client.get("/surveys/").get_data(as_text=True))


def _settings(survey, **changes):
    values = {"name": survey.name, "subject": survey.subject, "sender_name": "", "intro": "",
              "question": survey.question, "comment_prompt": survey.comment_prompt, "open_items_for": "negative",
              "brand_color": "#1f4e79", "logo_url": "", "language": "en", "link_expiry_days": "30",
              "quarantine_days": "90", "reminder_days": "3", "active": "on",
              "followup_neutral": "What would make it a 10?"}
    return {**values, **changes}


def test_a_lead_creates_and_sets_up_a_survey_and_bad_settings_lose_nothing(app, client):
    token = _lead(client)
    created = client.post("/surveys/", data={"csrf_token": token, "name": "Relationship NPS", "kind": "nps",
                                             "company": "Acme"})
    assert created.status_code == 303
    survey = db.session.scalar(select(Survey))
    assert survey.question == "How likely are you to recommend Acme to a friend or colleague?"
    saved = client.post(f"/surveys/{survey.id}", data={"csrf_token": token, **_settings(survey, reminder_days="")})
    assert saved.status_code == 303
    db.session.refresh(survey)
    assert survey.followups == {"neutral": "What would make it a 10?"} and survey.reminder_days is None
    assert survey.open_items_for == "negative"
    refused = client.post(f"/surveys/{survey.id}", data={"csrf_token": token,
                                                         **_settings(survey, brand_color="#ffee88", name="Other")})
    assert refused.status_code == 422 and "WCAG AA needs 4.5:1" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).name == "Relationship NPS"
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert 'value="What would make it a 10?"' in page


def test_a_lead_writes_the_thanks_per_band_and_the_review_site_on_the_page_and_through_the_api(app, client):
    """What the thank-you page says for each score band, and the public review site offered to
    promoters, are the lead's to write: on the survey's page and by PATCH /api/v1/surveys/<id>."""
    from tests.factories import api_token
    token = _lead(client)
    survey = make_survey()
    review = "https://www.trustpilot.com/review/acme.example"
    saved = client.post(f"/surveys/{survey.id}", data={"csrf_token": token, **_settings(
        survey, thanks_positive="You made our week!", thanks_negative="We are on it.", review_url=review)})
    assert saved.status_code == 303
    db.session.refresh(survey)
    assert survey.thanks == {"positive": "You made our week!", "negative": "We are on it."}
    assert survey.review_url == review
    assert "You made our week!" in client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    for bad in ("javascript:alert(1)", "http://www.trustpilot.com/review/acme.example", "trustpilot"):
        refused = client.post(f"/surveys/{survey.id}", data={"csrf_token": token, **_settings(
            survey, thanks_positive="Changed", review_url=bad)})
        assert refused.status_code == 422, bad
        assert "The review site (review_url) must be an https:// address" in refused.get_data(as_text=True), bad
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).thanks["positive"] == "You made our week!"  # nothing half-saved
    headers = api_token(make_user("api@example.com", role="lead"))
    patched = client.patch(f"/api/v1/surveys/{survey.id}", headers=headers,
                           json={"thanks": {"neutral": "Thank you!"}, "review_url": None})
    assert patched.status_code == 200
    assert patched.get_json()["thanks"] == {"neutral": "Thank you!"} and patched.get_json()["review_url"] is None
    for body in ({"thanks": {"happy": "x"}}, {"thanks": {"positive": "x" * 1001}}, {"review_url": "ftp://x.example"}):
        assert client.patch(f"/api/v1/surveys/{survey.id}", headers=headers, json=body).status_code == 422, body


def test_preview_counts_who_the_rules_skip_then_send_now_invites_the_rest(app, client, drain):
    token = _lead(client)
    survey = make_survey()
    people = [make_contact(f"c{i}@customer.example") for i in range(3)]
    for contact in people:
        contact.attributes = {"plan": "pro"}
    db.session.commit()
    make_invitation(survey, people[0])  # asked recently: the quarantine protects her
    form = {"csrf_token": token, "audience": "attributes", "attributes": "plan = pro", "when": "now"}
    preview = client.post(f"/surveys/{survey.id}/send", data={**form, "action": "preview"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "<strong>2</strong> would be invited" in text and "1 skipped: quarantine" in text
    assert db.session.scalar(select(func.count()).select_from(SurveySend)) == 0  # a preview saves nothing
    sent = client.post(f"/surveys/{survey.id}/send", data={**form, "action": "send"})
    assert sent.status_code == 303
    drain()
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 3
    assert db.session.scalar(select(SurveySend.status)) == "done"
    bad = client.post(f"/surveys/{survey.id}/send", data={**form, "attributes": "no equals sign", "action": "send"})
    assert bad.status_code == 422 and "name = value" in bad.get_data(as_text=True)


def test_a_send_scheduled_for_later_waits_and_can_be_cancelled(app, client):
    token = _lead(client)
    survey = make_survey()
    make_contact("ann@customer.example")
    sent = client.post(f"/surveys/{survey.id}/send", data={
        "csrf_token": token, "audience": "all", "when": "later", "run_at": "2027-01-15T09:30", "repeat": "on",
        "repeat_days": "90", "action": "send"})
    assert sent.status_code == 303
    send = db.session.scalar(select(SurveySend))
    assert send.status == "scheduled" and send.repeat_days == 90
    assert send.run_at.isoformat() == "2027-01-15T09:30:00+00:00"  # the business calendar's zone: UTC here
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    client.post(f"/surveys/sends/{send.id}/cancel", data={"csrf_token": token})
    db.session.refresh(send)
    assert send.status == "cancelled"


def test_owners_cannot_open_the_survey_pages(app, client):
    make_user("owner@example.com")
    login(client, "owner@example.com")
    survey = make_survey()
    assert client.get("/surveys/").status_code == 403
    assert client.get(f"/surveys/{survey.id}").status_code == 403


def _framed_email(page: str) -> str:
    """The HTML the survey page frames (srcdoc), as the browser reads the attribute."""
    from html import unescape
    return unescape(page.split('title="The survey email as a customer reads it" sandbox srcdoc="')[1].split('"')[0])


def test_the_survey_page_shows_the_email_a_customer_of_each_language_receives_and_stores_nothing(app, client, drain):
    """Before sending, a lead reads the email exactly as a send writes it for a customer of that language
    (here compared with a real send to a contact with the lead's own name and address), the reminder too;
    the preview queues, stores and sends nothing, and its links open nothing."""
    from vocloop.mail.models import Message, MessageTemplate
    from vocloop.mail.outbox import rendered
    from vocloop.surveys import service as surveys
    make_user("lead@example.com", role="lead", name="Lee Lead")
    login(client, "lead@example.com")
    survey = make_survey(name="Q3 relationship NPS (internal)", company="Globex")
    templates_before = db.session.scalar(select(func.count()).select_from(MessageTemplate))
    page = client.get(f"/surveys/{survey.id}?language=de").get_data(as_text=True)
    shown = _framed_email(page)
    assert "Hallo Lee Lead," in shown and "lead@example.com" in shown and "Globex" in shown
    assert "Q3 relationship NPS" not in shown  # the internal name never reaches a customer
    assert '<head><base target="_blank">' in shown  # in the sandbox, no link opens
    assert "<dt>Subject</dt><dd>Eine kurze Frage von Globex</dd>" in page
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == templates_before

    # the same email a send writes for a German customer called Lee Lead at that address, link aside
    contact = make_contact("lead@example.com", name="Lee Lead")
    contact.language = "de"
    db.session.commit()
    surveys.send_invitations(survey, [contact.id])
    message = db.session.scalar(select(Message))
    token = next(value for tag, value in message.substitutions.items() if tag == surveys.TOKEN_TAG)
    sent = rendered(message).html.replace(token, surveys.PREVIEW_TOKEN)
    assert shown == sent.replace("<head>", '<head><base target="_blank">', 1)

    reminder = _framed_email(client.get(f"/surveys/{survey.id}?language=de&reminder=1").get_data(as_text=True))
    assert reminder != shown and "Hallo Lee Lead," in reminder
    english = client.get(f"/surveys/{survey.id}?language=xx").get_data(as_text=True)  # unknown: the survey's own
    assert "Hi Lee Lead," in _framed_email(english)
    assert "<dt>Subject</dt><dd>A quick question from Globex</dd>" in english
