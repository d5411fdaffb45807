"""CSV exports of items and answers through the API: same filters, same visibility, formula-safe."""

import csv
import io

from sqlalchemy import select

from tests.factories import answer, api_token, make_contact, make_invitation, make_survey, make_user
from vocloop.extensions import db
from vocloop.items.queries import EXPORT_BATCH
from vocloop.routing.service import create_rule


def rows_of(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.status_code
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_items_and_answers_export_as_the_user_may_see_them(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id, conditions={"score_max": 4})
    survey = make_survey()
    answer(client, make_invitation(survey, make_contact("ann@customer.example", account="Globex")), 2,
           '=HYPERLINK("http://evil") slow support')
    answer(client, make_invitation(survey, make_contact("bob@customer.example")), 6, "Meh")  # to the fallback admin
    answer(client, make_invitation(survey, make_contact("cy@customer.example")), 10)  # happy, no comment: no item
    drain()
    everything = rows_of(client.get("/api/v1/items/export.csv", headers=api_token(admin)))
    assert [row["contact_email"] for row in everything] == ["ann@customer.example", "bob@customer.example"]
    assert everything[0]["comment"].startswith("'=HYPERLINK")  # shown, not run, by a spreadsheet
    assert everything[0]["account"] == "Globex" and everything[0]["owner"] == "dana"
    mine = rows_of(client.get("/api/v1/items/export.csv", headers=api_token(dana)))
    assert [row["contact_email"] for row in mine] == ["ann@customer.example"]
    assert rows_of(client.get("/api/v1/items/export.csv",
                              headers=api_token(make_user("x@example.com", team="Billing")))) == []
    assert len(rows_of(client.get("/api/v1/items/export.csv?status=closed", headers=api_token(admin)))) == 0
    assert rows_of(client.get("/api/v1/items/export.csv?from=2000-01-01&to=2000-12-31",
                              headers=api_token(admin))) == []
    answers = rows_of(client.get("/api/v1/responses/export.csv", headers=api_token(admin)))
    assert [row["score"] for row in answers] == ["2", "6", "10"]  # admins: every answer, with or without an item
    assert answers[0]["classifier"] == "vocloop-sentiment-1" and answers[2]["item_id"] == ""
    assert [row["score"] for row in rows_of(client.get("/api/v1/responses/export.csv",
                                                       headers=api_token(dana)))] == ["2"]
    assert client.get("/api/v1/items/export.csv?status=lost", headers=api_token(admin)).status_code == 422
    assert client.get("/api/v1/items/export.csv").status_code == 401


def test_a_large_export_is_read_in_batches(app, client, drain):
    from datetime import timedelta

    from vocloop.db import utcnow
    from vocloop.responses.models import Response
    from vocloop.surveys.models import Invitation
    admin = make_user("admin@example.com", role="admin")
    survey, contact = make_survey(), make_contact("ann@customer.example")
    now = utcnow()
    count = EXPORT_BATCH + 5
    db.session.add_all([Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=f"{i:064d}",
                                   expires_at=now + timedelta(days=1)) for i in range(count)])
    db.session.flush()
    invitations = db.session.scalars(select(Invitation.id).order_by(Invitation.id)).all()
    db.session.add_all([Response(invitation_id=i, survey_id=survey.id, contact_id=contact.id, score=9,
                                 answered_at=now) for i in invitations])
    db.session.commit()
    answers = rows_of(client.get(f"/api/v1/responses/export.csv?survey_id={survey.id}", headers=api_token(admin)))
    assert len(answers) == count and len({row["id"] for row in answers}) == count


