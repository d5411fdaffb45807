"""The owners' inbox in the browser: sign-in, CSRF, per-object access, working and closing an item."""

from sqlalchemy import select

from tests.factories import PASSWORD, answer, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.accounts.models import User
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.routing.service import create_rule


def item_for_dana(client, drain, comment="The export crashes <script>alert(1)</script>"):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example", name="Ann")), 2, comment)
    drain()
    return db.session.scalar(select(FeedbackItem)), dana


def fresh(item_id):
    db.session.rollback()
    return db.session.get(FeedbackItem, item_id)


def post_form(client, page_path, action_path, fields):
    """Submit a form as the browser does: with the CSRF token from the page it is on."""
    token = csrf_from(client.get(page_path).get_data(as_text=True))
    prefix = fields.pop("_prefix", "")
    data = {(f"{prefix}-csrf_token" if prefix else "csrf_token"): token}
    data.update({(f"{prefix}-{key}" if prefix else key): value for key, value in fields.items()})
    return client.post(action_path, data=data)


def test_sign_in_is_required_and_wrong_passwords_are_refused(app, client):
    make_user("dana@example.com")
    assert client.get("/inbox/").status_code == 302
    assert login(client, "dana@example.com", "wrong password!").status_code == 401
    assert login(client, "dana@example.com", PASSWORD).status_code == 302
    assert client.get("/inbox/").status_code == 200


def test_sign_in_never_redirects_off_site(app, client):
    make_user("dana@example.com")
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login?next=https://evil.example/", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "dana@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/inbox/"


