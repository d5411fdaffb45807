"""The loop effect reads each item's next answer and next invitation, stored when they happen
(items/next_answer.py). These tests change the history the ways a live system does (a customer answers
again before and after the loop ends, the loop ends, a new survey goes out, a click replaces a counted
answer and is set aside, the customer is erased) and check the figures the API shows against the ones
worked out by hand; and the migration's backfill against a history written at the schema before it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from tests.factories import answer, api_token, make_invitation, make_survey, make_user
from tests.integration.test_migrations import empty_database
from vocloop.contacts import service as contacts
from vocloop.contacts.privacy import erase_contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

PERSON = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"}
SAME_PAGE = {**PERSON, "Sec-Fetch-Site": "same-origin"}


def effect(client, admin) -> dict:
    figures = client.get("/api/v1/metrics/loop-effect", headers=api_token(admin)).json
    return {"answered_again": figures["answered_again"],
            **{group["key"]: (group["customers"], group["mean_change"]) for group in figures["outcomes"]},
            **{f"asked_{group['key']}": (group["asked_again"], group["answered"]) for group in figures["next_survey"]}}


@pytest.fixture
def ann(app, client, drain):
    """Ann answered 2 to an NPS survey; her item is open."""
    admin = make_user("admin@example.com", name="Alex Admin", role="admin")
    survey = make_survey(quarantine_days=0, open_items_for="negative")
    contact = contacts.create_contact(email="ann@customer.example", name="Ann")
    db.session.commit()
    answer(client, make_invitation(survey, contact), 2, "The invoice is wrong")
    drain()
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.contact_id == contact.id))
    return admin, survey, contact, item


def later():
    time.sleep(1.1)  # timestamps compare to the second on some paths: the next event comes clearly after


def test_the_next_answer_is_the_first_one_after_the_loop_ended(app, client, drain, ann):
    admin, survey, contact, item = ann
    assert effect(client, admin)["answered_again"] == 0
    later()
    answer(client, make_invitation(survey, contact), 8, "Better")  # a passive: no new item
    drain()
    # the loop is not closed: her next answer is any answer after the opening one, 2 -> 8 (+60 of 100)
    assert effect(client, admin)["not_closed"] == (1, 60.0)
    assert effect(client, admin)["asked_not_closed"] == (1, 1)  # asked again, and answered
    later()
    items.close_without_message(admin, db.session.get(FeedbackItem, item.id), "no_action_needed")
    # now the loop ended after that answer: it cannot show the loop's effect, and nobody was asked since
    figures = effect(client, admin)
    assert figures["answered_again"] == 0 and figures["not_closed"] == (0, None)
    assert figures["asked_not_closed"] == (0, 0)
    later()
    token = make_invitation(survey, contact)
    assert effect(client, admin)["asked_not_closed"] == (1, 0)  # asked again, not answered yet
    answer(client, token, 9, "Thanks for sorting it")
    drain()
    figures = effect(client, admin)
    assert figures["closed_without_message"] == (1, 70.0) and figures["answered_again"] == 1
    assert figures["asked_not_closed"] == (1, 1)
    later()
    answer(client, make_invitation(survey, contact), 10, "Great")  # the next-but-one answer changes nothing
    drain()
    assert effect(client, admin)["closed_without_message"] == (1, 70.0)


def test_a_survey_sent_after_the_loop_counts_as_asking_again(app, client, drain, ann):
    admin, survey, contact, item = ann
    later()
    items.close_without_message(admin, db.session.get(FeedbackItem, item.id), "no_action_needed")
    later()
    outcome = surveys.send_invitations(survey, [contact.id])  # the way a survey goes out: in bulk
    assert len(outcome.invitations) == 1
    assert effect(client, admin)["asked_not_closed"] == (1, 0)


def bob_too_and_both_items_closed_without_a_message(client, drain, admin, survey):
    """Bob answers 1 as Ann did; then both their items are closed without a message, some time apart."""
    bob = contacts.create_contact(email="bob@customer.example", name="Bob")
    db.session.commit()
    answer(client, make_invitation(survey, bob), 1, "Still broken")
    drain()
    later()
    for item_id in db.session.scalars(select(FeedbackItem.id)).all():
        items.close_without_message(admin, db.session.get(FeedbackItem, item_id), "no_action_needed")
    later()
    return bob


def test_one_send_to_several_customers_asks_each_of_them_again(app, client, drain, ann):
    """A send refreshes every recipient's items at once: Bob's item as well as Ann's."""
    admin, survey, ann_contact, ann_item = ann
    bob = bob_too_and_both_items_closed_without_a_message(client, drain, admin, survey)
    assert len(surveys.send_invitations(survey, [ann_contact.id, bob.id]).invitations) == 2
    db.session.expire_all()
    asked = db.session.scalars(select(FeedbackItem.next_invitation_id).order_by(FeedbackItem.id)).all()
    assert len(asked) == 2 and None not in asked
    assert effect(client, admin)["asked_not_closed"] == (2, 0)


