"""The leads' dashboard: every figure of the metrics issue, its table, its CSV, and the weekly email."""

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.factories import api_token, login, make_contact, make_survey, make_user
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.service import record_first_action, record_loop_closed
from vocloop.mail.models import Message
from vocloop.metrics import dashboard, queries
from vocloop.metrics import scores as scores_module
from vocloop.metrics.digest import last_week, send_weekly_digests
from vocloop.responses import counting
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

FRIDAY_4PM = datetime(2026, 10, 2, 16, tzinfo=UTC)  # the default calendar: Monday-Friday 9-17 UTC
_serial = iter(range(1, 10_000))


def sentiment_mix(start: datetime, end: datetime, survey_id: int | None = None) -> dict[str, int]:
    """The period's counted answers by sentiment, by a query of their own: what the page's one scan of the
    answers (scores.period_answers) must agree with."""
    one = () if survey_id is None else (Response.survey_id == survey_id,)
    rows = db.session.execute(select(Response.sentiment_label, func.count()).where(
        Response.answered_at >= start, Response.answered_at < end, Response.sentiment_label.is_not(None),
        counting.counts(), *one).group_by(Response.sentiment_label)).all()
    return {"negative": 0, "neutral": 0, "positive": 0, **dict(rows)}


def make_item(owner, survey, created, *, score=2, first_action_after_h=None, closed_after_h=None, reopened=False,
              verdict=None, breached=False, status=None, priority="P2", topics=(), label="negative", team=None,
              account=None):
    n = next(_serial)
    contact = make_contact(f"c{n}@customer.example", account=account)
    invitation = Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=f"{n:064d}", status="delivered",
                            expires_at=created + timedelta(days=30), created_at=created, answered_at=created)
    db.session.add(invitation)
    db.session.flush()
    response = Response(invitation_id=invitation.id, survey_id=survey.id, contact_id=contact.id, score=score,
                        answered_at=created, completed_at=created, sentiment_label=label, topics=list(topics))
    db.session.add(response)
    db.session.flush()
    item = FeedbackItem(response_id=response.id, contact_id=contact.id, survey_id=survey.id, owner_id=owner.id,
                        team_id=team.id if team else None, priority=priority, sentiment_label=label,
                        topics=list(topics), first_action_due_at=created + timedelta(hours=24),
                        close_due_at=created + timedelta(hours=48), created_at=created, status=status or "open",
                        customer_verdict=verdict, reopen_count=1 if reopened else 0,
                        sla_breached_at=created + timedelta(hours=48) if breached else None,
                        first_breached_at=created + timedelta(hours=48) if breached else None)
    db.session.add(item)
    db.session.flush()
    if first_action_after_h is not None:
        record_first_action(item, created + timedelta(hours=first_action_after_h))
    if closed_after_h is not None:
        item.status, item.closed_at, item.close_reason = "closed", created + timedelta(hours=closed_after_h), \
            "closing_message"
        record_loop_closed(item, created + timedelta(hours=closed_after_h))
    db.session.commit()
    return item


def test_times_are_fixed_in_calendar_and_business_hours_when_they_happen(app):
    dana = make_user("dana@example.com", name="Dana")
    survey = make_survey()
    # Friday 16:00 -> first action Monday 10:00 (66 h; 2 working hours) -> closed Monday 12:00.
    item = make_item(dana, survey, FRIDAY_4PM, first_action_after_h=66, closed_after_h=68)
    assert (item.seconds_to_first_action, item.business_seconds_to_first_action) == (66 * 3600, 2 * 3600)
    assert (item.seconds_to_close, item.business_seconds_to_close) == (68 * 3600, 4 * 3600)
    make_item(dana, survey, FRIDAY_4PM + timedelta(hours=1), first_action_after_h=1, closed_after_h=2)
    figures = queries.closure(FRIDAY_4PM, FRIDAY_4PM + timedelta(days=7))
    assert figures["median_time_to_first_action_s"] == 3600 and figures["p90_time_to_first_action_s"] == 66 * 3600
    assert figures["median_business_time_to_close_s"] == 0  # opened 17:00, closed 19:00: after working hours
    assert figures["p90_business_time_to_close_s"] == 4 * 3600


