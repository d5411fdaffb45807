"""The public answer pages: one click, the comment, and every way a link can be wrong."""

from datetime import timedelta

from sqlalchemy import event, func, select, update

from tests.factories import answer, make_contact, make_invitation, make_survey, make_user
from tests.integration.test_routing import needs_postgresql
from vocloop.contacts import service as contacts
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response


def setup_invitation(**survey_options):
    make_user("admin@example.com", role="admin")
    survey = make_survey("nps", **survey_options)
    contact = make_contact("ann@customer.example", name="Ann")
    return make_invitation(survey, contact)


def responses():
    db.session.rollback()
    return list(db.session.scalars(select(Response)))


def test_one_click_records_the_score_and_asks_for_a_comment(app, client):
    token = setup_invitation()
    page = client.get(f"/s/{token}?score=4")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your score of 4 is saved" in html and '<textarea id="comment" name="comment"' in html
    [response] = responses()
    assert response.score == 4 and response.completed_at is None


@needs_postgresql
def test_a_click_is_stored_at_its_time_whatever_time_zone_the_database_server_keeps(app, client):
    """A database server set to another time zone than UTC (a managed database's default, say) still
    stores the clicked score at the moment it was clicked, as every other time is stored."""
    token = setup_invitation()

    def in_kolkata(connection, _record):
        connection.execute("SET TIME ZONE 'Asia/Kolkata'")  # UTC+5:30 all year
        connection.commit()

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", in_kolkata)
    try:
        before = utcnow()
        assert client.get(f"/s/{token}?score=9").status_code == 200
        after = utcnow()
        [response] = responses()
        assert before <= response.answered_at <= after
    finally:
        db.session.remove()
        event.remove(db.engine, "connect", in_kolkata)
        db.engine.dispose()


def test_clicking_again_updates_the_same_response_until_the_comment_is_in(app, client):
    token = setup_invitation()
    client.get(f"/s/{token}?score=4")
    client.get(f"/s/{token}?score=9")
    [response] = responses()
    assert response.score == 9
    assert answer(client, token, 9, "Lovely").status_code == 303
    again = client.get(f"/s/{token}?score=1")
    assert again.status_code == 409 and "already in" in again.get_data(as_text=True)
    [response] = responses()
    assert response.score == 9 and response.comment == "Lovely"


def test_a_comment_completes_only_its_own_answer(app, client):
    """Bob clicked a score and is still thinking about his comment when Ann sends hers."""
    ann = setup_invitation()
    bob = make_invitation(make_survey("csat"), make_contact("bob@customer.example"))
    client.get(f"/s/{bob}?score=5")
    assert answer(client, ann, 3, "Too slow").status_code == 303
    assert {(response.score, response.comment, response.completed_at is not None) for response in responses()} == {
        (3, "Too slow", True), (5, None, False)}
    assert answer(client, bob, 4, "Fine").status_code == 303


def test_tampered_or_unknown_tokens_get_a_friendly_404(app, client):
    token = setup_invitation()
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x", "a" * 500):
        page = client.get(f"/s/{bad}?score=3")
        assert page.status_code == 404
        assert "This link does not work" in page.get_data(as_text=True)
    assert responses() == []


def test_an_expired_link_gets_410_and_records_nothing(app, client):
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("old@customer.example"), expires_in_days=-1)
    page = client.get(f"/s/{token}?score=3")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert responses() == []


def test_a_score_outside_the_scale_is_refused_clearly(app, client):
    token = setup_invitation()
    for bad in ("11", "-1", "ten", "", "99999999999999999999", "7" * 5000):
        page = client.get(f"/s/{token}?score={bad}")
        assert page.status_code == 422, bad
        assert "from 0 to 10" in page.get_data(as_text=True)
    assert responses() == []


def test_a_score_off_a_csat_or_ces_scale_is_refused_though_an_nps_takes_it(app, client):
    """A CSAT is 1 to 5 and a CES 1 to 7: a 0 or a 9 in their links (edited by hand, or an NPS link's
    number) is no answer, is in no average, and says which scores there are."""
    make_user("admin@example.com", role="admin")
    csat = make_invitation(make_survey("csat"), make_contact("ann@customer.example"))
    ces = make_invitation(make_survey("ces"), make_contact("bob@customer.example"))
    for token, bad, scale in ((csat, "0", "from 1 to 5"), (csat, "9", "from 1 to 5"), (ces, "8", "from 1 to 7")):
        page = client.get(f"/s/{token}?score={bad}")
        assert page.status_code == 422 and scale in page.get_data(as_text=True), bad
    assert responses() == []
    assert client.get(f"/s/{csat}?score=5").status_code == 200 and [r.score for r in responses()] == [5]


