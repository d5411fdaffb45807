"""Surveys customers are glad to answer: settings checked, follow-up questions, which answers open
an item, the translation layer, one reminder, and sends now, later and again."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.factories import answer, login, make_contact, make_invitation, make_survey, make_user
from vocloop import i18n
from vocloop.company.brand import contrast_with_white
from vocloop.contacts import imports
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.errors import Invalid
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.mail.models import Message
from vocloop.responses.models import Response
from vocloop.surveys import reminders, sends
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation, SurveySend


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("values, message", [
    ({"brand_color": "#ffcc00"}, "contrast 1.5:1"),
    ({"brand_color": "red"}, "like #1f4e79"),
    ({"logo_url": "http://cdn.example/logo.png"}, "The logo (logo_url) must be an https:// address"),
    ({"review_url": "ftp://reviews.example/acme"}, "The review site (review_url) must be an https:// address"),
    ({"followups": {"angry": "Why?"}}, "negative, neutral or positive"),
    ({"followups": {"negative": "x" * 501}},
     "followups maps negative, neutral or positive to a question of up to 500 characters"),
    ({"thanks": {"positive": "x" * 1001}},
     "thanks maps negative, neutral or positive to a message of up to 1000 characters"),
    ({"open_items_for": "never"}, "open_items_for must be one of"),
    ({"reminder_days": 0}, "between 1 and 30"),
    ({"reminder_days": 31}, "between 1 and 30"),
    ({"quarantine_days": -1}, "quarantine_days must be >= 0"),
    ({"link_expiry_days": 0}, "link_expiry_days between 1 and 365"),
    ({"link_expiry_days": 366}, "link_expiry_days between 1 and 365"),
    ({"language": "xx"}, "language must be one of"),
    ({"sender_email": "support at acme"}, "Not a valid email address"),
])
def test_bad_settings_are_refused_with_the_reason_and_nothing_changes(app, values, message):
    survey = make_survey()
    with pytest.raises(Invalid, match=re.escape(message)):
        surveys.update_survey(survey, **values)
    db.session.rollback()
    assert db.session.get(type(survey), survey.id).brand_color is None  # still the company's colour


def test_settings_that_pass_are_kept_and_a_dark_colour_reaches_wcag_aa(app):
    survey = make_survey()
    surveys.update_survey(survey, brand_color="#0b5cad", logo_url="https://cdn.example/logo.png",
                          followups={"neutral": " What would make it a 10? ", "positive": ""},
                          open_items_for="negative", reminder_days=None)
    assert survey.followups == {"neutral": "What would make it a 10?"}
    assert contrast_with_white("#0b5cad") >= 4.5 and survey.reminder_days is None
    assert round(contrast_with_white("#767676"), 2) == 4.54  # the known AA boundary grey
    surveys.update_survey(survey, followups={"negative": "q" * 500}, thanks={"positive": "t" * 1000})
    assert (len(survey.followups["negative"]), len(survey.thanks["positive"])) == (500, 1000)  # the limits are kept
    for quarantine_days, link_expiry_days, reminder_days in ((0, 1, 1), (0, 365, 30)):  # each range's both ends
        surveys.update_survey(survey, quarantine_days=quarantine_days, link_expiry_days=link_expiry_days,
                              reminder_days=reminder_days)
        assert (survey.quarantine_days, survey.link_expiry_days, survey.reminder_days) == (
            quarantine_days, link_expiry_days, reminder_days)


def test_the_follow_up_of_the_score_band_is_asked_and_kept_with_its_question(app, client, drain):
    make_user("admin@example.com", role="admin")
    survey = make_survey(followups={"neutral": "What would make it a 10?", "negative": "What should we fix?"})
    token = make_invitation(survey, make_contact("ann@customer.example"))
    page = client.get(f"/s/{token}?score=8").get_data(as_text=True)
    assert '<label class="field" for="followup">What would make it a 10?</label>' in page
    # She then picks a 3 (another band): her follow-up answer stays with the question she saw.
    sent = client.post(f"/s/{token}", data={"score": "3", "comment": "",
                                            "followup": "Invoices are wrong every single month"})
    assert sent.status_code == 303
    drain()
    response = db.session.scalar(select(Response))
    assert (response.score, response.followup_question, response.followup_answer) == \
        (3, "What would make it a 10?", "Invoices are wrong every single month")
    assert response.sentiment_label == "negative" and "billing" in response.topics  # the words are classified
    assert db.session.scalar(select(FeedbackItem.response_id)) == response.id


def test_a_follow_up_sent_from_an_older_tab_is_kept_with_the_question_that_tab_asked(app, client, drain):
    """Ann's first tab asked the 3's follow-up; she then clicked a 9 in the email (no question for a 9), and
    sent the first tab: her 3 and her words, with the question she answered."""
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(followups={"negative": "What should we fix?"}),
                            make_contact("ann@customer.example"))
    assert "What should we fix?" in client.get(f"/s/{token}?score=3").get_data(as_text=True)
    assert 'name="followup"' not in client.get(f"/s/{token}?score=9").get_data(as_text=True)
    sent = client.post(f"/s/{token}", data={"score": "3", "comment": "", "followup": "Invoices are wrong"})
    assert sent.status_code == 303
    response = db.session.scalar(select(Response))
    assert (response.score, response.followup_question, response.followup_answer) == \
        (3, "What should we fix?", "Invoices are wrong")


def test_without_a_follow_up_the_page_has_no_second_question(app, client):
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    assert 'name="followup"' not in client.get(f"/s/{token}?score=8").get_data(as_text=True)


@pytest.mark.parametrize("rule, score, comment, opens", [
    ("negative_or_comment", 8, "Fine", True), ("negative_or_comment", 8, "", False),
    ("negative", 8, "Fine", False), ("negative", 2, "", True),
    ("not_positive_or_comment", 8, "", True), ("not_positive_or_comment", 10, "", False),
    ("all", 10, "", True),
])
def test_the_surveys_rule_decides_which_answers_open_an_item(app, client, drain, rule, score, comment, opens):
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(open_items_for=rule), make_contact("ann@customer.example"))
    answer(client, token, score, comment)
    drain()
    assert (count(FeedbackItem) == 1) is opens


def test_customer_pages_speak_the_surveys_language_and_fall_back_to_english(app, client, tmp_path, monkeypatch):
    (tmp_path / "xx.json").write_text(json.dumps({
        "Your score of {score} is saved.": "Votre note de {score} est enregistrée.",
        "Send": "Envoyer"}), encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n.catalog.cache_clear()
    i18n.available_languages.cache_clear()
    try:
        token = make_invitation(make_survey(language="xx"), make_contact("ann@customer.example"))
        page = client.get(f"/s/{token}?score=7").get_data(as_text=True)
        assert '<html lang="xx">' in page and "Votre note de 7 est enregistrée." in page
        assert ">Envoyer</button>" in page
        assert "Your answer goes to the team that can act on it." in page  # not in the catalog: English
    finally:
        i18n.catalog.cache_clear()
        i18n.available_languages.cache_clear()


def _sent_days_ago(survey, email, days, status="delivered"):
    token = make_invitation(survey, make_contact(email))
    invitation = db.session.scalar(select(Invitation).order_by(Invitation.id.desc()))
    invitation.created_at, invitation.status = utcnow() - timedelta(days=days), status
    db.session.commit()
    return token, invitation


def test_the_emails_title_sender_and_brand_are_kept_tidy_and_blank_means_the_companys(app):
    """They reach the email (the sender its From header): a line break or doubled spaces typed into the
    title or name are made one space, the address and colour are lower-cased, the logo's and review site's
    addresses trimmed; blank is no setting, so the company profile's is used (and the API says null)."""
    survey = make_survey()
    surveys.update_survey(survey, title="  Your visit\r\nto   us ", sender_name="Ada\nfrom Support")
    assert (survey.title, survey.sender_name) == ("Your visit to us", "Ada from Support")
    surveys.update_survey(survey, title=" \n ", sender_name="")
    assert (survey.title, survey.sender_name) == (None, None)
    surveys.update_survey(survey, sender_email=" Support@Acme.Example ")
    assert survey.sender_email == "support@acme.example"  # the address as SendGrid's verified sender has it
    surveys.update_survey(survey, sender_email="")
    assert survey.sender_email is None  # the company profile's address
    surveys.update_survey(survey, brand_color="#0B5CAD", logo_url=" https://cdn.example/logo.png ",
                          review_url="https://reviews.example/acme\n")
    assert (survey.brand_color, survey.logo_url, survey.review_url) == (
        "#0b5cad", "https://cdn.example/logo.png", "https://reviews.example/acme")
    surveys.update_survey(survey, brand_color="", logo_url="", review_url=" ")
    assert (survey.brand_color, survey.logo_url, survey.review_url) == (None, None, None)  # the company's again