def test_reopen_rate_counts_loop_closed_items_that_came_back(app):
    dana = make_user("dana@example.com", name="Dana")
    survey = make_survey()
    for reopened in (True, False, False, False):
        make_item(dana, survey, FRIDAY_4PM, closed_after_h=5, reopened=reopened)
    make_item(dana, survey, FRIDAY_4PM, reopened=True)  # reopened but not loop-closed: not in either count
    figures = queries.closure(FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    assert (figures["reopened"], figures["loop_closed"], figures["reopen_rate"]) == (1, 4, 0.25)


def test_closure_figures_count_what_happened_to_the_periods_items(app):
    """Of four items opened on Friday: one loop-closed within its SLA and confirmed resolved by its customer,
    one loop-closed late, two still open. One opened at Saturday's first instant is Saturday's; Thursday's
    one item, closed late and never confirmed, shows zeros, not the share of one."""
    dana = make_user("dana@example.com", name="Dana")
    survey = make_survey()
    friday, saturday = datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC)
    make_item(dana, survey, FRIDAY_4PM, closed_after_h=5, verdict="resolved")
    make_item(dana, survey, FRIDAY_4PM, closed_after_h=60)  # the closing message was due in 48 h
    make_item(dana, survey, FRIDAY_4PM)
    make_item(dana, survey, FRIDAY_4PM)
    make_item(dana, survey, saturday, closed_after_h=1, verdict="resolved")
    make_item(dana, survey, friday - timedelta(hours=8), closed_after_h=60)

    def figures(start):
        got = queries.closure(start, start + timedelta(days=1))
        return tuple(got[name] for name in ("opened", "loop_closed", "closure_rate", "closed_within_sla_rate",
                                            "verified_resolved", "verified_closure_rate", "reopened", "reopen_rate"))

    assert figures(friday) == (4, 2, 0.5, 0.25, 1, 0.25, 0, 0.0)
    assert figures(friday - timedelta(days=1)) == (1, 1, 1.0, 0.0, 0, 0.0, 0, 0.0)


def test_backlog_is_aged_and_counts_overdue(app):
    dana = make_user("dana@example.com")
    survey = make_survey()
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for days in (0.5, 2.5, 5, 10, 20, 30):
        make_item(dana, survey, now - timedelta(days=days))
    make_item(dana, survey, now - timedelta(days=3), closed_after_h=1)  # closed: not backlog
    make_item(dana, survey, now - timedelta(days=1))  # exactly a day old: in one bucket, the next one
    backlog = queries.backlog(now)
    assert backlog["open"] == 7 and backlog["overdue"] == 5  # all but the two youngest are past their 48 h
    assert [b["items"] for b in backlog["by_age"]] == [1, 2, 1, 1, 2]
    make_item(make_user("omar@example.com"), survey, now - timedelta(days=2))
    assert queries.backlog(now, queries.item_filter(owner_id=dana.id))["open"] == 7  # a filter narrows it


def test_a_backlog_on_time_says_none_overdue_and_an_empty_age_shows_zero(app):
    """Two items opened this morning, both within their 48 h: the tile says "0 overdue", not 1, and every
    age the table names is there, those no item has at 0 (the page, its CSV and the weekly email read these)."""
    dana = make_user("dana@example.com")
    survey = make_survey()
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for hours in (2, 5):
        make_item(dana, survey, now - timedelta(hours=hours))
    backlog = dashboard.build(dashboard.View(now - timedelta(days=7), now, now)).tables["backlog"]
    assert backlog.title == "Backlog now: 2 open, 0 overdue"
    assert backlog.rows == [{"bucket": "under_1_day", "items": 2}, {"bucket": "1_to_3_days", "items": 0},
                            {"bucket": "3_to_7_days", "items": 0}, {"bucket": "7_to_14_days", "items": 0},
                            {"bucket": "over_14_days", "items": 0}]
    assert queries.backlog(now - timedelta(days=1))["overdue"] == 0  # nothing open yet: none overdue either