def test_a_score_in_other_scripts_digits_is_refused_as_invalid(app, client):
    """int() reads Arabic-Indic, fullwidth and other digits, a sign and underscores: each stored a score."""
    token = setup_invitation()
    for bad in ("٥", "５", "৭", "+5", "1_0", "0x5", " ５ "):
        page = client.get(f"/s/{token}", query_string={"score": bad})
        assert page.status_code == 422, bad
        assert "from 0 to 10" in page.get_data(as_text=True)
        form = client.post(f"/s/{token}", data={"score": bad, "comment": "fine"})
        assert form.status_code in (400, 422), bad
    assert responses() == []
    assert client.get(f"/s/{token}?score=5").status_code == 200 and [r.score for r in responses()] == [5]


def test_a_comment_form_posted_from_another_site_is_refused_and_nothing_changes(app, client):
    token = setup_invitation()
    client.get(f"/s/{token}?score=2")
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = client.post(f"/s/{token}", data={"score": "2", "comment": "forged"}, headers=headers)
        assert refused.status_code == 403, headers
    [response] = responses()
    assert response.comment is None and response.completed_at is None
    # The customer's own page: the browser says same-origin (or, older ones, sends this site's Origin).
    sent = client.post(f"/s/{token}", data={"score": "2", "comment": "Mine"},
                       headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})
    assert sent.status_code == 303
    [response] = responses()
    assert response.comment == "Mine"


def test_the_customer_pages_set_no_cookie(app, client):
    token = setup_invitation()
    pages = [client.get(f"/s/{token}"), client.get(f"/s/{token}?score=3"),
             client.post(f"/s/{token}", data={"score": "3", "comment": "Fine"}), client.get(f"/s/{token}/thanks"),
             client.get(f"/s/{token}/unsubscribe")]
    assert [page.status_code for page in pages] == [200, 200, 303, 200, 200]
    assert [page.headers.getlist("Set-Cookie") for page in pages] == [[]] * 5