def test_a_survey_of_a_company_with_no_name_yet_asks_about_us_and_an_unknown_kind_is_named(app):
    """No company name anywhere yet (no profile, none given): the subject and question speak of "us",
    never of "None", in the survey's language; a kind we do not have is refused naming the ones we do."""
    english = surveys.create_survey(name="First", kind="nps", company="")
    assert (english.subject, english.question) == (
        "A quick question for you", "How likely are you to recommend us to a friend or colleague?")
    german = surveys.create_survey(name="Erste", kind="csat", company=None, language="de")
    assert german.subject == "Eine kurze Frage an Sie" and "None" not in german.question
    with pytest.raises(Invalid, match=r"^kind must be one of nps, csat, ces$"):
        surveys.create_survey(name="Stars", kind="stars")


def test_each_survey_counts_its_own_invitations_on_the_surveys_page(app, client):
    """Two surveys sent to different people: each row of the surveys page, and each survey's own page,
    counts that survey's invitations and answers only."""
    make_user("admin@example.com", role="admin")
    relationship, support = make_survey(name="Relationship"), make_survey("csat", name="Support")
    for n in range(3):
        _sent_days_ago(relationship, f"r{n}@customer.example", 1)
    token, _ = _sent_days_ago(support, "s0@customer.example", 1)
    _sent_days_ago(support, "s1@customer.example", 1, status="bounced")
    answer(client, token, 5)
    stats = surveys.survey_stats()
    assert {survey_id: (row["invited"], row["reached"], row["answered"], row["response_rate"])
            for survey_id, row in stats.items()} == {relationship.id: (3, 3, 0, 0.0), support.id: (2, 1, 1, 1.0)}
    login(client, "admin@example.com")
    page = client.get(f"/surveys/{support.id}").get_data(as_text=True)
    assert "2 invited, 1 reached, 1 answered: a response rate of <strong>100.0%</strong>." in page


