"""Themes that find themselves: a lead runs discovery over the comments, and accepts, renames, merges or
dismisses what it proposes; a dismissed theme is not proposed again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import answer, api_token, csrf_from, login, make_contact, make_invitation, make_survey, make_user
from vocloop.classify.models import Topic
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation
from vocloop.themes import service as themes
from vocloop.themes.models import ProposedTheme, ThemeRun

COMMENTS = [
    "The parcel arrived late.", "My parcel arrived two days late.", "The parcel courier was late again.",
    "Parcel tracking said delivered but the parcel came late.", "The parcel arrived late!",  # a near-duplicate
    "The dashboard charts are slow to load.", "Dashboard charts freeze when I filter.",
    "The dashboard export of charts is broken.", "Dashboard charts take a minute.",
    "The invoice total was wrong.", "Invoice PDF shows the wrong total.", "Wrong invoice total again.",
    "Invoice total does not match the quote.",
    "Password reset email never came.", "The password reset link expired.", "Password reset fails on mobile.",
    "Cannot reset my password.",
]


def _theme_with(phrase: str, run_id: int | None = None) -> ProposedTheme | None:
    query = select(ProposedTheme).order_by(ProposedTheme.id.desc())
    if run_id:
        query = query.where(ProposedTheme.run_id == run_id)
    return next((t for t in db.session.scalars(query) if any(phrase in p for p in t.key_phrases)), None)


def test_a_lead_finds_themes_and_accepts_merges_renames_and_dismisses_them(app, client, drain):
    lead = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    make_user("olga@example.com", name="Olga")
    survey = make_survey(quarantine_days=0)
    for index, comment in enumerate(COMMENTS):
        answer(client, make_invitation(survey, make_contact(f"c{index}@customer.example")), 5, comment)
    drain()

    login(client, "olga@example.com")
    assert client.get("/themes/").status_code == 403  # owners do not curate the taxonomy
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/inbox/").text)})
    login(client, "lee@example.com")
    page = client.get("/themes/")
    assert client.post("/themes/runs", data={"csrf_token": csrf_from(page.text)}).status_code == 303  # all comments
    drain()
    page = client.get("/themes/").text
    assert "17 comments" in page
    parcel, dashboard = _theme_with("parcel"), _theme_with("dashboard")
    invoice, password = _theme_with("invoice"), _theme_with("password")
    assert len({parcel.id, dashboard.id, invoice.id, password.id}) == 4  # four subjects, four themes
    assert parcel.comments == 5 and len(parcel.example_ids) == 4  # the near-duplicate counts once among examples
    assert sum(parcel.sentiment.values()) == 5 and sum(row["comments"] for row in parcel.trend) == 5
    assert "Parcel tracking said delivered but the parcel came late." in page

    token = csrf_from(page)
    accepted = client.post(f"/themes/{parcel.id}/accept", data={"csrf_token": token, "name": "late parcels"})
    assert accepted.status_code == 303
    topic = db.session.scalar(select(Topic).where(Topic.name == "late parcels"))
    assert topic is not None and "parcel" in topic.keywords
    again = client.post(f"/themes/{parcel.id}/accept", data={"csrf_token": token, "name": "late parcels"})
    assert "was accepted already" in client.get(again.headers["Location"]).text
    assert client.post(f"/themes/{invoice.id}/dismiss", data={"csrf_token": token}).status_code == 303

    headers = api_token(lead)
    merged = client.post(f"/api/v1/themes/{dashboard.id}/merge", json={"into_id": password.id}, headers=headers)
    assert merged.status_code == 200 and merged.json["comments"] == 8
    assert set(dashboard.key_phrases) <= set(merged.json["key_phrases"])
    renamed = client.patch(f"/api/v1/themes/{password.id}", json={"name": "sign-in and dashboards"},
                           headers=headers)
    assert renamed.json["name"] == "sign-in and dashboards"
    assert client.patch(f"/api/v1/themes/{password.id}", json={"name": ""}, headers=headers).status_code == 422

    rerun = client.post("/api/v1/themes/runs", json={"only_untagged": False}, headers=headers)
    assert rerun.status_code == 202
    drain()
    latest = client.get("/api/v1/themes", headers=headers).json
    assert latest["status"] == "done" and latest["id"] != parcel.run_id
    leading = {theme["key_phrases"][0] for theme in latest["themes"]}
    assert invoice.key_phrases[0] not in leading  # dismissed: not proposed again
    assert client.get("/api/v1/themes", headers=api_token(db.session.scalar(
        select(type(lead)).where(type(lead).email == "olga@example.com")))).status_code == 403


def test_a_run_reads_the_newest_comments_up_to_the_setting_and_those_without_a_topic_count_towards_it(app, client):
    """THEMES_MAX_COMMENTS caps a run at the period's newest comments; "only comments without a topic" fills
    the cap with comments that have none (not the newest of all, of which the tagged are then dropped)."""
    app.config["THEMES_MAX_COMMENTS"] = 100
    lead = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    survey, contact = make_survey(quarantine_days=0), make_contact("c@customer.example")
    comments = ([(f"Password reset email {i} never came.", []) for i in range(40)]  # the oldest
                + [(f"The parcel {i} arrived late.", []) for i in range(80)]
                + [(f"Invoice {i} total was wrong.", ["billing"]) for i in range(30)])  # the newest, with a topic
    start = utcnow() - timedelta(days=20)
    invitations = [Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=f"{i:064x}",
                              expires_at=start + timedelta(days=30)) for i in range(len(comments))]
    db.session.add_all(invitations)
    db.session.flush()
    db.session.add_all(Response(invitation_id=invitation.id, survey_id=survey.id, contact_id=contact.id, score=5,
                                comment=comment, topics=topics, answered_at=start + timedelta(hours=i),
                                completed_at=start + timedelta(hours=i), status="counted")
                       for i, (invitation, (comment, topics)) in enumerate(zip(invitations, comments, strict=True)))
    db.session.commit()

    def discovered(only_untagged: bool) -> tuple[ThemeRun, set[str]]:
        run = ThemeRun(only_untagged=only_untagged, created_by_id=lead.id)
        db.session.add(run)
        db.session.commit()
        run = themes.run_discovery(run.id)
        return run, {phrase for theme in run.themes for phrase in theme.key_phrases}

    run, phrases = discovered(only_untagged=True)
    assert run.comments == 100  # the 80 parcels and the 20 newest password resets: none of the invoices
    assert "password" in phrases and "parcel" in phrases and "invoice" not in phrases
    login(client, "lee@example.com")
    assert "the newest 100 comments without a topic" in client.get("/themes/").text

    run, phrases = discovered(only_untagged=False)
    assert run.comments == 100  # the 30 invoices and the 70 newest parcels
    assert "invoice" in phrases and "parcel" in phrases and "password" not in phrases
