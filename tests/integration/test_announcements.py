"""The outer loop: a lead tells everyone who raised a topic that it is fixed. Built through the
services and pages as it happens: customers answer through their links, the lead writes on the page,
previews each person's email, sends once; the provider accepts or bounces."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.announcements import service as announcements
from vocloop.announcements.models import Announcement
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.open_loops import contacts_with_open_loop
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.mail.models import Message


@pytest.fixture
def raised(app, client, drain):
    """Who raised billing: Ann twice (one item closed since), Bea (reads German), Cid (unsubscribed
    since), Dee (her address bounced); Eve raised something else."""
    admin = make_user("admin@example.com", name="Alex Admin", role="admin")
    survey = make_survey(quarantine_days=0, open_items_for="negative")
    people = {name: make_contact(f"{name}@customer.example", name=name.title())
              for name in ("ann", "bea", "cid", "dee", "eve")}
    people["bea"].language = "de"
    db.session.commit()
    for name, comment in [("ann", "The invoice was wrong."), ("ann", "Charged twice on my invoice."),
                          ("bea", "Die invoice ist falsch, wrong charge."), ("cid", "Wrong invoice again."),
                          ("dee", "My invoice is wrong."), ("eve", "The app is slow to load.")]:
        answer(client, make_invitation(survey, people[name]), 2, comment)
    drain()
    item_of = {name: list(db.session.scalars(select(FeedbackItem).where(FeedbackItem.contact_id == contact.id)
                                            .order_by(FeedbackItem.id)))
               for name, contact in people.items()}
    assert all("billing" in item.topics for name in ("ann", "bea", "cid", "dee") for item in item_of[name])
    assert "billing" not in item_of["eve"][0].topics
    items.close_with_message(admin, item_of["ann"][0], "Hi Ann, we refunded the wrong invoice.")
    deliver_messages(outbox.take_queued_ids())
    db.session.rollback()
    people["cid"].unsubscribed_at = utcnow()
    people["dee"].suppressed_reason = "bounce"
    db.session.commit()
    return admin, people, item_of


def _link(token: str) -> str:
    return f"http://vocloop.test/s/{token}/unsubscribe"


def _form(html: str, **values) -> dict:
    return {"csrf_token": csrf_from(html), "topic": "billing", "subject": "We fixed the invoice errors",
            "body": "Since Monday every invoice is checked twice.\n\nSorry for the trouble.", **values}


def test_a_lead_tells_everyone_who_raised_it_once_in_their_language(app, client, sendgrid, drain, raised):
    admin, people, item_of = raised
    login(client, "admin@example.com")
    page = client.get("/announcements/new?topic=billing")
    assert page.status_code == 200 and '<option value="billing" selected>' in page.text
    refused = client.post("/announcements/", data=_form(page.text, subject=""))
    assert refused.status_code == 422 and "The subject cannot be empty" in refused.text
    assert db.session.scalar(select(Announcement.id)) is None  # nothing stored from a bad form
    created = client.post("/announcements/", data=_form(
        page.text, close_open_items="on", subject_de="Wir haben die Rechnungsfehler behoben",
        body_de="Seit Montag wird jede Rechnung doppelt geprüft."))
    assert created.status_code == 303
    draft = client.get(created.headers["Location"]).text
    assert "Send to 2 people" in draft and "It closes <strong>2 open items</strong>" in draft
    assert "skipped: unsubscribed from our emails" in draft and "skipped: their address bounced" in draft
    assert "eve@customer.example" not in draft
    announcement = db.session.scalar(select(Announcement))

    token = api_token(admin)
    preview = client.get(f"/api/v1/announcements/{announcement.id}/preview?contact_id={people['bea'].id}",
                         headers=token).json
    assert preview["language"] == "de" and preview["subject"] == "Wir haben die Rechnungsfehler behoben"
    assert "Hallo Bea," in preview["text"] and "Seit Montag wird jede Rechnung doppelt geprüft." in preview["text"]
    ann_preview = client.get(f"/api/v1/announcements/{announcement.id}/preview?contact_id={people['ann'].id}",
                             headers=token).json
    assert "Hi Ann," in ann_preview["text"] and "Alex Admin" in ann_preview["text"]
    assert "<p style=\"margin:0 0 12px\">Sorry for the trouble.</p>" in ann_preview["html"]  # paragraphs kept
    audience = client.get(f"/api/v1/announcements/{announcement.id}/audience", headers=token).json
    assert {m["email"]: m["skip_reason"] for m in audience} == {
        "ann@customer.example": None, "bea@customer.example": None, "cid@customer.example": "unsubscribed",
        "dee@customer.example": "bounce"}

    sent = client.post(f"/announcements/{announcement.id}/send", data={"csrf_token": csrf_from(draft)})
    assert sent.status_code == 303
    drain()
    again = client.post(f"/api/v1/announcements/{announcement.id}/send", headers=token)
    assert again.status_code == 409
    drain()
    received = [e for e in sendgrid.emails() if e.custom_args["vocloop_key"].startswith("announcement:")]
    assert sorted(e.to for e in received) == ["ann@customer.example", "bea@customer.example"]  # once each
    [to_ann] = [e for e in received if e.to == "ann@customer.example"]
    ann_link = to_ann.headers["List-Unsubscribe"].strip("<>")  # hers alone: the preview's works for nobody
    assert to_ann.html == ann_preview["html"].replace(_link("preview"), ann_link)  # as previewed
    assert to_ann.subject == "We fixed the invoice errors"
    assert to_ann.from_name.startswith("Alex Admin from ")  # from the lead, at the company

    db.session.expire_all()
    ann_closed_before, ann_open = item_of["ann"]
    assert db.session.get(FeedbackItem, ann_open.id).close_reason == "announcement"
    assert db.session.get(FeedbackItem, ann_open.id).loop_closed_at is not None  # the provider accepted it
    assert db.session.get(FeedbackItem, ann_closed_before.id).close_reason == "closing_message"  # untouched
    told = db.session.scalars(select(ItemEvent.item_id).where(ItemEvent.kind == "announcement")).all()
    assert sorted(told) == sorted([ann_closed_before.id, ann_open.id, item_of["bea"][0].id])
    assert db.session.get(FeedbackItem, item_of["cid"][0].id).status == "open"  # skipped: not closed
    assert "Announcement from Alex Admin" in client.get(f"/contacts/{people['ann'].id}").text  # in their story

    figures = client.get("/api/v1/metrics/announcements", headers=token).json
    assert {k: figures[k] for k in ("announcements", "recipients", "reached", "skipped", "items_closed")} == {
        "announcements": 1, "recipients": 4, "reached": 2, "skipped": 2, "items_closed": 2}
    effect = client.get("/metrics/effect").text  # "Does closing the loop pay?" says the same of the outer loop
    assert re.search(r'data-tile="announcements"><p class="small muted">Announcements sent</p><p class="big">1</p>',
                     effect)
    assert re.search(r'data-tile="reached"><p class="small muted">Customers reached</p><p class="big">2</p>'
                     r'<p class="small">of 4', effect)
    sent_page = client.get(f"/announcements/{announcement.id}").text
    assert re.search(r"Reached</h2><p class=\"big\">2</p>", sent_page)
    assert client.post(f"/announcements/{announcement.id}/delete",
                       data={"csrf_token": csrf_from(sent_page)}).status_code == 303
    assert db.session.get(Announcement, announcement.id) is not None  # a sent one stays on record


def test_closed_by_an_announcement_counts_only_once_the_provider_accepts_it(app, client, sendgrid, raised):
    admin, people, item_of = raised
    announcement = announcements.create(admin, {"topic": "billing", "subject": "Fixed", "body": "It is fixed.",
                                                "only_open": True, "close_open_items": True})
    assert announcements.send(admin, announcement) == 2
    while announcements.queue_next_batch(announcement.id) is not None:
        pass
    bea_item = db.session.get(FeedbackItem, item_of["bea"][0].id)
    assert bea_item.status == "closed" and bea_item.loop_closed_at is None  # queued, not yet accepted
    assert people["bea"].id in contacts_with_open_loop([people["bea"].id])  # not surveyed meanwhile
    sendgrid.fail_next(400, message="invalid address")  # the provider refuses the first one it is sent
    deliver_messages(outbox.take_queued_ids())
    db.session.rollback()
    by_status = {m.status: m for m in db.session.scalars(select(Message).where(Message.kind == "announcement"))}
    refused, accepted = by_status["failed"], by_status["sent"]
    refused_item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == refused.contact_id,
                                                                FeedbackItem.close_reason.is_(None)))
    assert refused_item.status == "in_progress" and refused_item.loop_closed_at is None  # back with its owner
    assert refused_item.events[-1].body.startswith("The announcement could not be sent:")  # and why
    assert "invalid address" in refused_item.events[-1].body
    accepted_item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == accepted.contact_id,
                                                                 FeedbackItem.close_reason == "announcement"))
    assert accepted_item.loop_closed_at is not None
    assert accepted.contact_id not in contacts_with_open_loop([accepted.contact_id])

    # SendGrid then says the accepted one was delivered: that item stays loop-closed
    from vocloop.delivery.events import ProviderEvent
    from vocloop.delivery.outcomes import on_provider_events
    previous, accepted.status = accepted.status, "delivered"
    on_provider_events([ProviderEvent(accepted, "delivered", {}, previous, accepted.status)])
    db.session.commit()
    assert db.session.get(FeedbackItem, accepted_item.id).loop_closed_at is not None

    # the accepted one bounces later: that item opens again too, and its owner is told by email
    previous, accepted.status = accepted.status, "bounced"
    on_provider_events([ProviderEvent(accepted, "bounce", {"type": "bounce", "reason": "mailbox full"}, previous,
                                      accepted.status)])
    db.session.commit()
    accepted_item = db.session.get(FeedbackItem, accepted_item.id)
    assert accepted_item.status == "in_progress" and accepted_item.loop_closed_at is None
    assert accepted_item.events[-1].kind == "message_bounced" and "mailbox full" in accepted_item.events[-1].body
    deliver_messages(outbox.take_queued_ids())
    assert [email.to for email in sendgrid.emails() if "did not reach the customer" in email.subject] == [
        accepted_item.owner.email]
    figures = announcements.figures(announcement.sent_at.replace(hour=0, minute=0, second=0),
                                    announcement.sent_at.replace(year=2100))
    assert figures["reached"] == 0 and figures["not_reached"] == 2 and figures["items_closed"] == 0


def test_an_announcement_the_relay_gave_up_on_closes_its_items_again_when_it_proves_delivered(
        app, client, sendgrid, raised):
    """The relay gave up on the announcement to one customer (their items went back to their owners);
    SendGrid's events then prove it reached them after all. Their items are loop-closed at that time and
    closed again by the announcement, as the lead asked, with the reason on their activity."""
    from vocloop.delivery.events import ProviderEvent
    from vocloop.delivery.outcomes import on_provider_events

    admin, people, item_of = raised
    announcement = announcements.create(admin, {"topic": "billing", "subject": "Fixed", "body": "It is fixed.",
                                                "only_open": True, "close_open_items": True})
    announcements.send(admin, announcement)
    while announcements.queue_next_batch(announcement.id) is not None:
        pass
    sendgrid.fail_next(400, message="try later")
    deliver_messages(outbox.take_queued_ids())
    db.session.rollback()
    given_up = db.session.scalar(select(Message).where(Message.kind == "announcement", Message.status == "failed"))
    reopened = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == given_up.contact_id))
    assert reopened.status == "in_progress" and reopened.loop_closed_at is None

    given_up.status, given_up.sent_at = "delivered", utcnow()
    on_provider_events([ProviderEvent(given_up, "delivered", {}, "failed", "delivered")])
    db.session.commit()
    item = db.session.get(FeedbackItem, reopened.id)
    assert item.loop_closed_at is not None and item.status == "closed" and item.close_reason == "announcement"
    assert item.events[-1].body == ("The announcement that closed this item reached the customer after all: the mail "
                                    "provider confirmed it after vocloop had given up sending it. The item is closed "
                                    "again.")
    assert given_up.contact_id not in contacts_with_open_loop([given_up.contact_id])


def test_only_leads_and_admins_announce_and_a_lead_only_to_their_teams_customers(app, client, raised):
    make_user("olga@example.com", name="Olga")
    make_user("lee@example.com", role="lead", name="Lee", team="Support")
    login(client, "olga@example.com")
    assert client.get("/announcements/").status_code == 403
    assert client.get("/api/v1/announcements", headers=api_token(db.session.scalar(
        select(type(raised[0])).where(type(raised[0]).email == "olga@example.com")))).status_code == 403
    client.post("/logout", data={})
    login(client, "lee@example.com")
    page = client.get("/announcements/new")
    created = client.post("/announcements/", data=_form(page.text))
    draft = client.get(created.headers["Location"]).text
    # every billing item went to the fallback admin, outside Lee's team: Lee sees nobody, sends nothing
    assert "Nobody can be emailed with these filters" in draft and "ann@customer.example" not in draft


def test_a_lead_finds_their_own_announcement_however_many_newer_ones_other_teams_wrote(app, client, monkeypatch):
    """The page listed the most recent announcements of anyone, then dropped those the lead may not see:
    other teams' newer ones crowded a lead's own off their page."""
    monkeypatch.setattr(announcements, "LISTED", 2)
    lee = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    sam = make_user("sam@example.com", role="lead", name="Sam", team="Customer Success")
    ours = announcements.create(lee, {"topic": "billing", "subject": "Invoices are checked twice now",
                                      "body": "Fixed."})
    for n in range(2):
        announcements.create(sam, {"topic": "bugs", "subject": f"Crash {n} fixed", "body": "Fixed."})
    assert [a.id for a in announcements.listed_for(lee)] == [ours.id]
    login(client, "lee@example.com")
    page = client.get("/announcements/").get_data(as_text=True)
    assert "Invoices are checked twice now" in page and "Crash 1 fixed" not in page
    assert [a.subject for a in announcements.listed_for(sam)] == ["Crash 1 fixed", "Crash 0 fixed"]
    assert client.get(f"/announcements/{ours.id}").status_code == 200
    assert client.get(f"/api/v1/announcements/{ours.id}", headers=api_token(sam)).status_code == 404


# -- stopping them: the same unsubscribe link and page as a survey email's -------------------------------

def _announce(admin, subject: str = "Fixed") -> Announcement:
    announcement = announcements.create(admin, {"topic": "billing", "subject": subject, "body": "It is fixed."})
    announcements.send(admin, announcement)
    while announcements.queue_next_batch(announcement.id) is not None:
        pass
    deliver_messages(outbox.take_queued_ids())
    db.session.rollback()
    return announcement


def _received(sendgrid, subject: str) -> dict:
    return {email.to.split("@")[0]: email for email in sendgrid.emails() if email.subject == subject}


def _words(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_each_announcement_email_carries_its_readers_own_unsubscribe_link_and_one_click_headers(
        app, client, sendgrid, raised):
    """Gmail's and Yahoo's bulk-sender rules (RFC 8058), and a footer link in the reader's language."""
    admin, people, item_of = raised
    _announce(admin, "We fixed the invoice errors")
    received = _received(sendgrid, "We fixed the invoice errors")
    assert sorted(received) == ["ann", "bea"]
    links = {name: email.headers["List-Unsubscribe"].strip("<>") for name, email in received.items()}
    for name, email in received.items():
        assert re.fullmatch(r"http://vocloop\.test/s/[\w-]{30,}/unsubscribe", links[name])
        assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    words = {"ann": "Unsubscribe from surveys and updates", "bea": "Von Umfragen und Neuigkeiten abmelden"}
    for name, email in received.items():
        assert re.search(rf'<a href="{re.escape(links[name])}"[^>]*>{words[name]}</a>', email.html)
        assert f"{words[name]}: {links[name]}" in email.text
    assert links["ann"] != links["bea"]