def test_the_loop_ends_when_the_closing_message_is_accepted_not_when_it_is_written(app, client, drain, sendgrid, ann):
    """Ann's owner writes her closing message; before the provider accepts it she answers 8 to another survey
    email: that answer came before her loop was closed, so it cannot show the loop's effect. Her 10 after the
    message went out is her next answer (2 -> 10)."""
    admin, survey, contact, item = ann
    later()
    items.close_with_message(admin, db.session.get(FeedbackItem, item.id), "Hi Ann, the invoice is fixed.")
    db.session.commit()
    later()
    answer(client, make_invitation(survey, contact), 8, "Fine")  # a passive: no new item
    drain()
    later()
    deliver_messages(outbox.take_queued_ids())
    drain()
    assert db.session.get(FeedbackItem, item.id).loop_closed_at is not None
    assert effect(client, admin)["answered_again"] == 0
    later()
    answer(client, make_invitation(survey, contact), 10, "Great")
    drain()
    figures = effect(client, admin)
    assert figures["answered_again"] == 1 and figures["closed_in_sla"] == (1, 80.0)


def test_an_answer_to_another_survey_is_not_the_next_answer(app, client, drain, ann):
    """Ann's item came from an NPS answer; a CSAT survey she answers afterwards is on another scale and another
    question: only her next NPS answer shows the loop's effect."""
    admin, survey, contact, item = ann
    later()
    satisfaction = make_survey("csat", quarantine_days=0, open_items_for="negative")
    answer(client, make_invitation(satisfaction, contact), 5, "Happy with the support")  # satisfied: no item
    drain()
    assert effect(client, admin)["answered_again"] == 0
    assert effect(client, admin)["asked_not_closed"] == (1, 1)  # still, she was asked again and answered
    later()
    answer(client, make_invitation(survey, contact), 9, "Better")
    drain()
    assert effect(client, admin)["not_closed"] == (1, 70.0)  # 2 -> 9


def test_a_send_too_large_for_one_statement_asks_each_customer_again(app, client, drain, ann, monkeypatch):
    """A send to thousands refreshes its recipients' items a chunk of customers at a time, and only those who
    have an item; here a chunk is one customer: Ann and Bob, who have items, and Cy, who has none, are sent the
    survey, and both items count as asked again."""
    from vocloop.items import next_answer

    admin, survey, ann_contact, ann_item = ann
    cy = contacts.create_contact(email="cy@customer.example", name="Cy")
    bob = bob_too_and_both_items_closed_without_a_message(client, drain, admin, survey)
    monkeypatch.setattr(next_answer, "CHUNK", 1)
    assert len(surveys.send_invitations(survey, [cy.id, ann_contact.id, bob.id]).invitations) == 3
    assert effect(client, admin)["asked_not_closed"] == (2, 0)


def settle_all(seconds: float = 601) -> dict:
    """The settle window passes (every answer and invitation that much older, in plain SQL: only the
    sweep's own statements change what counts), then the sweep decides."""
    for table, column in ((Response, Response.answered_at), (Invitation, Invitation.sent_at)):
        for row_id, when in db.session.execute(select(table.id, column).where(column.is_not(None))).all():
            db.session.execute(update(table.__table__).where(table.__table__.c.id == row_id)
                               .values({column.key: when - timedelta(seconds=seconds)}))
    db.session.commit()
    return counting.settle_answers()