def test_one_reminder_goes_to_non_responders_only_with_a_link_of_its_own(app, client, drain):
    make_user("admin@example.com", role="admin")
    survey = make_survey(reminder_days=3)
    token, waiting = _sent_days_ago(survey, "ann@customer.example", 4)
    answered_token, _ = _sent_days_ago(survey, "bob@customer.example", 4)
    answer(client, answered_token, 9)
    _, gone = _sent_days_ago(survey, "cy@customer.example", 4)
    gone.contact.unsubscribed_at = utcnow()
    _sent_days_ago(survey, "dee@customer.example", 4, status="bounced")
    _sent_days_ago(survey, "eve@customer.example", 2)  # not yet
    _sent_days_ago(survey, "fay@customer.example", 30)  # long ago: never reminded
    db.session.commit()
    assert reminders.send_reminders() == 1
    assert reminders.send_reminders() == 0  # once only
    [message] = db.session.scalars(select(Message).where(Message.idempotency_key.like("reminder:%")))
    assert message.to_email == "ann@customer.example" and message.invitation_id == waiting.id
    reminder_token = message.substitutions["-vl_token-"]
    assert reminder_token != token
    assert client.get(f"/s/{reminder_token}?score=6").status_code == 200  # the reminder's link
    assert client.get(f"/s/{token}?score=7").status_code == 200  # and the first one still work
    assert db.session.scalar(select(Response.score)) is not None and count(Response) == 2


