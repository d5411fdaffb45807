"""The pages behind a survey link, as a person meets them: branded, in their language, a compact
confirmation instead of a headline, a thank-you message per score band (and a review site for
promoters), and friendly pages for an answer already in (with room to add to it while its loop is
open), an expired link, an unsubscribed contact (whose links then record nothing), too many
requests (with the wait) and any other error."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from flask import template_rendered
from sqlalchemy import func, select, update

from tests.factories import answer, make_contact, make_invitation, make_survey, make_user
from vocloop.company import service as company
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response
from vocloop.routing.service import create_rule
from vocloop.surveys.models import Invitation


def text_of(page) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_answer_page_confirms_the_click_in_a_line_and_asks_the_question_once(app, client):
    company.save_profile(company_name="Acme Analytics", privacy_url="https://acme.example/privacy",
                         postal_address="1 Harbour Street\nBristol")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    html = client.get(f"/s/{token}?score=8").get_data(as_text=True)
    assert '<p class="status" role="status">' in html and "Your score of 8 is saved." in html
    assert html.count("<h1>") == 1 and "<h1>How likely are you to recommend Acme" in html  # no second headline
    assert '<span class="name">Acme Analytics</span>' in html  # the brand on top
    assert "1 Harbour Street · Bristol" in html and 'href="https://acme.example/privacy"' in html
    assert 'style="--n: 11"' in html and 'value="8" checked' in html


def test_the_browser_tab_shows_the_emails_subject_and_nothing_else(app, client):
    """Until the answer counts, the page carries its beacon: once, in the page, not in the <title>
    (where the tab showed the markup as text)."""
    survey = make_survey(subject="A quick question from Acme")
    token = make_invitation(survey, make_contact("ann@customer.example"))
    html = client.get(f"/s/{token}?score=8").get_data(as_text=True)
    assert re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip() == "A quick question from Acme"
    assert html.count('id="person"') == 1 and html.count("answer.js") == 1


def test_a_contacts_language_picks_the_pages_words(app, client):
    contact = make_contact("jonas@customer.example")
    contact.language = "de"
    db.session.commit()
    token = make_invitation(make_survey(), contact)
    html = client.get(f"/s/{token}?score=3").get_data(as_text=True)
    assert '<html lang="de">' in html and "Ihre Bewertung 3 ist gespeichert." in html and ">Senden</button>" in html


def test_the_thank_you_page_says_what_the_lead_wrote_for_the_band_and_offers_promoters_a_review(app, client, drain):
    make_user("admin@example.com", role="admin")
    survey = make_survey(thanks={"positive": "You made our week!\nThank you.", "negative": "We are on it."},
                         review_url="https://www.trustpilot.com/review/acme.example")
    happy = make_invitation(survey, make_contact("ann@customer.example"))
    answer(client, happy, 10, "")
    drain()
    page = client.get(f"/s/{happy}/thanks").get_data(as_text=True)
    assert "You made our week!\nThank you." in page
    assert 'href="https://www.trustpilot.com/review/acme.example"' in page and "www.trustpilot.com" in page
    unhappy = make_invitation(survey, make_contact("bob@customer.example"))
    answer(client, unhappy, 2, "Too slow.")
    drain()
    page = client.get(f"/s/{unhappy}/thanks").get_data(as_text=True)
    assert "We are on it." in page and "trustpilot" not in page
    assert "will get back to you within" in page  # who answers, and when, as before


def test_an_answer_already_in_says_so_and_takes_more_words_while_its_loop_is_open(app, client, drain, sendgrid):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    survey = make_survey()
    token = make_invitation(survey, make_contact("ann@customer.example", name="Ann"))
    answer(client, token, 3, "Slow support.")
    drain()
    again = client.get(f"/s/{token}?score=9")
    assert again.status_code == 409 and "Thank you, your answer is already in." in text_of(again)
    assert "You gave a score of 3 on" in text_of(again) and 'name="addition"' in again.get_data(as_text=True)
    assert db.session.scalar(select(Response.score)) == 3  # the second click changed nothing
    added = client.post(f"/s/{token}/add", data={"addition": "It took three days to get an answer."})
    assert added.status_code == 303
    drain()
    item = db.session.scalar(select(FeedbackItem))
    assert [e.body for e in item.events if e.kind == "customer_replied"] == ["It took three days to get an answer."]
    assert any(e.to == "dana@example.com" and "replied" in e.subject for e in sendgrid.emails())
    item.status = "closed"
    db.session.commit()
    closed = client.get(f"/s/{token}")
    assert closed.status_code == 409 and 'name="addition"' not in closed.get_data(as_text=True)
    assert client.post(f"/s/{token}/add", data={"addition": "More."}).status_code == 409


def test_the_comment_form_sent_again_says_the_answer_is_in_not_that_something_went_wrong(app, client):
    """A second tab, the back button or a double press sends the form once more: the first one is the
    answer, and the page says so with the box to add to it (it said "Something went wrong on our side")."""
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    answer(client, token, 3, "Slow support.")
    again = client.post(f"/s/{token}", data={"score": "3", "comment": "Slow support!"})
    assert again.status_code == 409 and "Thank you, your answer is already in." in text_of(again)
    assert "went wrong" not in text_of(again) and 'name="addition"' in again.get_data(as_text=True)
    assert db.session.scalar(select(Response.comment)) == "Slow support."


def test_more_words_on_an_answer_without_an_item_are_triaged_again(app, client, drain):
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    answer(client, token, 8, "")
    drain()
    assert count(FeedbackItem) == 0  # a passive without words opens nothing by default
    client.post(f"/s/{token}/add", data={"addition": "The export is broken since Monday."})
    drain()
    assert db.session.scalar(select(Response.comment)) == "The export is broken since Monday."
    assert count(FeedbackItem) == 1  # words now: the survey's rule opens an item


def test_before_anyone_works_on_it_the_comment_itself_can_be_changed(app, client, drain):
    """On a survey where only unhappy answers open an item, a promoter's words open none: back on the
    link, the person sees their comment in the box and may rewrite it (it is classified again). Once an
    item is open, only new words reach its owner and the comment they read stays as it was."""
    make_user("admin@example.com", role="admin")
    survey = make_survey(open_items_for="negative")
    token = make_invitation(survey, make_contact("ann@customer.example"))
    answer(client, token, 9, "Nice app.")
    drain()
    assert count(FeedbackItem) == 0
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert "Your comment: change it or add to it." in page and ">Nice app.</textarea>" in page
    assert 'name="replaces" value="1"' in page and "Save changes" in page
    client.post(f"/s/{token}/add", data={"addition": "Nice app, but the export is broken.", "replaces": "1"})
    drain()
    response = db.session.scalar(select(Response))
    assert response.comment == "Nice app, but the export is broken." and response.processed_at is not None

    other = make_invitation(survey, make_contact("bob@customer.example"))
    answer(client, other, 2, "Slow.")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    again = client.get(f"/s/{other}").get_data(as_text=True)
    assert 'name="replaces"' not in again and "Anything to add? We will pass it on." in again
    # A page drawn before the item opened posts the whole box: only the new words reach the owner.
    client.post(f"/s/{other}/add", data={"addition": "Slow. And rude.", "replaces": "1"})
    drain()
    db.session.refresh(item)
    assert [e.body for e in item.events if e.kind == "customer_replied"] == ["And rude."]
    assert db.session.get(Response, item.response_id).comment == "Slow."
    # Rewritten rather than added to, on such a page: the owner reads all of the new words.
    client.post(f"/s/{other}/add", data={"addition": "Too slow, and nobody called back.", "replaces": "1"})
    drain()
    db.session.refresh(item)
    assert [e.body for e in item.events if e.kind == "customer_replied"] == \
        ["And rude.", "Too slow, and nobody called back."]


def test_words_added_from_two_tabs_are_both_kept(app, client, drain):
    """Ann answered without a comment and has the page open in two tabs: what she sends from the first
    and then from the second (drawn before, with nothing to change) are both in her comment, in order."""
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(open_items_for="negative"), make_contact("ann@customer.example"))
    answer(client, token, 9, "")
    drain()
    client.post(f"/s/{token}/add", data={"addition": "The export is slow."})
    client.post(f"/s/{token}/add", data={"addition": "And the search too."})
    drain()
    assert count(FeedbackItem) == 0
    assert db.session.scalar(select(Response.comment)) == "The export is slow.\n\nAnd the search too."


def test_an_expired_link_says_so_in_the_customers_language(app, client):
    contact = make_contact("ines@customer.example")
    contact.language = "fr"
    db.session.commit()
    token = make_invitation(make_survey(), contact, expires_in_days=-1)
    page = client.get(f"/s/{token}?score=5")
    assert page.status_code == 410 and "Ce lien d'enquête a expiré" in text_of(page)
    assert '<html lang="fr">' in page.get_data(as_text=True)
    thanks = client.get(f"/s/{token}/thanks")  # the thank-you page reopened weeks later
    assert thanks.status_code == 410 and "Ce lien d'enquête a expiré" in text_of(thanks)


def test_a_verdict_link_past_its_days_says_so_about_that_question_and_records_nothing(app, client, drain,
                                                                                       monkeypatch):
    """ "Did this resolve your concern?" opened after its 60 days: the customer's language, the survey's
    brand, words about that question (not "This survey link has expired") and where to turn instead;
    answering from the old page changes nothing."""
    import time

    from itsdangerous import TimestampSigner

    from vocloop.items import verdict_links

    company.save_profile(company_name="Acme Analytics")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    contact = make_contact("jonas@customer.example", name="Jonas")
    contact.language = "de"
    db.session.commit()
    answer(client, make_invitation(make_survey(), contact), 2, "Die Rechnung ist falsch.")
    drain()
    item = db.session.scalar(select(FeedbackItem))
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda signer: int(time.time()) - verdict_links.MAX_AGE_SECONDS - 60)
    old = "/v/" + verdict_links.serializer().dumps(item.id)
    monkeypatch.undo()
    page = client.get(f"{old}?answer=no")
    assert page.status_code == 410 and '<html lang="de">' in page.get_data(as_text=True)
    assert text_of(page).count("Dieser Link ist abgelaufen") == 2  # the tab's title and the heading
    assert ("Links, mit denen Sie uns sagen können, ob Ihr Anliegen gelöst ist, sind nach unserer Antwort 60 Tage "
            "lang gültig, und dieser ist abgelaufen. Wenn noch etwas nicht stimmt, antworten Sie einfach auf die "
            "E-Mail, die wir Ihnen geschickt haben.") in text_of(page)
    assert "Umfragelink" not in text_of(page) and "Acme Analytics" in text_of(page)
    sent = client.post(old, data={"answer": "no", "still_wrong": "Immer noch falsch."},
                       headers={"Sec-Fetch-Site": "same-origin"})
    assert sent.status_code == 410 and "Dieser Link ist abgelaufen" in text_of(sent)
    db.session.rollback()
    assert db.session.get(FeedbackItem, item.id).customer_verdict is None
    forged = client.get(old[:-3] + ("AAA" if not old.endswith("AAA") else "BBB"))
    assert forged.status_code == 404  # a tampered link is not "expired": it never worked


def test_an_unsubscribed_contacts_links_record_nothing_and_say_so(app, client):
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    assert "Stop receiving surveys and updates?" in text_of(client.get(f"/s/{token}/unsubscribe"))
    client.post(f"/s/{token}/unsubscribe")
    again = client.get(f"/s/{token}/unsubscribe")
    assert "You are unsubscribed" in text_of(again) and "Stop receiving surveys and updates?" not in text_of(again)
    click = client.get(f"/s/{token}?score=9")
    assert click.status_code == 409 and "this link no longer records answers. Nothing was saved." in text_of(click)
    assert client.get(f"/s/{token}").status_code == 409
    assert client.post(f"/s/{token}", data={"score": "9", "comment": "hi"}).status_code == 409
    assert count(Response) == 0


def test_too_many_requests_get_a_page_with_the_wait_in_the_browsers_language(app, client):
    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_PUBLIC="1 per minute")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    client.get(f"/s/{token}/unsubscribe")
    refused = client.get(f"/s/{token}/unsubscribe", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    words = text_of(refused)
    assert "Demasiadas solicitudes" in words and re.search(r"inténtelo de nuevo dentro de \d+ segundos", words)


def test_any_other_error_behind_a_link_is_a_friendly_page_not_http_jargon(app, client):
    for path in ("/s/not-a-real-link?score=3", "/s/x/y/z", "/v/forged?answer=yes"):
        page = client.get(path)
        assert page.status_code == 404 and "This link does not work" in text_of(page), path
        assert "Not Found" not in text_of(page)
    wrong = client.delete("/s/abc")
    assert wrong.status_code == 405 and "Method Not Allowed" not in text_of(wrong)


def test_a_long_comment_the_browser_allowed_is_kept_and_a_longer_one_is_refused_in_the_customers_words(app, client):
    """The box takes 5,000 characters as the browser counts them, a line break as one; the browser
    posts each as \\r\\n, which made a comment it allowed 'Field cannot be longer than 5000
    characters.' (in English, whatever the page's language)."""
    contact = make_contact("jonas@customer.example")
    contact.language = "de"
    db.session.commit()
    token = make_invitation(make_survey(), contact)
    client.get(f"/s/{token}?score=3")
    typed = ("x" * 99 + "\n") * 49 + "x" * 100  # 5,000 characters in the box, to its last one
    too_long = client.post(f"/s/{token}", data={"score": "3", "comment": "y" * 5001})
    assert too_long.status_code == 400 and "Ihr Kommentar darf höchstens 5.000 Zeichen lang sein." in text_of(too_long)
    assert "y" * 5001 in too_long.get_data(as_text=True)  # what they wrote is still there to shorten
    sent = client.post(f"/s/{token}", data={"score": "3", "comment": typed.replace("\n", "\r\n")})
    assert sent.status_code == 303
    assert db.session.scalar(select(Response.comment)) == typed


def test_a_score_off_the_scale_on_a_good_link_is_explained_in_the_contacts_language_with_the_way_back(app, client):
    """A link a mail client mangled (quoted-printable's '=3D5') or cut: the contact is known, so the
    page speaks their language and leads back to the question."""
    contact = make_contact("jonas@customer.example")
    contact.language = "de"
    db.session.commit()
    token = make_invitation(make_survey(), contact)
    for sent in (client.get(f"/s/{token}?score=3D5"), client.get(f"/s/{token}?score="),
                 client.post(f"/s/{token}", data={"score": "11", "comment": "Gut."})):
        html = sent.get_data(as_text=True)
        assert sent.status_code == 422 and '<html lang="de">' in html
        assert "<h1>Diese Bewertung konnte nicht gelesen werden</h1>" in html  # what happened, then what to do
        assert "Bitte wählen Sie eine Bewertung von 0 bis 10." in text_of(sent)
        assert f'href="/s/{token}"' in html and "Zurück zur Frage" in text_of(sent)
    assert count(Response) == 0


def test_an_error_of_ours_behind_a_link_is_a_page_in_the_customers_words_in_production(app, settings, monkeypatch):
    """In production an unexpected exception becomes a 500 page; behind a survey link it is the
    customer's page (their language, the company's brand), not the staff's and never a traceback."""
    from vocloop import create_app
    from vocloop.responses import service
    company.save_profile(company_name="Acme Analytics")
    contact = make_contact("jonas@customer.example")
    contact.language = "de"
    db.session.commit()
    token = make_invitation(make_survey(), contact)
    production = create_app({**settings, "VOCLOOP_ENV": "production", "SECRET_KEY": "p" * 40,
                             "VOCLOOP_BASE_URL": "https://feedback.example.com", "RATELIMIT_ENABLED": False,
                             "REDIS_URL": settings.get("REDIS_URL") or "redis://127.0.0.1:6379/10"})

    def broken(invitation):
        raise RuntimeError("database on fire at db-internal-7")

    monkeypatch.setattr(service, "response_for", broken)
    failed = production.test_client().get(f"/s/{token}", base_url="https://feedback.example.com")
    html = failed.get_data(as_text=True)
    assert failed.status_code == 500 and '<html lang="de">' in html
    assert "Bei uns ist etwas schiefgelaufen" in text_of(failed) and "Acme Analytics" in html
    assert "db-internal-7" not in html and "RuntimeError" not in html and "Internal Server Error" not in html