def test_an_unsafe_next_after_sign_in_is_ignored_not_a_500(app, client):
    make_user("dana@example.com")
    for target in ("/inbox/%0d%0aSet-Cookie:%20x=1", "/inbox/%0a", "/%09/evil.example", "/%5cevil.example",
                   "/\\evil.example", "%0d%0a"):
        page = client.get("/login")
        response = client.post(f"/login?next={target}", data={
            "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "dana@example.com", "password": PASSWORD})
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/inbox/", target
        client.delete_cookie("session")
    page = client.get("/login")
    kept = client.post("/login?next=/inbox/?tab=team", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "dana@example.com", "password": PASSWORD})
    assert kept.headers["Location"] == "/inbox/?tab=team"


def test_forms_without_a_csrf_token_are_refused(app, client, drain):
    item, _ = item_for_dana(client, drain)
    login(client, "dana@example.com")
    refused = client.post(f"/inbox/items/{item.id}/notes", data={"note-body": "forged"})
    assert refused.status_code == 400
    assert not [event for event in fresh(item.id).events if event.kind == "note"]


def test_the_item_page_escapes_customer_text(app, client, drain):
    item, _ = item_for_dana(client, drain)
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_owner_of_another_team_gets_404_on_the_item_page_and_its_forms(app, client, drain):
    item, _ = item_for_dana(client, drain)
    make_user("omar@example.com", team="Billing")
    login(client, "omar@example.com")
    assert client.get(f"/inbox/items/{item.id}").status_code == 404
    assert client.get("/inbox/?tab=team").get_data(as_text=True).count("/inbox/items/") == 0
    login(client, "dana@example.com")
    page = client.get(f"/inbox/items/{item.id}")
    assert page.status_code == 200
    login(client, "omar@example.com")
    csrf = csrf_from(client.get("/inbox/").get_data(as_text=True))
    forged = client.post(f"/inbox/items/{item.id}/close", data={"close-csrf_token": csrf, "close-message": "hi"})
    assert forged.status_code == 404
    assert fresh(item.id).status == "open"


def test_owner_notes_then_closes_the_loop_and_the_customer_gets_the_message(app, client, drain, sendgrid):
    item, dana = item_for_dana(client, drain)
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    assert post_form(client, page, f"{page}/notes", {"_prefix": "note", "body": "Called Ann."}).status_code == 303
    noted = fresh(item.id)
    assert noted.status == "in_progress" and noted.first_action_at is not None
    closed = post_form(client, page, f"{page}/close",
                       {"_prefix": "close", "message": "Hi Ann,\n\nThe export crash is fixed in 4.2."})
    assert closed.status_code == 303
    drain()
    done = fresh(item.id)
    assert done.status == "closed" and done.loop_closed_at is not None and done.close_reason == "closing_message"
    [closing] = [email for email in sendgrid.emails() if email.custom_args["vocloop_key"].startswith("closing:")]
    assert (closing.to, closing.to_name) == ("ann@customer.example", "Ann") and "export crash is fixed" in closing.text
    assert ">The export crash is fixed in 4.2.</p>" in closing.html
    assert [event.kind for event in done.events][-2:] == ["closed", "message_sent"]


def test_a_refused_closing_message_reopens_the_item_and_the_owner_can_write_again(app, client, drain, sendgrid):
    item, _ = item_for_dana(client, drain)
    login(client, "dana@example.com")
    sendgrid.fail_next(400, message="Does not contain a valid address.")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hi Ann, fixed."})
    drain()
    reopened = fresh(item.id)
    assert reopened.status == "in_progress" and reopened.loop_closed_at is None and reopened.closed_at is None
    assert reopened.events[-1].kind == "message_failed" and "valid address" in reopened.events[-1].body
    shown = client.get(page).get_data(as_text=True)
    assert "Closing messages" in shown and "SendGrid 400: Does not contain a valid address." in shown
    # Dana writes again, and this one goes: a second closing message of its own, not a clash with the first.
    assert post_form(client, page, f"{page}/close",
                     {"_prefix": "close", "message": "Hi Ann, it is fixed in 4.2."}).status_code == 303
    drain()
    assert fresh(item.id).loop_closed_at is not None
    closings = [email for email in sendgrid.emails() if email.custom_args["vocloop_key"].startswith("closing:")]
    assert ["fixed in 4.2" in email.text for email in closings][-1:] == [True]


def test_reassigning_needs_a_hand_over_note(app, client, drain):
    item, dana = item_for_dana(client, drain)
    omar = make_user("omar@example.com", name="Omar", team="Support")
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": ""})
    assert fresh(item.id).owner_id == dana.id
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Omar knows exports."})
    moved = fresh(item.id)
    assert moved.owner_id == omar.id
    assert moved.events[-1].kind == "reassigned" and moved.events[-1].body == "Omar knows exports."
    assert moved.events[-1].actor_id == dana.id  # the timeline names who handed it over


def test_a_crm_hears_of_a_hand_over_with_the_previous_owner_and_the_note(app, client, drain):
    from tests.factories import api_token
    from tests.support.webhook_receiver import WebhookReceiver
    item, dana = item_for_dana(client, drain)
    omar = make_user("omar@example.com", name="Omar", team="Support")
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    receiver = WebhookReceiver()
    try:
        registered = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["item.assigned"]},
                                 headers=api_token(admin))
        assert registered.status_code == 201
        handed = client.patch(f"/api/v1/items/{item.id}", headers=api_token(dana),
                              json={"owner_id": omar.id, "handover_note": "Omar knows exports."})
        assert handed.status_code == 200
        drain()
        told = [(data["item_id"], data["owner_id"], data["previous_owner_id"], data["handover_note"])
                for data in (e["data"] for e in receiver.events("item.assigned"))]
        assert told == [(item.id, omar.id, dana.id, "Omar knows exports.")]
    finally:
        receiver.close()


def test_an_owner_cannot_hand_over_to_an_owner_outside_their_teams(app, client, drain):
    item, dana = item_for_dana(client, drain)
    stranger = make_user("omar@example.com", team="Billing")
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    response = post_form(client, page, f"{page}/reassign", {"owner_id": str(stranger.id), "note": "yours"})
    assert response.status_code == 303
    assert fresh(item.id).owner_id == dana.id