def test_a_customer_with_an_open_item_gets_no_reminder(app, client, drain):
    make_user("admin@example.com", role="admin")
    survey, other = make_survey(reminder_days=3), make_survey(name="Support CSAT")
    _, invitation = _sent_days_ago(survey, "ann@customer.example", 4)
    answer(client, make_invitation(other, invitation.contact), 1, "Broken")
    drain()
    assert count(FeedbackItem) == 1 and reminders.send_reminders() == 0


def test_one_customers_open_item_holds_back_only_their_own_surveys(app, client, drain):
    make_user("admin@example.com", role="admin")
    survey, other = make_survey(reminder_days=3), make_survey(name="Support CSAT")
    _, ann = _sent_days_ago(survey, "ann@customer.example", 4)
    _, bob = _sent_days_ago(survey, "bob@customer.example", 4)
    answer(client, make_invitation(other, ann.contact), 1, "Broken")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    # Ann's open item keeps her reminder back; Bob, who has none, is due as usual.
    assert reminders.due_invitations(survey, utcnow()) == [bob.id]
    # A send to Cy, never surveyed: the preview and the send see only Cy's own loops, not Ann's.
    cy = make_contact("cy@customer.example")
    onboarding = make_survey(name="Onboarding")
    assert surveys.eligibility(onboarding, [cy.id]) == {"eligible": 1}
    assert surveys.eligibility(onboarding, [cy.id, ann.contact_id]) == {"eligible": 1, "open_item": 1}
    assert [sent.contact_id for sent in surveys.send_invitations(onboarding, [cy.id]).invitations] == [cy.id]
    # Closed with a message not yet accepted by the provider: Ann's loop is still open, Bob's reminder still due.
    items.close_with_message(item.owner, item, "Hi Ann, it is fixed now.")
    assert db.session.scalar(select(Message.status).where(Message.kind == "closing")) == "pending"
    assert reminders.due_invitations(survey, utcnow()) == [bob.id]
    dee = make_contact("dee@customer.example")
    assert surveys.eligibility(onboarding, [dee.id]) == {"eligible": 1}
    assert surveys.eligibility(onboarding, [ann.contact_id]) == {"eligible": 0, "open_item": 1}
    assert reminders.send_reminders() == 1
    [message] = db.session.scalars(select(Message).where(Message.idempotency_key.like("reminder:%")))
    assert message.to_email == "bob@customer.example"


def _contacts_with(plan: str, n: int, start: int = 0) -> list[int]:
    ids = []
    for i in range(start, start + n):
        contact = make_contact(f"{plan}{i}@customer.example")
        contact.attributes = {"plan": plan}
        ids.append(contact.id)
    db.session.commit()
    return ids