def test_the_invitation_is_stamped_answered_when_the_answer_counts_and_the_reminder_link_answers_it_too(app, client):
    from vocloop.security import new_secret_token
    from vocloop.surveys.models import Invitation
    token = setup_invitation()
    invitation = db.session.scalar(select(Invitation))
    reminder_token, reminder_hash = new_secret_token()
    invitation.reminder_token_hash = reminder_hash
    db.session.commit()
    assert client.get(f"/s/{token}?score=6").status_code == 200
    db.session.refresh(invitation)
    assert invitation.answered_at is None  # a click alone may be a mail scanner's: not answered yet
    db.session.execute(update(Response).values(answered_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    page = client.get(f"/s/{reminder_token}?score=8")  # the reminder's own link: the same answer changes
    assert page.status_code == 200 and "Your score of 8 is saved" in page.get_data(as_text=True)
    [response] = responses()
    assert response.score == 8 and response.status == "pending"
    assert client.get(f"/s/{token}?score=9").status_code == 200  # and the first link still works
    assert [response.score for response in responses()] == [9]
    assert answer(client, token, 9, "Fine.").status_code == 303
    [response] = responses()
    db.session.refresh(invitation)
    assert response.status == "counted" and response.counted_by == "comment"
    assert invitation.answered_at == response.counted_at  # when the customer's answer first counted


def test_a_comment_page_opened_before_the_click_sends_its_comment_with_the_clicked_score(app, client):
    """Ann opened the page without a score, then clicked a 4 in the email, then sent the first page's
    form with no score chosen: her comment joins her 4."""
    token = setup_invitation()
    assert client.get(f"/s/{token}").status_code == 200
    client.get(f"/s/{token}?score=4")
    assert client.post(f"/s/{token}", data={"score": "", "comment": "Slow"}).status_code == 303
    [response] = responses()
    assert (response.score, response.comment) == (4, "Slow") and response.completed_at is not None


def test_a_click_shows_the_survey_it_belongs_to(app, client):
    token = setup_invitation(followups={"negative": "What should we fix first?"})
    html = client.get(f"/s/{token}?score=0").get_data(as_text=True)
    assert "Your score of 0 is saved" in html and "What should we fix first?" in html
    assert 'value="0" checked' in html


def test_among_other_surveys_and_contacts_a_click_shows_its_own_survey_in_its_contacts_language(app, client):
    make_user("admin@example.com", role="admin")
    survey = make_survey("nps", followups={"negative": "What should we fix first?"})
    other = make_survey("nps", followups={"negative": "What went wrong at checkout?"})
    make_invitation(other, contacts.create_contact(email="bob@customer.example", language="fr"))
    token = make_invitation(survey, contacts.create_contact(email="ann@customer.example", language="de"))
    html = client.get(f"/s/{token}?score=0").get_data(as_text=True)
    assert "Ihre Bewertung 0 ist gespeichert." in html and "What should we fix first?" in html
    assert "checkout" not in html


def test_a_too_long_comment_is_refused_and_the_score_kept(app, client):
    token = setup_invitation()
    assert client.get(f"/s/{token}?score=2").status_code == 200
    refused = client.post(f"/s/{token}", data={"score": "2", "comment": "x" * 5001})
    assert refused.status_code == 400 and "5000" in refused.get_data(as_text=True)
    [response] = responses()
    assert response.score == 2 and response.completed_at is None


def test_after_the_comment_the_customer_is_told_who_will_answer(app, client, drain):
    owner = make_user("dana@example.com", role="owner", name="Dana", team="Support")
    from vocloop.routing.service import create_rule
    create_rule(name="all to Dana", action="user", user_id=owner.id)
    token = make_invitation(make_survey(), make_contact("ann@customer.example"))
    done = answer(client, token, 2, "It keeps crashing")
    drain()
    thanks = client.get(done.headers["Location"])
    assert thanks.status_code == 200
    assert "Dana will get back to you within" in thanks.get_data(as_text=True)


def test_a_score_without_a_comment_is_handled_after_the_grace_period(app, client, drain):
    token = setup_invitation()
    client.get(f"/s/{token}?score=1")
    from vocloop.jobs.tasks import sweep
    sweep()
    drain()
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 0
    db.session.rollback()
    [response] = responses()
    response.answered_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    sweep()
    drain()
    [item] = db.session.scalars(select(FeedbackItem)).all()
    assert item.response.score == 1 and item.priority in ("P1", "P2")


def test_a_score_that_counts_still_takes_its_comment_within_the_grace_period(app, client, drain):
    """Ann confirmed her 2 and is still writing 29 minutes later: the sweep handles Bob's score, confirmed
    31 minutes ago and never commented, and leaves hers for her comment."""
    from vocloop.jobs.tasks import sweep
    make_user("admin@example.com", role="admin")
    survey = make_survey("nps")
    ann, bob = (make_invitation(survey, make_contact(f"{name}@customer.example")) for name in ("ann", "bob"))
    for token, score, minutes in ((ann, 2, 29), (bob, 1, 31)):
        client.get(f"/s/{token}?score={score}")
        assert client.post(f"/s/{token}/confirm", data={"score": str(score)}).status_code == 303
        db.session.execute(update(Response).where(Response.score == score)
                           .values(answered_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()
    sweep()
    drain()
    [item] = db.session.scalars(select(FeedbackItem)).all()
    assert item.response.score == 1
    db.session.rollback()
    assert client.post(f"/s/{ann}", data={"score": "2", "comment": "Still waiting for a call"}).status_code == 303
    drain()
    assert {item.response.comment for item in db.session.scalars(select(FeedbackItem))} == {
        None, "Still waiting for a call"}


def test_scores_handled_long_ago_never_crowd_the_sweeps_batch(app, client):
    """The sweep completes scores whose comment never came, a batch at a time: answers completed long ago
    and clicks that never counted (a scanner's) are not in it, or on a busy install a score without a
    comment would never be handled."""
    from vocloop.responses import service
    token = setup_invitation()
    answer(client, token, 9, "Great support")
    survey = make_survey("csat")
    client.get(f"/s/{make_invitation(survey, make_contact('cy@customer.example'))}?score=5")  # nobody confirmed it
    bob = make_invitation(survey, make_contact("bob@customer.example"))
    client.get(f"/s/{bob}?score=2")
    client.post(f"/s/{bob}/confirm", data={"score": "2"})
    db.session.execute(update(Response).values(answered_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    [waiting] = [response.id for response in responses() if response.score == 2]
    assert service.complete_stale_responses(limit=1) == [waiting]
    assert {response.score: response.completed_at is not None for response in responses()} == {
        9: True, 5: False, 2: True}


def test_unsubscribe_asks_first_and_then_stops_surveys(app, client):
    from vocloop.contacts.models import Contact
    token = setup_invitation()
    page = client.get(f"/s/{token}/unsubscribe")
    assert page.status_code == 200 and "Unsubscribe me" in page.get_data(as_text=True)
    assert db.session.scalar(select(Contact.unsubscribed_at)) is None  # a prefetching scanner changes nothing
    done = client.post(f"/s/{token}/unsubscribe")
    assert done.status_code == 200 and "will not receive" in done.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(Contact.unsubscribed_at)) is not None


def test_an_unsubscribe_by_a_slip_is_undone_from_the_same_link_but_a_bounce_is_not(app, client):
    """The unsubscribed page (and the link opened again) offers "Get surveys and updates again": a POST
    that only the link's holder can make; a bounced address stays suppressed whatever the link says."""
    from vocloop.contacts.models import Contact
    from vocloop.surveys import service as surveys
    token = setup_invitation()
    done = client.post(f"/s/{token}/unsubscribe").get_data(as_text=True)
    assert "Changed your mind?" in done and f'action="/s/{token}/resubscribe"' in done
    again = client.get(f"/s/{token}/unsubscribe").get_data(as_text=True)
    assert "You are unsubscribed" in again and "Get surveys and updates again" in again
    assert client.get(f"/s/{token}/resubscribe").status_code == 405  # a prefetching scanner changes nothing
    assert client.post("/s/not-a-real-token/resubscribe").status_code == 404
    db.session.rollback()
    assert db.session.scalar(select(Contact.unsubscribed_at)) is not None
    back = client.post(f"/s/{token}/resubscribe")
    assert back.status_code == 200 and "You will receive surveys and updates from us again." in back.get_data(
        as_text=True)
    db.session.rollback()
    contact = db.session.scalar(select(Contact))
    assert contact.unsubscribed_at is None
    assert surveys.send_invitations(make_survey("csat", quarantine_days=0), [contact.id]).skipped == []
    contact.suppressed_reason = "bounce"
    db.session.commit()
    client.post(f"/s/{token}/resubscribe")
    db.session.rollback()
    assert db.session.scalar(select(Contact.suppressed_reason)) == "bounce"


def test_one_click_unsubscribe_from_the_mail_client_needs_no_cookie_or_page(app, client):
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the List-Unsubscribe URL."""
    from vocloop.contacts.models import Contact
    token = setup_invitation()
    done = client.post(f"/s/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 204
    db.session.rollback()
    assert db.session.scalar(select(Contact.unsubscribed_at)) is not None
    assert client.post("/s/not-a-real-token/unsubscribe", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_an_expired_link_still_unsubscribes(app, client):
    """The survey email read weeks later: its link no longer records answers, but the wish to stop does."""
    from vocloop.contacts.models import Contact
    make_user("admin@example.com", role="admin")
    token = make_invitation(make_survey(), make_contact("old@customer.example"), expires_in_days=-1)
    assert "Unsubscribe me" in client.get(f"/s/{token}/unsubscribe").get_data(as_text=True)
    done = client.post(f"/s/{token}/unsubscribe")
    assert done.status_code == 200 and "will not receive" in done.get_data(as_text=True)
    assert client.post(f"/s/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"}).status_code == 204
    db.session.rollback()
    assert db.session.scalar(select(Contact.unsubscribed_at)) is not None


def test_an_unsubscribed_contact_is_never_surveyed_again(app, client):
    from vocloop.surveys import service as surveys
    token = setup_invitation()
    client.post(f"/s/{token}/unsubscribe", data={"List-Unsubscribe": "One-Click"})
    db.session.rollback()
    from vocloop.contacts.models import Contact
    contact = db.session.scalar(select(Contact))
    assert surveys.send_invitations(make_survey("csat", quarantine_days=0), [contact.id]).skipped == [
        (contact.id, "unsubscribed")]


def test_answer_pages_are_rate_limited_per_address(settings, schema, worker):
    from vocloop import create_app
    app = create_app({**settings, "RATELIMIT_ENABLED": True, "RATELIMIT_PUBLIC": "5 per minute"})
    client = app.test_client()
    codes = [client.get("/s/guessing-tokens").status_code for _ in range(7)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429, 429]


def test_the_thanks_page_refreshes_itself_only_while_triage_is_running(app, client):
    from vocloop.responses import service
    token = setup_invitation()
    response = db.session.get(Response, service.submit_comment(token, "2", "Slow"))  # its triage not yet run
    assert 'http-equiv="refresh"' in client.get(f"/s/{token}/thanks").get_data(as_text=True)
    response.completed_at = utcnow() - timedelta(seconds=30)
    db.session.commit()
    assert 'http-equiv="refresh"' not in client.get(f"/s/{token}/thanks").get_data(as_text=True)