def test_closing_without_a_message_does_not_count_as_loop_closed(app, client, drain):
    item, _ = item_for_dana(client, drain)
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/discard", {"_prefix": "discard", "reason": "spam", "note": ""})
    closed = fresh(item.id)
    assert closed.status == "closed" and closed.close_reason == "spam" and closed.loop_closed_at is None


def test_the_item_page_shows_the_customers_earlier_story(app, client, drain):
    item, _ = item_for_dana(client, drain)
    from vocloop.surveys.models import Invitation
    earlier_survey = make_survey("csat", name="Support CSAT")
    db.session.add(Invitation(survey_id=earlier_survey.id, contact_id=item.contact_id, token_hash="0" * 64,
                              expires_at=item.created_at))
    db.session.commit()
    login(client, "dana@example.com")
    html = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "Survey “Support CSAT” sent" in html and "Answered 2/10 to “NPS survey”" in html


def test_inbox_tabs_list_my_items_first_by_due_time(app, client, drain):
    item, _ = item_for_dana(client, drain)
    login(client, "dana@example.com")
    html = client.get("/inbox/").get_data(as_text=True)
    assert f"/inbox/items/{item.id}" in html and "Mine (1)" in html and "Closed (0)" in html
    assert client.get("/inbox/?tab=nonsense").status_code == 404


def test_a_hand_over_can_tell_the_customer_who_their_new_contact_is(app, client, drain, sendgrid):
    item, dana = item_for_dana(client, drain)
    omar = make_user("omar@example.com", name="Omar", team="Support")
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/reassign", {"owner_id": str(omar.id), "note": "Omar knows billing.",
                                                 "tell_customer": "y"})
    drain()
    [told] = [e for e in sendgrid.emails() if e.to == "ann@customer.example" and "is now your contact" in e.subject]
    assert "Omar is now looking after" in told.text and "taking over from Dana" in told.text
    assert fresh(item.id).events[-1].data["customer_told"] is True
    login(client, "omar@example.com")
    post_form(client, page, f"{page}/reassign", {"owner_id": str(dana.id), "note": "Back to Dana."})
    drain()
    assert fresh(item.id).owner_id == dana.id  # handed back, this time without telling the customer
    told = [e for e in sendgrid.emails() if e.to == "ann@customer.example" and "is now your contact" in e.subject]
    assert len(told) == 1