def test_a_counted_click_replaced_and_set_aside_is_no_longer_the_next_answer(app, client, drain, ann):
    admin, survey, contact, item = ann
    later()
    token = make_invitation(survey, contact)
    db.session.execute(update(Invitation).values(sent_at=utcnow() - timedelta(days=1), status="delivered"))
    db.session.commit()
    assert client.get(f"/s/{token}?score=9", headers=PERSON).status_code == 200  # one click, no comment
    assert effect(client, admin)["answered_again"] == 0  # pending: it does not count yet
    # the page saw a person (the beacon after real input): it counts at once
    assert client.post(f"/s/{token}/seen", data={"score": "9"}, headers=SAME_PAGE).status_code == 204
    assert effect(client, admin)["not_closed"] == (1, 70.0)
    # at once another score on the same link: two scores clicked, the sweep sets the answer aside
    assert client.get(f"/s/{token}?score=0", headers=PERSON).status_code == 200
    assert settle_all()["suspected"] == 1
    assert effect(client, admin)["answered_again"] == 0 and effect(client, admin)["not_closed"] == (0, None)


def test_a_score_changed_in_the_comment_after_the_click_counted_is_her_next_answer(app, client, drain, ann):
    """Ann's click of 9 counted (the page saw her); in the comment form she then picks 8: the loop effect
    reads her next answer as the 8 she sent, not the 9 she first clicked (a passive opens no item here,
    so nothing else refreshes her figures)."""
    admin, survey, contact, item = ann
    later()
    token = make_invitation(survey, contact)
    db.session.execute(update(Invitation).values(sent_at=utcnow() - timedelta(days=1), status="delivered"))
    db.session.commit()
    assert client.get(f"/s/{token}?score=9", headers=PERSON).status_code == 200
    assert client.post(f"/s/{token}/seen", data={"score": "9"}, headers=SAME_PAGE).status_code == 204
    assert effect(client, admin)["not_closed"] == (1, 70.0)  # 2 -> 9
    sent = client.post(f"/s/{token}", data={"score": "8", "comment": "On second thought, fine"}, headers=PERSON)
    assert sent.status_code in (200, 303)
    assert effect(client, admin)["not_closed"] == (1, 60.0)  # 2 -> 8


def test_an_erased_customer_keeps_the_figures(app, client, drain, ann):
    admin, survey, contact, item = ann
    later()
    answer(client, make_invitation(survey, contact), 7, "Fine now")
    drain()
    before = effect(client, admin)
    assert before["not_closed"] == (1, 50.0)
    erase_contact(db.session.get(type(contact), contact.id))
    db.session.commit()
    assert effect(client, admin) == before  # identity and text gone, the numbers stay