def test_an_answer_already_in_is_shown_as_such_after_its_link_expired(app, client, drain):
    """Opening the survey email weeks later: the person answered, so the page says what they
    answered (nothing to add any more), not 'Thank you for wanting to answer all the same.'"""
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    answer(client, token, 3, "Slow support.")
    drain()
    db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    for path in (f"/s/{token}", f"/s/{token}?score=9"):
        page = client.get(path)
        assert page.status_code == 409 and "Thank you, your answer is already in." in text_of(page), path
        assert "You gave a score of 3 on" in text_of(page) and 'name="addition"' not in page.get_data(as_text=True)
    assert db.session.scalar(select(Response.score)) == 3
    unanswered = make_invitation(make_survey(), make_contact("bob@customer.example"), expires_in_days=-1)
    assert client.get(f"/s/{unanswered}?score=9").status_code == 410  # never answered: expired, as before


def links_of(html: str) -> set[str]:
    return set(re.findall(r'(?:action|href|data-seen)="(/s/[^"]+)"', html))


def test_a_sends_clicks_each_open_the_page_with_their_own_links(app, client):
    """The click's page is drawn once per wording and copied for each link (vocloop.responses.page_cache):
    each customer's copy carries their link alone, and what differs between them still shows."""
    survey = make_survey(followups={"negative": "What went wrong?"})
    ann, bob, cem = (make_invitation(survey, make_contact(f"{name}@customer.example"))
                     for name in ("ann", "bob", "cem"))
    first = client.get(f"/s/{ann}?score=3").get_data(as_text=True)
    second = client.get(f"/s/{bob}?score=3").get_data(as_text=True)
    assert links_of(first) == {f"/s/{ann}", f"/s/{ann}/seen", f"/s/{ann}/unsubscribe"}
    assert links_of(second) == {f"/s/{bob}", f"/s/{bob}/seen", f"/s/{bob}/unsubscribe"}
    assert second.replace(bob, ann) == first  # the same page but for the link
    assert "What went wrong?" in second and 'value="3" checked' in second
    other_score = client.get(f"/s/{cem}?score=9").get_data(as_text=True)
    assert 'value="9" checked' in other_score and "What went wrong?" not in other_score