def test_the_customer_confirms_or_rejects_the_resolution_on_the_page_a_verdict_link_opens(app, client, drain, sendgrid):
    import re
    item, dana = item_for_dana(client, drain)
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hi Ann, fixed."})
    drain()
    client.delete_cookie("session")  # the customer's browser: no staff session
    [closing] = [e for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("closing:")]
    links = dict(re.findall(r"(Yes|No): http://vocloop\.test(/v/\S+)", closing.text))
    assert set(links) == {"Yes", "No"} and links["Yes"] in closing.html.replace("&amp;", "&")
    sent_before = len(sendgrid.emails())
    # What a mail scanner does: every link of the email, by HEAD and GET. Nothing changes.
    for link in links.values():
        assert client.head(link).status_code == 200
        chooser = client.get(link)
        assert chooser.status_code == 200 and "Did this resolve your concern?" in chooser.get_data(as_text=True)
    drain()
    untouched = fresh(item.id)
    assert untouched.customer_verdict is None and untouched.status == "closed" and len(sendgrid.emails()) == sent_before
    assert [e.kind for e in untouched.events][-1] != "customer_not_resolved"
    # The "Yes" link's page has "yes" chosen; its one button records it.
    html = client.get(links["Yes"]).get_data(as_text=True)
    assert re.search(r'value="yes"\s+checked', html) and not re.search(r'value="no"\s+checked', html)
    action = links["Yes"].split("?")[0]
    done = client.post(action, data={"answer": "yes"}, headers={"Sec-Fetch-Site": "same-origin"})
    assert done.status_code == 303
    assert "glad it is sorted" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert fresh(item.id).customer_verdict == "resolved"
    login(client, "dana@example.com")  # the owner sees the answer at the top of the closed item
    assert '<strong id="verdict">the customer said it is resolved</strong>' in client.get(page).get_data(as_text=True)
    client.delete_cookie("session")
    from vocloop.metrics.queries import closure
    assert closure(item.created_at, item.created_at.replace(year=2100))["verified_closure_rate"] == 1.0
    # Another site's page cannot answer for the customer.
    assert client.post(action, data={"answer": "no"}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post(action, data={}, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 400
    # "No" asks what is still wrong: the words reach the timeline and the owner's notice.
    assert "What is still wrong?" in client.get(links["No"]).get_data(as_text=True)
    client.post(action, data={"answer": "no", "still_wrong": "The refund never arrived."},
                headers={"Sec-Fetch-Site": "same-origin"})
    drain()
    reopened = fresh(item.id)
    assert reopened.customer_verdict == "not_resolved" and reopened.status == "in_progress"
    assert [e.kind for e in reopened.events][-2:] == ["customer_not_resolved", "reopened"]
    assert "The refund never arrived." in reopened.events[-2].body
    [notice] = [e for e in sendgrid.emails() if e.to == "dana@example.com" and "not resolved" in e.subject]
    assert "The refund never arrived." in notice.text
    # Sending the same answer again without new words changes nothing.
    entries, emails = len(reopened.events), len(sendgrid.emails())
    client.post(action, data={"answer": "no"}, headers={"Sec-Fetch-Site": "same-origin"})
    drain()
    assert len(fresh(item.id).events) == entries and len(sendgrid.emails()) == emails
    tampered = links["Yes"].replace("/v/", "/v/x")
    assert client.get(tampered).status_code == 404



def test_what_a_verdict_writes_reads_as_the_owner_expects_and_an_old_link_has_expired(app, client, drain, sendgrid,
                                                                                      monkeypatch):
    """The timeline entries and the owner's notice of a verdict, word for word; "yes" twice is one entry;
    "no" without words carries none; a link past its 60 days has expired (mutation testing
    items/verification.py: a link that never expired survived, as did every text)."""
    import time

    from vocloop.items import verdict_links

    item, dana = item_for_dana(client, drain)
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/close", {"_prefix": "close", "message": "Hi Ann, fixed."})
    drain()
    client.delete_cookie("session")
    action = "/v/" + verdict_links.serializer().dumps(item.id)
    same_site = {"Sec-Fetch-Site": "same-origin"}
    for answer_given in ("yes", "yes"):
        client.post(action, data={"answer": answer_given}, headers=same_site)
    client.post(action, data={"answer": "no", "still_wrong": "The refund never arrived."}, headers=same_site)
    drain()
    client.post(action, data={"answer": "yes"}, headers=same_site)
    client.post(action, data={"answer": "no"}, headers=same_site)
    drain()
    written = [(event.kind, event.body) for event in fresh(item.id).events
               if event.kind in ("customer_verified", "customer_not_resolved")]
    assert written == [
        ("customer_verified", "The customer said this resolved their concern."),
        ("customer_not_resolved", "The customer said this did not resolve their concern.\n\nThe refund never arrived."),
        ("customer_verified", "The customer said this resolved their concern."),
        ("customer_not_resolved", "The customer said this did not resolve their concern.")]
    reopened = [event.body for event in fresh(item.id).events if event.kind == "reopened"]
    assert len(reopened) == 1 and reopened[0].startswith("Reopened: not resolved for the customer. New due times")
    notices = [e.text for e in sendgrid.emails() if e.to == "dana@example.com" and "not resolved" in e.subject]
    assert len(notices) == 2
    # their "yes" while the item was open again (reopened by their "no") is news to its owner, once
    [changed_mind] = [e.text for e in sendgrid.emails() if e.to == "dana@example.com" and "now says" in e.subject]
    assert ("Ann answered “yes” to “Did this resolve your concern?” while the item is open again.\n\n"
            "If nothing is left to do, close it without a message (no action needed): the loop stays closed by "
            "your closing message.") in changed_mind
    assert ("Ann answered “no” to “Did this resolve your concern?”. The item is open again.\n\n"
            "What is still wrong, in their words:\n\nThe refund never arrived.") in notices[0]
    assert "What is still wrong" not in notices[1]
    from itsdangerous import TimestampSigner

    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda signer: int(time.time()) - verdict_links.MAX_AGE_SECONDS - 60)
    signed_long_ago = verdict_links.serializer().dumps(item.id)
    monkeypatch.undo()
    expired = client.get(f"/v/{signed_long_ago}?answer=no")
    assert expired.status_code == 410 and "has expired" in expired.get_data(as_text=True)


def test_a_mention_in_a_note_tells_a_colleague_who_may_see_the_item(app, client, drain, sendgrid):
    item, dana = item_for_dana(client, drain)
    make_user("omar@example.com", name="Omar", team="Support")
    make_user("zed@example.com", name="Zed", team="Billing")  # may not see the item: not told
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/notes", {"_prefix": "note", "body": "@omar can you check? cc @zed @nobody"})
    drain()
    told = [e.to for e in sendgrid.emails() if "mentioned you" in e.subject]
    assert told == ["omar@example.com"]
    html = client.get(page).get_data(as_text=True)
    assert ">due in " in html and "urgent language" not in html


def test_a_mention_at_the_end_of_a_sentence_tells_that_colleague(app, client, drain, sendgrid):
    item, dana = item_for_dana(client, drain)
    make_user("lee@example.com", name="Lee", role="lead", team="Support")
    login(client, "lee@example.com")
    page = f"/inbox/items/{item.id}"
    post_form(client, page, f"{page}/notes", {"_prefix": "note", "body": "Refund approved, over to you @dana."})
    drain()
    assert [e.to for e in sendgrid.emails() if "mentioned you" in e.subject] == ["dana@example.com"]


def test_a_hand_over_to_someone_who_does_not_exist_or_to_the_owner_is_refused_in_words_changing_nothing(
        app, client, drain, sendgrid):
    from tests.factories import api_token
    item, dana = item_for_dana(client, drain)
    before, emails = [(e.kind, e.body) for e in fresh(item.id).events], len(sendgrid.emails())
    nobody = client.patch(f"/api/v1/items/{item.id}", headers=api_token(dana),
                          json={"owner_id": 999_999, "handover_note": "Over to you", "tell_customer": True})
    assert nobody.status_code == 422 and nobody.json["detail"] == "The new owner must be an active user."
    herself = client.patch(f"/api/v1/items/{item.id}", headers=api_token(dana),
                           json={"owner_id": dana.id, "handover_note": "Over to me"})
    assert herself.status_code == 422 and herself.json["detail"] == "This user already owns the item."
    drain()
    unchanged = fresh(item.id)
    assert unchanged.owner_id == dana.id and [(e.kind, e.body) for e in unchanged.events] == before
    assert len(sendgrid.emails()) == emails  # neither the customer nor anyone else is told of a hand-over


def test_a_closing_message_to_a_bounced_address_is_refused_in_words_but_an_unsubscribed_customer_gets_it(
        app, client, drain, sendgrid):
    """Ann's address bounced: no email reaches her, so the owner is told to close without a message and
    the item stays open with nothing queued. Bo only unsubscribed, and the page he saw promised him no
    more surveys: the answer to what he raised still goes to him."""
    from tests.factories import api_token
    from vocloop.db import utcnow
    from vocloop.mail.models import Message
    anns, dana = item_for_dana(client, drain)
    bo = make_contact("bo@customer.example", name="Bo")
    answer(client, make_invitation(anns.survey, bo), 2, "Too slow")
    drain()
    bos = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == bo.id))
    anns.contact.suppressed_reason, bo.unsubscribed_at = "bounce", utcnow()
    db.session.commit()
    headers = api_token(dana)
    refused = client.post(f"/api/v1/items/{anns.id}/close", headers=headers, json={"message": "Hi Ann, fixed."})
    assert refused.status_code == 409 and refused.json["detail"] == (
        "This contact's address is suppressed (bounce); close the item without a message instead.")
    assert fresh(anns.id).status == "open"
    assert db.session.scalars(select(Message.to_email).where(Message.kind == "closing")).all() == []
    assert client.post(f"/api/v1/items/{bos.id}/close", headers=headers,
                       json={"message": "Hi Bo, it is faster now."}).status_code == 200
    drain()
    assert [e.to for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("closing:")] == [
        "bo@customer.example"]
    assert fresh(bos.id).loop_closed_at is not None