def test_distribution_leaderboard_worst_topics_and_missed_deadlines(app):
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    survey = make_survey()
    for hours in (1, 5, 30, 30, 200):
        make_item(dana, survey, FRIDAY_4PM, closed_after_h=hours, topics=["billing"])
    for _ in range(5):
        make_item(omar, survey, FRIDAY_4PM, topics=["bugs"], breached=True)
    make_item(omar, survey, FRIDAY_4PM, closed_after_h=3, topics=["bugs", "billing"])
    period = (FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    assert {b["bucket"]: b["items"] for b in queries.close_time_distribution(*period)} == {
        "under 4 h": 2, "4–24 h": 1, "1–2 days": 2, "2–4 days": 0, "4–7 days": 0, "over 7 days": 1}
    board = dashboard.build(dashboard.View(*period, FRIDAY_4PM + timedelta(days=3))).tables
    assert [row["label"] for row in board["leaderboard-owner"].rows] == ["Dana", "Omar"]
    assert [(row["key"], row["opened"]) for row in board["worst-topics"].rows] == [("bugs", 6), ("billing", 6)]
    assert len(board["breached"].rows) == 5 and {row["owner"] for row in board["breached"].rows} == {"Omar"}


def test_the_time_to_close_chart_counts_the_loops_the_closure_figures_count(app):
    """Same period, same filter: the chart's bars add up to the loops closed the headline shows (not the
    period before's, not another owner's), and a loop closed in exactly four hours is not "under 4 h"."""
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    survey = make_survey()
    make_item(dana, survey, FRIDAY_4PM, closed_after_h=4)
    make_item(dana, survey, FRIDAY_4PM, closed_after_h=2)
    make_item(omar, survey, FRIDAY_4PM, closed_after_h=30)
    make_item(dana, survey, FRIDAY_4PM - timedelta(days=2), closed_after_h=1)  # opened the period before
    period = (FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    danas = queries.item_filter(owner_id=dana.id)
    for scope in (None, danas):
        bars = queries.close_time_distribution(*period, scope)
        assert sum(bar["items"] for bar in bars) == queries.closure(*period, scope=scope)["loop_closed"]
    assert {bar["bucket"]: bar["items"] for bar in queries.close_time_distribution(*period, danas)} == {
        "under 4 h": 1, "4–24 h": 1, "1–2 days": 0, "2–4 days": 0, "4–7 days": 0, "over 7 days": 0}


def test_the_page_lists_the_50_latest_missed_deadlines_says_how_many_missed_and_the_csv_has_them_all(app, client):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana")
    survey = make_survey()
    now = datetime.now(UTC)
    missed = [make_item(dana, survey, now - timedelta(days=3, minutes=n), breached=True,
                        closed_after_h=60 if n == 0 else None).id for n in range(51)]  # the latest closed late
    make_item(dana, survey, now - timedelta(days=3))  # on time: in no list
    login(client, "admin@example.com")
    page = client.get("/metrics/").get_data(as_text=True)
    assert "Showing the 50 most recent of 51 items that missed their deadline; the CSV below has every one." in page
    backlog = queries.backlog(datetime.now(UTC))  # the page leads with what is open and overdue now
    assert backlog["overdue"] > 0 and (f'<strong>Now: {backlog["open"]} open, <span class="worse">'
                                       f'{backlog["overdue"]} overdue</span></strong> · <a href="/inbox/?tab=overdue">'
                                       'See the overdue items in the inbox</a>') in page
    listed = page[page.index('data-table="breached"'):]
    listed = listed[:listed.index("</table>")]
    assert listed.count('href="/inbox/') == 50 and f"#{missed[-1]}<" not in listed  # the oldest one is left out
    assert listed.count("<td>loop closed</td>") == 1 and listed.count("<td>open</td>") == 49
    rows = list(csv.DictReader(io.StringIO(client.get("/metrics/breached.csv").get_data(as_text=True))))
    assert sorted(int(row["id"]) for row in rows) == sorted(missed)
    assert {(row["priority"], row["owner"]) for row in rows} == {("P2", "Dana")}
    assert [(row["status"], bool(row["loop_closed_at"])) for row in rows if int(row["id"]) == missed[0]] == [
        ("closed", True)]
    assert all(row["close_due_at"] and row["breached_at"] for row in rows)


def test_worst_topics_are_five_at_most_of_five_items_or_more_the_bigger_first_when_as_bad(app):
    """The table's title promises topics of 5 items or more; the five worst, and of two topics as badly
    closed, the one that raised more items first."""
    dana = make_user("dana@example.com", name="Dana")
    survey = make_survey()
    sizes = {"a_big": 7, "b": 5, "c": 5, "d": 5, "e": 5, "f": 5, "tiny": 4}  # none of their loops closed
    for topic, size in sizes.items():
        for _ in range(size):
            make_item(dana, survey, FRIDAY_4PM, topics=[topic])
    for _ in range(5):
        make_item(dana, survey, FRIDAY_4PM, topics=["well_closed"], closed_after_h=2)
    worst = queries.worst_topics(FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    assert [(row["key"], row["opened"], row["closure_rate"]) for row in worst] == [
        ("a_big", 7, 0.0), ("b", 5, 0.0), ("c", 5, 0.0), ("d", 5, 0.0), ("e", 5, 0.0)]


def test_the_owners_table_ranks_by_closure_rate_then_items_then_name_and_none_closed_is_last(app):
    survey = make_survey()
    closed_of = {"Zed": (4, 2), "Ann": (2, 0), "Bob": (2, 1), "Cy": (4, 2), "Dee": (1, 1)}  # items, loops closed
    for name, (items, closed) in closed_of.items():
        owner = make_user(f"{name.lower()}@example.com", name=name)
        for index in range(items):
            make_item(owner, survey, FRIDAY_4PM, closed_after_h=2 if index < closed else None)
    period = (FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    board = dashboard.build(dashboard.View(*period, FRIDAY_4PM + timedelta(days=3))).tables
    assert [row["label"] for row in board["leaderboard-owner"].rows] == ["Dee", "Cy", "Zed", "Bob", "Ann"]


def test_survey_scores_and_response_rates(app):
    dana = make_user("dana@example.com")
    nps, csat, ces = make_survey("nps", name="Relationship"), make_survey("csat", name="Support"), \
        make_survey("ces", name="Effort")
    for score in (10, 9, 9, 8, 3):  # 3 promoters, 1 detractor of 5: NPS 40
        make_item(dana, nps, FRIDAY_4PM, score=score)
    for score in (5, 4, 2, 1):  # 2 of 4 satisfied: CSAT 50
        make_item(dana, csat, FRIDAY_4PM, score=score)
    for score in (7, 4):
        make_item(dana, ces, FRIDAY_4PM, score=score)
    db.session.add(Invitation(survey_id=nps.id, contact_id=make_contact("silent@customer.example").id,
                              token_hash="f" * 64, status="delivered", expires_at=FRIDAY_4PM + timedelta(days=30),
                              created_at=FRIDAY_4PM))
    db.session.commit()
    scores = {row["survey"]: row for row in queries.survey_scores(FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))}
    assert (scores["Relationship"]["score_name"], scores["Relationship"]["score"]) == ("NPS", 40.0)
    assert scores["Relationship"]["response_rate"] == round(5 / 6, 3)
    assert (scores["Support"]["score_name"], scores["Support"]["score"]) == ("CSAT", 50.0)
    assert (scores["Effort"]["score_name"], scores["Effort"]["score"]) == ("CES", 5.5)
    assert sentiment_mix(FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1)) == {
        "negative": 11, "neutral": 0, "positive": 0}


def test_scores_trend_and_sentiment_from_one_scan_of_the_answers_say_what_their_own_queries_say(app):
    """The page reads a period's answers once for its scores, their trend and the sentiment mix: a
    survey's score is over its answers, not an average of its weeks' scores; a week that began before
    the period counts only the period's answers; an answer not counted, or one without a sentiment,
    is in none of them."""
    dana = make_user("dana@example.com")
    nps, ces = make_survey("nps", name="Relationship"), make_survey("ces", name="Effort")
    start, end = datetime(2026, 9, 30, tzinfo=UTC), datetime(2026, 10, 14, tzinfo=UTC)  # a Wednesday, two weeks
    for label in ("negative", "positive", None):  # the week of Monday 28 September, from the Wednesday
        make_item(dana, ces, datetime(2026, 9, 30, 10, tzinfo=UTC), score=7, label=label)
    make_item(dana, ces, datetime(2026, 10, 6, 10, tzinfo=UTC), score=1, label="neutral")
    make_item(dana, ces, datetime(2026, 9, 29, 10, tzinfo=UTC), score=1)  # the Tuesday before: the period before
    make_item(dana, ces, datetime(2026, 10, 7, 10, tzinfo=UTC), score=1).response.status = "pending"
    make_item(dana, nps, datetime(2026, 10, 1, 10, tzinfo=UTC), score=10, label="positive")
    make_item(dana, nps, datetime(2026, 10, 12, 10, tzinfo=UTC), score=3, label="negative")
    db.session.commit()

    tables = dashboard.build(dashboard.View(start, end, end)).tables
    scores = {row["survey"]: row for row in tables["scores"].rows}
    assert (scores["Effort"]["score"], scores["Effort"]["responses"], scores["Effort"]["previous_score"]) == \
        (5.5, 4, 1.0)  # (7 + 7 + 7 + 1) / 4; the weeks' scores 7 and 1 would average 4.0
    assert (scores["Relationship"]["score"], scores["Relationship"]["positive"],
            scores["Relationship"]["negative"]) == (0.0, 1, 1)
    assert [(row["survey"], row["key"], row["score"], row["responses"]) for row in tables["score-trend"].rows] == [
        ("Effort", "2026-09-28", 7.0, 3), ("Effort", "2026-10-05", 1.0, 1),
        ("Relationship", "2026-09-28", 100.0, 1), ("Relationship", "2026-10-12", -100.0, 1)]
    assert {row["sentiment"]: row["responses"] for row in tables["sentiment"].rows} == {
        "negative": 2, "neutral": 1, "positive": 2}
    # the same figures as each one's own query (the API's and the weekly email's)
    assert tables["scores"].rows == [{**row, "previous_score": scores[row["survey"]]["previous_score"],
                                      "change": scores[row["survey"]]["change"]}
                                     for row in queries.survey_scores(start, end)]
    assert tables["score-trend"].rows == scores_module.score_trend(start, end)
    assert dict((row["sentiment"], row["responses"]) for row in tables["sentiment"].rows) == \
        sentiment_mix(start, end)

    effort_only = dashboard.build(dashboard.View(start, end, end, survey_id=ces.id)).tables
    assert [row["survey"] for row in effort_only["scores"].rows] == ["Effort"]
    assert {row["sentiment"]: row["responses"] for row in effort_only["sentiment"].rows} == {
        "negative": 1, "neutral": 1, "positive": 1}


def test_each_survey_keeps_its_own_score_to_its_own_precision(app):
    """This quarter's and last quarter's "Quarterly NPS" are two surveys with one name: each keeps its
    score, and the dashboard's survey filter shows only the chosen one. The surveys read by name; CSAT is
    a percentage to one decimal, CES a mean to two, as the page and the CSV print them."""
    dana = make_user("dana@example.com")
    support, effort = make_survey("csat", name="Support"), make_survey("ces", name="Effort")
    last_quarter, this_quarter = make_survey("nps", name="Quarterly NPS"), make_survey("nps", name="Quarterly NPS")
    for survey, scores in ((support, (5, 4, 1)), (effort, (2, 2, 1)), (last_quarter, (0,)), (this_quarter, (10, 9))):
        for score in scores:
            make_item(dana, survey, FRIDAY_4PM, score=score)
    day = (FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    rows = queries.survey_scores(*day)
    assert [row["survey"] for row in rows] == ["Effort", "Quarterly NPS", "Quarterly NPS", "Support"]
    assert {row["survey_id"]: (row["score"], row["responses"]) for row in rows} == {
        effort.id: (1.67, 3), last_quarter.id: (-100.0, 1), this_quarter.id: (100.0, 2), support.id: (66.7, 3)}
    assert [(row["survey_id"], row["score"]) for row in queries.survey_scores(*day, this_quarter.id)] == [
        (this_quarter.id, 100.0)]


def test_the_response_rate_is_over_the_periods_invitations_that_reached_the_customer(app, client):
    """Response rate = invitations answered / invitations that reached the customer, over the invitations
    created in the period [start, end); the score over the answers given in it. An answer or an invitation
    at the next period's first instant belongs to that period; a bounced or queued invitation reached
    nobody; a 6 is a detractor. A survey answered today from last week's invitations has no response rate
    this period (none sent), not 0 %, and the dashboard still shows its score."""
    dana = make_user("dana@example.com")
    nps = make_survey("nps", name="Relationship")
    day = (FRIDAY_4PM, FRIDAY_4PM + timedelta(days=1))
    for score in (10, 6):  # a promoter and a detractor: NPS 0
        make_item(dana, nps, FRIDAY_4PM, score=score)
    make_item(dana, nps, day[1], score=10)  # the next period's
    make_item(dana, nps, day[0] - timedelta(days=1), score=0)  # the period before's

    def invite(survey, who: str, status: str, created):
        db.session.add(Invitation(survey_id=survey.id, contact_id=make_contact(f"{who}@customer.example").id,
                                  token_hash=who.ljust(64, "0"), status=status, created_at=created,
                                  expires_at=created + timedelta(days=30)))
        db.session.commit()

    invite(nps, "silent", "delivered", FRIDAY_4PM)  # reached, not answered
    invite(nps, "bounced", "bounced", FRIDAY_4PM)
    invite(nps, "queued", "queued", FRIDAY_4PM)
    support, effort = make_survey("csat", name="Support"), make_survey("ces", name="Effort")
    for survey, score in ((support, 1), (support, 5), (effort, 2)):
        make_item(dana, survey, FRIDAY_4PM, score=score).response.invitation.created_at = FRIDAY_4PM - timedelta(days=7)
    db.session.commit()
    invite(support, "waiting", "queued", FRIDAY_4PM)  # Support's only invitation of the period: not sent yet

    rows = {row["survey"]: row for row in queries.survey_scores(*day)}
    relationship = rows["Relationship"]
    assert (relationship["responses"], relationship["score"], relationship["positive"], relationship["negative"]) \
        == (2, 0.0, 1, 1)
    assert (relationship["invitations_delivered"], relationship["invitations_answered"],
            relationship["response_rate"]) == (3, 2, 0.667)
    assert [(rows[name]["score"], rows[name]["positive"], rows[name]["negative"], rows[name]["invitations_delivered"],
             rows[name]["invitations_answered"], rows[name]["response_rate"]) for name in ("Support", "Effort")] == [
        (50.0, 1, 1, 0, 0, None), (2.0, 0, 1, 0, 0, None)]
    make_user("admin@example.com", role="admin")  # the page: CSAT is a share of answers, said with its sign
    login(client, "admin@example.com")
    page = client.get(f"/metrics/?from={FRIDAY_4PM.date()}&to={FRIDAY_4PM.date()}").get_data(as_text=True)
    assert "<td>CSAT 50.0%</td>" in page and "<td>CES 2.0</td>" in page and "<td>NPS 0.0</td>" in page
    assert "CSAT 50% · 2 answers" in page  # the weekly chart's label


def test_headline_tiles_compare_with_the_previous_period(app):
    dana = make_user("dana@example.com")
    survey = make_survey()
    week = timedelta(days=7)
    make_item(dana, survey, FRIDAY_4PM - timedelta(days=3), closed_after_h=10)  # the week before
    make_item(dana, survey, FRIDAY_4PM - timedelta(days=2))
    for _ in range(3):
        make_item(dana, survey, FRIDAY_4PM + timedelta(days=1), closed_after_h=4)
    tiles = {tile["key"]: tile for tile in dashboard.headline(FRIDAY_4PM, FRIDAY_4PM + week)}
    assert (tiles["opened"]["value"], tiles["opened"]["previous"], tiles["opened"]["change"]) == (3, 2, 1)
    assert tiles["closure_rate"]["change"] == 0.5  # 100% against 50%
    assert tiles["median_time_to_close_s"]["change"] == -6 * 3600


def test_a_change_in_time_is_the_change_between_the_figures_the_page_shows(app):
    """1.05 h shows as 1.1 h and 1.025 h as 1.0 h: the tile says 0.1 h up (worse), never "0.0 h up"; two
    times that both show as 1.0 h are unchanged, whatever seconds lie between them."""
    figures = dict.fromkeys(key for key, *_ in dashboard.HEADLINE)

    def first_action_tile(now_s, before_s):
        [tile] = [tile for tile in dashboard.headline(FRIDAY_4PM, FRIDAY_4PM + timedelta(days=7), now={
            **figures, "median_time_to_first_action_s": now_s}, before={
            **figures, "median_time_to_first_action_s": before_s}) if tile["key"] == "median_time_to_first_action_s"]
        return tile

    moved = first_action_tile(3780, 3690)
    assert (round(moved["change"] / 3600, 3), moved["direction"], moved["verdict"]) == (0.1, "up", "worse")
    still = first_action_tile(3700, 3610)
    assert (still["change"], still["direction"], still["verdict"]) == (0, "same", None)


def test_groupings_by_priority_account_and_calendar_periods(app, client):
    admin = make_user("admin@example.com", role="admin")
    survey = make_survey()
    make_item(admin, survey, FRIDAY_4PM, priority="P1", account="Globex", closed_after_h=2)
    make_item(admin, survey, FRIDAY_4PM + timedelta(days=3), priority="P3", account="Initech")
    make_item(admin, survey, FRIDAY_4PM + timedelta(days=35), priority="P3")
    period = (FRIDAY_4PM - timedelta(days=2), FRIDAY_4PM + timedelta(days=60))
    assert {g["key"]: g["opened"] for g in queries.closure(*period, "priority")["groups"]} == {"P1": 1, "P3": 2}
    assert {g["label"]: g["opened"] for g in queries.closure(*period, "account")["groups"]} == {
        "Globex": 1, "Initech": 1, None: 1}
    assert {g["key"]: g["opened"] for g in queries.closure(*period, "month")["groups"]} == {
        "2026-10-01": 2, "2026-11-01": 1}
    assert [g["key"] for g in queries.closure(*period, "day")["groups"]] == ["2026-10-02", "2026-10-05",
                                                                             "2026-11-06"]
    headers = api_token(admin)
    by_priority = client.get("/api/v1/metrics/closure?from=2026-09-30&to=2026-12-01&group_by=priority",
                             headers=headers)
    assert by_priority.status_code == 200 and by_priority.json["opened"] == 3
    assert {g["key"]: g["loop_closed"] for g in by_priority.json["groups"]} == {"P1": 1, "P3": 0}
    too_long = client.get("/api/v1/metrics/closure?from=2020-01-01&to=2026-01-01", headers=headers)
    assert too_long.status_code == 422
    login(client, "admin@example.com")  # the page names the group of items with no account in words
    page = client.get("/metrics/?from=2026-09-30&to=2026-12-01&group_by=account").get_data(as_text=True)
    assert '<tr><td class="group">No account</td><td data-label="Opened">1</td>' in page and "(none)" not in page


def test_the_dashboard_shows_every_table_with_its_csv_to_leads_for_their_teams(app, client):
    lead = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    omar = make_user("omar@example.com", name="Omar", team="Billing")
    survey = make_survey()
    now = datetime.now(UTC)
    make_item(dana, survey, now - timedelta(days=3), closed_after_h=5, team=lead.teams[0], topics=["billing"])
    make_item(omar, survey, now - timedelta(days=3), team=omar.teams[0], topics=["bugs"], breached=True)
    login(client, "lee@example.com")
    page = client.get("/metrics/?interval=day")
    html = page.get_data(as_text=True)
    # trend, time to close, scores by day: each drawn for a screen and for a phone
    assert page.status_code == 200 and html.count('class="chart wide"') == 3 and html.count('class="chart phone"') == 3
    # on a phone each owner, team and topic of the closure tables is a card with its figures named
    for name in ("leaderboard-owner", "leaderboard-team", "worst-topics"):
        assert f'<table class="list stack" data-table="{name}">' in html, name
    assert html.count('<td data-label="Closure rate">') >= 3
    for heading in ("Loop-closure rate", "Time to close", "Backlog now", "Leaderboard", "Topics with the lowest",
                    "Items that missed their deadline", "Survey scores", "Sentiment of the answers",
                    "Does closing the loop pay?"):
        assert heading in html, heading
    assert "Dana" in html and "Omar" not in html  # a lead sees their teams' items only
    assert "Your teams' items only" in html
    for name in ("closure", "trend", "distribution", "leaderboard-owner", "leaderboard-team", "worst-topics",
                 "breached", "backlog", "scores", "sentiment", "loop-effect", "next-survey", "revenue-accounts",
                 "revenue-by-team", "revenue-by-topic", "revenue-by-owner"):
        response = client.get(f"/metrics/{name}.csv?interval=day")
        assert response.status_code == 200 and response.mimetype == "text/csv", name
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows[0], name  # a header row at least
    owners = list(csv.DictReader(io.StringIO(client.get("/metrics/leaderboard-owner.csv").get_data(as_text=True))))
    assert [(row["label"], row["opened"], row["closure_rate"]) for row in owners] == [("Dana", "1", "1.0")]
    assert client.get("/metrics/nothing.csv").status_code == 404
    assert client.get("/metrics/?interval=year").status_code == 400
    assert client.get("/metrics/?from=2020-01-01&to=2026-01-01").status_code == 400


def test_the_weekly_email_goes_once_a_week_to_each_lead_and_admin_with_their_figures(app):
    lead = make_user("lee@example.com", role="lead", name="Lee", team="Support")
    make_user("admin@example.com", role="admin", name="Ada")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    omar = make_user("omar@example.com", name="Omar", team="Billing")
    survey = make_survey()
    monday = datetime(2026, 11, 23, 7, tzinfo=UTC)
    assert last_week(monday) == (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    make_item(dana, survey, datetime(2026, 11, 17, 10, tzinfo=UTC), closed_after_h=3, team=lead.teams[0])
    make_item(omar, survey, datetime(2026, 11, 18, 10, tzinfo=UTC), team=omar.teams[0])
    assert send_weekly_digests(monday) == 2
    assert send_weekly_digests(monday + timedelta(hours=1)) == 0  # once a week
    emails = {m.to_email: m for m in db.session.scalars(select(Message).where(Message.kind == "notification"))}
    assert set(emails) == {"lee@example.com", "admin@example.com"}
    assert "Items opened: 1 " in emails["lee@example.com"].text and "for your teams" in emails["lee@example.com"].text
    assert "Items opened: 2 " in emails["admin@example.com"].text
    assert "/metrics/?from=2026-11-16&amp;to=2026-11-22" in emails["admin@example.com"].html
    assert send_weekly_digests(monday + timedelta(days=7)) == 2  # the next week


def test_filters_narrow_every_item_figure_on_the_page_and_in_the_api(app, client):
    admin = make_user("admin@example.com", role="admin")
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    relationship, support = make_survey(name="Relationship"), make_survey("csat", name="Support")
    now = datetime.now(UTC)
    make_item(dana, relationship, now - timedelta(days=2), priority="P1", topics=["billing_100%"], closed_after_h=2,
              account="Globex")
    make_item(dana, support, now - timedelta(days=2), priority="P1", topics=["billing"], label="neutral")
    make_item(omar, relationship, now - timedelta(days=2), priority="P3", topics=["bugs"])
    period = (now - timedelta(days=7), now + timedelta(seconds=1))
    assert queries.closure(*period, scope=queries.item_filter(priority="P1"))["opened"] == 2
    assert queries.closure(*period, scope=queries.item_filter(owner_id=dana.id, survey_id=support.id))["opened"] == 1
    assert queries.closure(*period, scope=queries.item_filter(sentiment="neutral"))["opened"] == 1
    assert queries.closure(*period, scope=queries.item_filter(topic="billing"))["opened"] == 1  # not billing_100%
    assert queries.closure(*period, scope=queries.item_filter(topic="billing_100%"))["loop_closed"] == 1
    from vocloop.contacts.models import Account
    globex = db.session.scalar(select(Account.id).where(Account.name == "Globex"))
    assert queries.closure(*period, scope=queries.item_filter(account_id=globex))["opened"] == 1

    login(client, "admin@example.com")
    page = client.get(f"/metrics/?priority=P1&survey_id={relationship.id}").get_data(as_text=True)
    assert "Filtered: survey Relationship, priority P1." in page and "Omar" not in page
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/metrics/closure.csv?survey_id={relationship.id}").get_data(as_text=True))))
    assert {row["label"]: row["opened"] for row in rows} == {"Dana": "1", "Omar": "1"}
    assert client.get("/metrics/?priority=P9").status_code == 400
    assert client.get("/metrics/?team_id=abc").status_code == 400
    api = client.get(f"/api/v1/metrics/closure?owner_id={omar.id}&group_by=survey", headers=api_token(admin)).json
    assert api["opened"] == 1 and [g["label"] for g in api["groups"]] == ["Relationship"]
    assert client.get("/api/v1/metrics/closure?priority=P7", headers=api_token(admin)).status_code == 422