def test_an_edited_question_shows_on_the_next_click_at_once(app, client):
    from vocloop.surveys.service import update_survey

    survey = make_survey()
    ann, bob = (make_invitation(survey, make_contact(f"{name}@customer.example")) for name in ("ann", "bob"))
    client.get(f"/s/{ann}?score=8")
    update_survey(survey, question="How was your delivery today?")
    html = client.get(f"/s/{bob}?score=8").get_data(as_text=True)
    assert "<h1>How was your delivery today?</h1>" in html and "recommend" not in html


def test_a_german_contacts_click_after_an_english_one_gets_the_german_page(app, client):
    survey = make_survey()
    ann = make_invitation(survey, make_contact("ann@customer.example"))
    jonas = make_contact("jonas@customer.example")
    jonas.language = "de"
    db.session.commit()
    client.get(f"/s/{ann}?score=8")
    html = client.get(f"/s/{make_invitation(survey, jonas)}?score=8").get_data(as_text=True)
    assert '<html lang="de">' in html and "Senden" in html and ">Send<" not in html


def test_a_sends_clicks_draw_the_page_once_per_wording(app, client):
    """A send's clicks on one score open one page drawn once and copied per link; another score, or a
    click after the question was edited, is a wording of its own and drawn afresh (then copied too)."""
    from vocloop.surveys.service import update_survey

    drawn: list[str] = []

    def count(sender, template, context, **extra):
        drawn.append(template.name)

    survey = make_survey()
    tokens = [make_invitation(survey, make_contact(f"c{n}@customer.example")) for n in range(6)]
    with template_rendered.connected_to(count, app):
        pages = [client.get(f"/s/{token}?score=3").get_data(as_text=True) for token in tokens[:3]]
        assert drawn == ["answers/answer.html"]
        assert [links_of(page) for page in pages] == [
            {f"/s/{token}", f"/s/{token}/seen", f"/s/{token}/unsubscribe"} for token in tokens[:3]]
        client.get(f"/s/{tokens[3]}?score=9")
        client.get(f"/s/{tokens[4]}?score=9")
        assert len(drawn) == 2
        update_survey(survey, question="How was your delivery today?")
        assert "How was your delivery today?" in client.get(f"/s/{tokens[5]}?score=3").get_data(as_text=True)
        assert len(drawn) == 3