def test_closing_templates_drafts_and_an_exact_preview(app, client, drain, sendgrid):
    from tests.factories import api_token
    item, dana = item_for_dana(client, drain)
    lead = make_user("lee@example.com", role="lead", team="Support")
    headers = api_token(lead)
    bad = client.post("/api/v1/closing-templates", headers=headers, json={"name": "x", "body": "Hi {nickname}"})
    assert bad.status_code == 422 and "nickname" in bad.json["detail"]
    template = client.post("/api/v1/closing-templates", headers=headers, json={
        "name": "Crash fixed", "topic": "bugs",
        "body": "Hi {first_name},\n\nThanks for the {score}. The crash is fixed.\n\n{owner_name}"}).json
    client.post("/api/v1/closing-templates", headers=headers, json={"name": "Billing", "topic": "billing",
                                                                     "body": "Hi {name}"})
    login(client, "dana@example.com")
    page = f"/inbox/items/{item.id}"
    html = client.get(page).get_data(as_text=True)
    assert "Crash fixed" in html and ">Billing<" not in html  # only templates for this item's topics
    filled = client.get(f"{page}?template={template['id']}").get_data(as_text=True)
    assert "Hi Ann,\n\nThanks for the 2. The crash is fixed.\n\nDana" in filled
    token = csrf_from(filled)
    body = "Hi Ann, <b>fixed</b> in 4.2."
    client.post(f"{page}/close", data={"close-csrf_token": token, "close-message": body, "intent": "draft"})
    assert fresh(item.id).closing_draft == body and fresh(item.id).status == "open"
    assert "Hi Ann, &lt;b&gt;fixed&lt;/b&gt; in 4.2." in client.get(page).get_data(as_text=True)
    preview = client.post(f"{page}/close", data={"close-csrf_token": token, "close-message": body,
                                                 "intent": "preview"}).get_data(as_text=True)
    assert "Preview: exactly what ann@customer.example will receive" in preview and "srcdoc=" in preview
    assert "Did this resolve your concern?" in preview and fresh(item.id).status == "open"
    client.post(f"{page}/close", data={"close-csrf_token": token, "close-message": body, "intent": "send"})
    drain()
    sent = fresh(item.id)
    assert sent.status == "closed" and sent.closing_draft is None
    [email] = [e for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("closing:")]
    assert "&lt;b&gt;fixed&lt;/b&gt;" in email.html  # customer text is escaped in the email too