def test_the_migration_fills_in_every_item_of_a_history_written_before_it(settings, tmp_path):
    """A history at the schema before 0029, in SQL: the backfill finds each next answer and invitation
    (an answer given before the loop ended, and one set aside, are not the next), and the figures are
    the ones worked out by hand; the service's statements over every item give the very same facts."""
    from flask_migrate import upgrade

    from vocloop import create_app
    from vocloop.items import next_answer
    from vocloop.metrics.effect import loop_effect

    url = empty_database("vocloop_next_answer", tmp_path)
    app = create_app({**settings, "DATABASE_URL": url, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="0028")
        rows = [
            "INSERT INTO users (id, email, name, role, active, created_at) VALUES "
            "(1, 'admin@example.com', 'Admin', 'admin', true, '2026-01-01')",
            "INSERT INTO surveys (id, name, kind, question, comment_prompt, subject, intro, quarantine_days, "
            "link_expiry_days, active, created_at) VALUES (1, 'NPS', 'nps', 'q', 'c', 's', '', 0, 30, true, "
            "'2026-01-01')",
            *(f"INSERT INTO contacts (id, email, name, attributes, created_at) VALUES "
              f"({c}, 'c{c}@customer.example', 'C{c}', '{{}}', '2026-01-01')" for c in (1, 2, 3)),
        ]
        # (id, contact, score, answered at, status); each answer's invitation has its id, sent an hour before
        answers = [(1, 1, 2, "2026-01-01 10:00:00", "counted"),   # opens item 1, loop closed Jan 2 in SLA
                   (2, 1, 5, "2026-01-01 12:00:00", "counted"),   # before the loop ended: not the next
                   (3, 1, 9, "2026-01-05 10:00:00", "counted"),   # item 1's next: +7
                   (4, 2, 4, "2026-01-01 10:00:00", "counted"),   # opens item 2, never closed
                   (5, 2, 3, "2026-01-03 10:00:00", "suspected"),  # set aside: not the next
                   (6, 2, 6, "2026-01-06 10:00:00", "counted"),   # item 2's next: +2
                   (7, 3, 0, "2026-01-01 10:00:00", "counted")]   # opens item 3, closed without a message
        for response_id, contact_id, score, when, status in answers:
            rows.append(f"INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, "
                        f"answered_at, created_at) VALUES ({response_id}, 1, {contact_id}, 'h{response_id}', "
                        f"'delivered', '2030-01-01', {'NULL' if status != 'counted' else repr(when)}, "
                        f"'{when[:11]}09:00:00')")
            rows.append(f"INSERT INTO responses (id, invitation_id, survey_id, contact_id, score, answered_at, "
                        f"topics, status, created_at) VALUES ({response_id}, {response_id}, 1, {contact_id}, "
                        f"{score}, '{when}', '[]', '{status}', '{when}')")
        # contact 3 is asked again on Jan 8 and does not answer
        rows.append("INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, created_at) "
                    "VALUES (8, 1, 3, 'h8', 'delivered', '2030-01-01', '2026-01-08 09:00:00')")
        for item_id, response_id, contact_id, status, closed, loop_closed, in_sla in [
                (1, 1, 1, "closed", "'2026-01-02'", "'2026-01-02'", "true"),
                (2, 4, 2, "open", "NULL", "NULL", "NULL"),
                (3, 7, 3, "closed", "'2026-01-02'", "NULL", "NULL")]:
            rows.append(f"INSERT INTO feedback_items (id, response_id, contact_id, survey_id, owner_id, status, "
                        f"priority, first_action_due_at, close_due_at, closed_at, loop_closed_at, "
                        f"loop_closed_in_sla, reopen_count, topics, created_at, updated_at) VALUES ({item_id}, "
                        f"{response_id}, {contact_id}, 1, 1, '{status}', 'P2', '2026-01-02', '2026-01-03', {closed}, "
                        f"{loop_closed}, {in_sla}, 0, '[]', '2026-01-01 10:05:00', '2026-01-01 10:05:00')")
        for row in rows:
            db.session.execute(text(row))
        db.session.commit()
        db.session.remove()
        upgrade()

        def facts() -> list[tuple]:
            return db.session.execute(select(FeedbackItem.id, FeedbackItem.opening_score, FeedbackItem.next_response_id,
                                             FeedbackItem.next_score_change, FeedbackItem.next_invitation_id,
                                             FeedbackItem.next_invitation_answered_at.is_not(None))
                                      .order_by(FeedbackItem.id)).all()

        assert facts() == [(1, 2, 3, 7, 3, True), (2, 4, 6, 2, 5, False), (3, 0, None, None, 8, False)]
        figures = loop_effect(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
        assert (figures["items"], figures["answered_again"]) == (3, 2)
        outcomes = {group["key"]: (group["customers"], group["mean_change"]) for group in figures["outcomes"]}
        assert outcomes == {"closed_in_sla": (1, 70.0), "closed_late": (0, None), "closed_without_message": (0, None),
                            "not_closed": (1, 20.0)}
        # item 1 asked again (Jan 5's invitation) and answered; items 2 and 3 asked (Jan 3, Jan 8), neither answered
        assert [(group["asked_again"], group["answered"]) for group in figures["next_survey"]] == [(1, 1), (2, 0)]
        migrated = facts()
        db.session.execute(update(FeedbackItem).values(dict.fromkeys(next_answer.FACTS)))
        next_answer.refresh_all(db.session.connection())
        assert facts() == migrated
        db.session.remove()
        db.engine.dispose()