def test_following_the_link_and_confirming_stops_later_announcements_and_surveys(app, client, sendgrid, raised):
    from vocloop.contacts.models import Contact
    from vocloop.surveys import service as surveys
    admin, people, item_of = raised
    _announce(admin, "We fixed the invoice errors")
    link = _received(sendgrid, "We fixed the invoice errors")["ann"].headers["List-Unsubscribe"].strip("<>")
    asked = client.get(link)
    assert asked.status_code == 200 and "Stop receiving surveys and updates?" in _words(asked)
    assert "A personal reply to feedback you gave still reaches you." in _words(asked)
    db.session.rollback()
    assert db.session.get(Contact, people["ann"].id).unsubscribed_at is None  # a scanner's prefetch changes nothing

    done = client.post(link)  # the page's button
    assert done.status_code == 200 and "You will not receive any more surveys or updates from us." in _words(done)
    db.session.rollback()
    assert db.session.get(Contact, people["ann"].id).unsubscribed_at is not None
    assert "You are unsubscribed" in _words(client.get(link))  # opened again: says so, asks nothing

    later = _announce(admin, "Invoices now arrive on the 1st")
    assert sorted(_received(sendgrid, "Invoices now arrive on the 1st")) == ["bea"]
    skipped = {r.contact_id: r.skip_reason for r in announcements.recipients_of(later) if r.status == "skipped"}
    assert skipped[people["ann"].id] == "unsubscribed"
    assert surveys.send_invitations(make_survey("csat", quarantine_days=0), [people["ann"].id]).skipped == [
        (people["ann"].id, "unsubscribed")]