def test_closing_without_a_message_is_on_the_timeline_as_who_closed_it_why_and_nothing_more(app, client, drain):
    """Through the API, which takes no note: the entry names who and why, with no note of its own."""
    from tests.factories import api_token
    item, dana = item_for_dana(client, drain)
    headers = api_token(dana)
    closing = client.post(f"/api/v1/items/{item.id}/close", headers=headers, json={"reason": "duplicate"})
    assert closing.status_code == 200
    closed = fresh(item.id)
    assert closed.status == "closed" and closed.closed_at is not None and closed.loop_closed_at is None
    events = client.get(f"/api/v1/items/{item.id}/events", headers=headers).json
    assert [(e["kind"], e["actor_id"], e["body"], e["data"]) for e in events if e["actor_id"] is not None] == [
        ("closed", dana.id, "", {"reason": "duplicate"})]  # straight from open: no "in progress" step


def test_closing_with_a_message_straight_from_open_is_on_the_timeline_as_closed_by_who_with_what_was_said(
        app, client, drain):
    """As closing without one: the closing itself is Dana's first action, not an "in progress" step."""
    from tests.factories import api_token
    from vocloop.mail.models import Message
    item, dana = item_for_dana(client, drain)
    headers = api_token(dana)
    closing = client.post(f"/api/v1/items/{item.id}/close", headers=headers, json={"message": "Hi Ann, fixed."})
    assert closing.status_code == 200
    events = client.get(f"/api/v1/items/{item.id}/events", headers=headers).json
    [message_id] = db.session.scalars(select(Message.id).where(Message.kind == "closing")).all()
    assert [(e["kind"], e["actor_id"], e["body"], e["data"]) for e in events if e["actor_id"] is not None] == [
        ("closed", dana.id, "Hi Ann, fixed.", {"message_id": message_id})]  # which email, for an API client
    assert fresh(item.id).first_action_at is not None