def test_an_item_export_keeps_to_the_owner_and_the_days_asked_for_a_batch_at_a_time(app, client, drain, monkeypatch):
    """Three items created on June 1, 2 and 3: from June 2 to June 3 takes the last two (both days whole), one
    owner's export only theirs; each row carries the item's owner, team, survey, account and dates as written
    in ISO; an export longer than a batch lists every item once, in number order."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from vocloop.accounts.models import Team
    from vocloop.items import queries
    from vocloop.items.models import FeedbackItem

    admin = make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", team="Support")
    support = db.session.scalar(select(Team).where(Team.name == "Support"))
    create_rule(name="to Support", action="team", team_id=support.id, conditions={"score_max": 4})
    survey = make_survey(name="Quarterly NPS")
    for email, score in [("ann@customer.example", 2), ("bob@customer.example", 6), ("cy@customer.example", 1)]:
        answer(client, make_invitation(survey, make_contact(email, account="Globex")), score, "Slow support")
    drain()
    ids = db.session.scalars(select(FeedbackItem.id).order_by(FeedbackItem.id)).all()
    for day, item_id in zip((1, 2, 3), ids, strict=True):
        when = datetime(2026, 6, day, 23, 59, 59, tzinfo=UTC) if day == 3 else datetime(2026, 6, day, tzinfo=UTC)
        db.session.execute(update(FeedbackItem).where(FeedbackItem.id == item_id).values(created_at=when))
    db.session.commit()
    headers = api_token(admin)

    def emails(query: str = "") -> list[str]:
        return [row["contact_email"] for row in rows_of(client.get(f"/api/v1/items/export.csv{query}",
                                                                   headers=headers))]

    assert emails("?from=2026-06-02&to=2026-06-03") == ["bob@customer.example", "cy@customer.example"]
    assert emails("?from=2026-06-01&to=2026-06-01") == ["ann@customer.example"]
    assert emails(f"?owner_id={dana.id}") == ["ann@customer.example", "cy@customer.example"]
    monkeypatch.setattr(queries, "EXPORT_BATCH", 1)
    rows = rows_of(client.get("/api/v1/items/export.csv", headers=headers))
    assert [int(row["id"]) for row in rows] == ids
    first = rows[0]
    assert (first["owner"], first["team"], first["survey"], first["account"], first["score"]) == (
        "dana", "Support", "Quarterly NPS", "Globex", "2")
    assert first["created_at"] == "2026-06-01T00:00:00+00:00" and first["closed_at"] == ""
    assert first["close_due_at"].startswith("20") and first["status"] == "open"
    sentiment = db.session.get(FeedbackItem, ids[0]).sentiment_label
    assert sentiment and first["sentiment"] == sentiment


def test_an_answer_export_keeps_to_the_survey_and_days_asked_and_to_answers_people_gave(
        app, client, drain, monkeypatch):
    """Answers given on June 1, 2 and 3 (the last at 23:59:59) to two surveys: from June 2 to June 3 takes
    the last two, one survey only its own; an answer a scanner left (suspected) is in no export; each row
    carries its survey, contact and times as ISO; an export longer than a batch lists every answer once."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from vocloop.items.models import FeedbackItem
    from vocloop.responses import queries
    from vocloop.responses.counting import SUSPECTED
    from vocloop.responses.models import Response

    admin = make_user("admin@example.com", role="admin")
    nps, onboarding = make_survey(name="Quarterly NPS"), make_survey(name="Onboarding")
    for survey, email, score in [(nps, "ann@customer.example", 2), (onboarding, "bob@customer.example", 9),
                                 (nps, "cy@customer.example", 7), (nps, "scanner@customer.example", 10)]:
        answer(client, make_invitation(survey, make_contact(email)), score, "Slow support" if score < 7 else "")
    drain()
    ids = db.session.scalars(select(Response.id).order_by(Response.id)).all()
    # The last first: PostgreSQL then keeps them out of id order, as a table's rows come to be.
    for day, response_id in reversed(list(zip((1, 2, 3, 3), ids, strict=True))):
        when = datetime(2026, 6, day, 23, 59, 59, tzinfo=UTC) if day == 3 else datetime(2026, 6, day, tzinfo=UTC)
        db.session.execute(update(Response).where(Response.id == response_id).values(answered_at=when))
    db.session.execute(update(Response).where(Response.id == ids[3]).values(status=SUSPECTED))
    db.session.commit()
    headers = api_token(admin)

    def emails(query: str = "") -> list[str]:
        return [row["contact_email"] for row in rows_of(client.get(f"/api/v1/responses/export.csv{query}",
                                                                   headers=headers))]

    assert emails() == ["ann@customer.example", "bob@customer.example", "cy@customer.example"]
    assert emails("?from=2026-06-02&to=2026-06-03") == ["bob@customer.example", "cy@customer.example"]
    assert emails("?from=2026-06-01&to=2026-06-01") == ["ann@customer.example"]
    assert emails(f"?survey_id={nps.id}") == ["ann@customer.example", "cy@customer.example"]
    monkeypatch.setattr(queries, "EXPORT_BATCH", 1)
    rows = rows_of(client.get("/api/v1/responses/export.csv", headers=headers))
    assert [int(row["id"]) for row in rows] == ids[:3]
    first = rows[0]
    assert (first["survey"], first["contact_email"], first["score"], first["comment"]) == (
        "Quarterly NPS", "ann@customer.example", "2", "Slow support")
    assert first["answered_at"] == "2026-06-01T00:00:00+00:00"
    ann = db.session.get(Response, ids[0])
    assert ann.completed_at and first["completed_at"] == ann.completed_at.isoformat()
    item_id = db.session.scalar(select(FeedbackItem.id).where(FeedbackItem.response_id == ann.id))
    assert ann.sentiment_label and (first["sentiment"], first["item_id"]) == (ann.sentiment_label, str(item_id))