def test_a_scheduled_send_waits_for_its_time_then_invites_the_audience_through_the_rules(app):
    lead = make_user("lead@example.com", role="lead")
    survey = make_survey()
    pro = _contacts_with("pro", 3)
    _contacts_with("free", 2)
    gone = db.session.get(Contact, pro[0])
    gone.unsubscribed_at = utcnow()
    db.session.commit()
    later = utcnow() + timedelta(hours=2)
    send = sends.schedule_send(lead, survey, {"attributes": {"plan": "pro"}}, run_at=later)
    assert sends.due_send_ids(utcnow()) == []
    assert sends.run_send(send.id) is None and count(Invitation) == 0  # not due: nothing
    result = sends.run_send(send.id, now=later + timedelta(minutes=1))
    assert result == {"invited": 2, "skipped": {"unsubscribed": 1}}
    db.session.refresh(send)
    assert send.status == "done" and send.runs == 1 and send.invited == 2
    assert {i.contact_id for i in db.session.scalars(select(Invitation))} == set(pro[1:])
    assert all(i.send_id == send.id for i in db.session.scalars(select(Invitation)))
    assert count(Message) == 2


def test_a_recurring_send_comes_back_on_its_rhythm_and_the_quarantine_spaces_each_contact(app):
    survey = make_survey(quarantine_days=90)
    _contacts_with("pro", 2)
    start = utcnow()
    send = sends.schedule_send(None, survey, {"all": True}, run_at=start, repeat_days=30)
    assert sends.run_send(send.id, now=start)["invited"] == 2
    db.session.refresh(send)
    assert send.status == "scheduled" and send.run_at == start + timedelta(days=30)
    _contacts_with("new", 1)  # joins before the second run
    assert sends.run_send(send.id, now=start + timedelta(days=30))["skipped"] == {"quarantine": 2}
    assert count(Invitation) == 3
    sends.cancel_send(send)
    assert sends.run_send(send.id, now=start + timedelta(days=60)) is None


def test_a_run_that_died_midway_is_taken_over_without_inviting_anyone_twice(app):
    survey = make_survey(quarantine_days=0)  # no quarantine: only the send's own record prevents doubles
    ids = _contacts_with("pro", 4)
    send = sends.schedule_send(None, survey, {"all": True})
    surveys.send_invitations(survey, ids[:2], send_run=(send.id, send.run_at))  # the dead worker's half
    db.session.execute(update(SurveySend).values(status="running", leased_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    result = sends.run_send(send.id)
    assert result == {"invited": 2, "skipped": {"already_in_this_send": 2}}
    assert count(Invitation) == 4


def test_a_send_to_a_list_and_bad_audiences(app):
    survey = make_survey()
    content = b"email,name\nann@customer.example,Ann\nbob@customer.example,Bob\n"
    made = imports.process_import(imports.start_import(None, "q4.csv", content, "Q4 renewals").id)
    _contacts_with("other", 2)
    send = sends.schedule_send(None, survey, {"list_id": made.list_id})
    assert sends.run_send(send.id)["invited"] == 2
    for bad in ({}, {"list_id": 999}, {"attributes": {"plan": ["x"]}}, {"account_id": 999}, {"everyone": True}):
        with pytest.raises(Invalid):
            sends.schedule_send(None, survey, bad)
    with pytest.raises(Invalid, match="not in the past"):
        sends.schedule_send(None, survey, {"all": True}, run_at=utcnow() - timedelta(days=1))


def test_the_surveys_page_and_the_metrics_count_the_response_rate_the_same_way(app, client):
    from vocloop.metrics.queries import survey_scores

    make_user("admin@example.com", role="admin")
    survey = make_survey()
    for i, status in enumerate(["delivered", "opened", "clicked", "deferred", "bounced", "queued"]):
        _sent_days_ago(survey, f"c{i}@customer.example", 1, status=status)
    token, _ = _sent_days_ago(survey, "ann@customer.example", 1, status="queued")
    answer(client, token, 9)  # answered: it reached her, whatever the events said
    stats = surveys.survey_stats()[survey.id]
    assert (stats["invited"], stats["reached"], stats["answered"]) == (7, 5, 1)
    [scores] = survey_scores(utcnow() - timedelta(days=2), utcnow() + timedelta(minutes=1), survey.id)
    assert (scores["invitations_delivered"], scores["invitations_answered"]) == (5, 1)
    assert scores["response_rate"] == stats["response_rate"] == 0.2