def test_a_status_change_is_on_the_timeline_naming_who_moved_it_from_what_to_what(app, client, drain):
    from tests.factories import api_token
    item, dana = item_for_dana(client, drain)
    headers = api_token(dana)
    assert client.patch(f"/api/v1/items/{item.id}", headers=headers, json={"status": "waiting"}).status_code == 200
    events = client.get(f"/api/v1/items/{item.id}/events", headers=headers).json
    assert [(e["kind"], e["actor_id"], e["body"], e["data"]) for e in events if e["kind"] == "status"] == [
        ("status", dana.id, "Status open → waiting.", {"to": "waiting"})]
    login(client, "dana@example.com")
    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "<strong>status</strong>" in page and "Status open → waiting." in page


def test_a_note_names_its_author_and_a_blank_note_or_hand_over_note_is_refused_in_words(app, client, drain):
    from tests.factories import api_token
    item, dana = item_for_dana(client, drain)
    headers = api_token(dana)
    blank = client.post(f"/api/v1/items/{item.id}/notes", headers=headers, json={"body": "   "})
    assert blank.status_code == 422 and blank.json["detail"] == "A note cannot be empty."
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    bare = client.patch(f"/api/v1/items/{item.id}", headers=headers, json={"owner_id": admin.id, "handover_note": " "})
    assert bare.status_code == 422 and bare.json["detail"] == "A hand-over note cannot be empty."
    blank_close = client.post(f"/api/v1/items/{item.id}/close", headers=headers, json={"message": "  "})
    assert blank_close.status_code == 422 and blank_close.json["detail"] == "The closing message cannot be empty."
    assert client.post(f"/api/v1/items/{item.id}/notes", headers=headers, json={"body": "Called her"}).status_code < 300
    notes = [e for e in client.get(f"/api/v1/items/{item.id}/events", headers=headers).json if e["kind"] == "note"]
    assert [(e["actor_id"], e["body"]) for e in notes] == [(dana.id, "Called her")]
    client.post(f"/api/v1/items/{item.id}/close", headers=headers, json={"reason": "duplicate"})
    late = client.patch(f"/api/v1/items/{item.id}", headers=headers, json={"owner_id": admin.id, "handover_note": "x"})
    assert late.status_code == 409 and late.json["detail"] == "This item is closed."