def test_a_mail_clients_one_click_unsubscribes_and_the_page_speaks_the_readers_language(
        app, client, sendgrid, raised):
    from vocloop.contacts.models import Contact
    admin, people, item_of = raised
    _announce(admin, "We fixed the invoice errors")
    link = _received(sendgrid, "We fixed the invoice errors")["bea"].headers["List-Unsubscribe"].strip("<>")
    assert "Keine Umfragen und Neuigkeiten mehr erhalten?" in _words(client.get(link))
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 204  # no cookie, no page
    db.session.rollback()
    assert db.session.get(Contact, people["bea"].id).unsubscribed_at is not None
    assert db.session.get(Contact, people["ann"].id).unsubscribed_at is None  # her link is hers alone


def test_a_tampered_or_previewed_unsubscribe_link_is_refused_with_a_page_that_says_so(app, client, sendgrid, raised):
    from vocloop.contacts.models import Contact
    admin, people, item_of = raised
    _announce(admin, "We fixed the invoice errors")
    link = _received(sendgrid, "We fixed the invoice errors")["ann"].headers["List-Unsubscribe"].strip("<>")
    token = link.split("/s/")[1].removesuffix("/unsubscribe")
    tampered = _link(token[:-1] + ("A" if token[-1] != "A" else "B"))
    for wrong in (tampered, _link(announcements.PREVIEW_TOKEN)):
        refused = client.get(wrong)
        assert refused.status_code == 404 and "This link does not work" in _words(refused)
        assert "Unsubscribe me" not in _words(refused)
        assert client.post(wrong).status_code == 404
        assert client.post(wrong, data={"List-Unsubscribe": "One-Click"}).status_code == 404
    db.session.rollback()
    assert db.session.scalars(select(Contact.unsubscribed_at).where(Contact.unsubscribed_at.is_not(None))).all() == [
        people["cid"].unsubscribed_at]  # only Cid, who had unsubscribed before
