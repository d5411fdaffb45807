"""Closure metrics: the cohort definition, SLA, and grouping, computed in SQL."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.factories import api_token, make_contact, make_survey, make_user
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.service import record_loop_closed
from vocloop.metrics.queries import closure
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def item(owner, survey, created, loop_closed_after_h=None, close_due_h=48, label="negative", closed_reason=None,
         topics=()):
    contact = make_contact(f"c{created.timestamp()}-{owner.id}@customer.example")
    invitation = Invitation(survey_id=survey.id, contact_id=contact.id, token_hash=str(created.timestamp()) * 2,
                            expires_at=created + timedelta(days=30))
    db.session.add(invitation)
    db.session.flush()
    response = Response(invitation_id=invitation.id, survey_id=survey.id, contact_id=contact.id, score=2,
                        answered_at=created, completed_at=created, sentiment_label=label, topics=list(topics))
    db.session.add(response)
    db.session.flush()
    closed = created + timedelta(hours=loop_closed_after_h) if loop_closed_after_h is not None else None
    db.session.add(new := FeedbackItem(
        response_id=response.id, contact_id=contact.id, survey_id=survey.id, owner_id=owner.id, priority="P2",
        sentiment_label=label, topics=list(topics),
        first_action_due_at=created + timedelta(hours=24), close_due_at=created + timedelta(hours=close_due_h),
        created_at=created, status="closed" if closed or closed_reason else "open",
        closed_at=closed or (created + timedelta(hours=1) if closed_reason else None),
        close_reason="closing_message" if closed else closed_reason))
    if closed:
        record_loop_closed(new, closed)
    db.session.commit()
    return new


def test_closure_rate_is_a_cohort_by_creation_and_only_counts_sent_messages(app):
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    survey = make_survey()
    item(dana, survey, T0 + timedelta(days=1), loop_closed_after_h=10)        # in SLA
    item(dana, survey, T0 + timedelta(days=2), loop_closed_after_h=100)       # closed late
    item(dana, survey, T0 + timedelta(days=3), closed_reason="spam")          # not loop-closed
    item(omar, survey, T0 + timedelta(days=4), label="neutral")               # still open
    item(omar, survey, T0 - timedelta(days=1), loop_closed_after_h=5)         # outside the period
    figures = closure(T0, T0 + timedelta(days=30), "owner")
    assert (figures["opened"], figures["loop_closed"]) == (4, 2)
    assert figures["closure_rate"] == 0.5 and figures["closed_within_sla_rate"] == 0.25
    by_owner = {group["label"]: group for group in figures["groups"]}
    assert by_owner["Dana"]["opened"] == 3 and by_owner["Dana"]["closure_rate"] == 0.667
    assert by_owner["Omar"]["opened"] == 1 and by_owner["Omar"]["closure_rate"] == 0.0
    by_sentiment = {g["key"]: g["opened"] for g in closure(T0, T0 + timedelta(days=30), "sentiment")["groups"]}
    assert by_sentiment == {"negative": 3, "neutral": 1}


def test_an_empty_period_has_no_rate_rather_than_zero(app):
    figures = closure(T0, T0 + timedelta(days=1))
    assert figures["opened"] == 0 and figures["closure_rate"] is None


def test_the_api_takes_dates_and_checks_them(app, client):
    lead = make_user("lead@example.com", role="lead")
    item(lead, make_survey(), utcnow() - timedelta(days=2), loop_closed_after_h=1)
    headers = api_token(lead)
    today = utcnow().date()
    ok = client.get(f"/api/v1/metrics/closure?from={today - timedelta(days=7)}&to={today}&group_by=survey",
                    headers=headers)
    assert ok.status_code == 200 and ok.json["opened"] == 1 and ok.json["groups"][0]["label"] == "NPS survey"
    assert client.get("/api/v1/metrics/closure?from=yesterday", headers=headers).status_code == 422
    assert client.get("/api/v1/metrics/closure?group_by=planet", headers=headers).status_code == 422
    backwards = client.get(f"/api/v1/metrics/closure?from={today}&to={today - timedelta(days=3)}", headers=headers)
    assert backwards.status_code == 422
    owner_headers = api_token(make_user("owner@example.com"))
    assert client.get("/api/v1/metrics/closure", headers=owner_headers).status_code == 403


def test_the_metrics_page_shows_the_figures_to_leads_only(app, client):
    from tests.factories import login
    lead = make_user("lead@example.com", role="lead", name="Lee")
    item(lead, make_survey(), utcnow() - timedelta(days=2), loop_closed_after_h=1)
    make_user("owner@example.com")
    login(client, "owner@example.com")
    assert client.get("/metrics/").status_code == 403
    login(client, "lead@example.com")
    html = client.get("/metrics/").get_data(as_text=True)
    assert "100.0%" in html and "Lee" in html


def test_a_rate_is_rounded_once_so_the_page_and_the_api_say_the_same(app, client):
    """1 of 26 loops closed is 3.846 %: the page says 3.8% and the API 0.038. Rounded to four decimals
    first (0.0385) and to a tenth of a percent on the page, it read 3.9%, and disagreed with the survey
    page's rounding of the same kind of share."""
    from tests.factories import login
    lead = make_user("lead@example.com", role="lead", name="Lee")
    survey = make_survey()
    for n in range(26):
        item(lead, survey, utcnow() - timedelta(days=2, minutes=n), loop_closed_after_h=1 if n == 0 else None)
    today = utcnow().date()
    api = client.get(f"/api/v1/metrics/closure?from={today - timedelta(days=7)}&to={today}", headers=api_token(lead))
    assert (api.json["opened"], api.json["loop_closed"], api.json["closure_rate"]) == (26, 1, 0.038)
    login(client, "lead@example.com")
    html = client.get("/metrics/").get_data(as_text=True)
    assert "3.8%" in html and "3.9%" not in html


def test_leads_see_their_teams_figures_and_admins_everyones(app, client):
    lee = make_user("lee@example.com", role="lead", team="Support")
    dana = make_user("dana@example.com", team="Support")
    omar = make_user("omar@example.com", team="Billing")
    admin = make_user("admin@example.com", role="admin")
    survey = make_survey()
    when = utcnow() - timedelta(days=2)
    item(dana, survey, when, loop_closed_after_h=1)
    item(omar, survey, when + timedelta(minutes=1))
    assert client.get("/api/v1/metrics/closure", headers=api_token(lee)).json["opened"] == 1
    assert client.get("/api/v1/metrics/closure", headers=api_token(admin)).json["opened"] == 2
    assert lee.id != omar.id


def test_times_to_close_are_nearest_rank_percentiles_and_weeks_and_topics_group(app, client):
    dana, omar = make_user("dana@example.com", name="Dana"), make_user("omar@example.com", name="Omar")
    survey = make_survey()
    monday = datetime(2026, 10, 5, 9, tzinfo=UTC)  # a Monday
    item(dana, survey, monday, loop_closed_after_h=10, topics=["billing"])
    item(dana, survey, monday + timedelta(days=2), loop_closed_after_h=20, topics=["billing", "support"])
    item(omar, survey, monday + timedelta(days=8), loop_closed_after_h=100, topics=["support"])
    item(omar, survey, monday + timedelta(days=9), topics=["bugs"])  # still open: no time to close
    period = (monday, monday + timedelta(days=30))
    overall = closure(*period)
    assert (overall["median_time_to_close_s"], overall["p90_time_to_close_s"]) == (20 * 3600, 100 * 3600)
    by_owner = {g["label"]: g for g in closure(*period, "owner")["groups"]}
    assert (by_owner["Dana"]["median_time_to_close_s"], by_owner["Dana"]["p90_time_to_close_s"]) == (36000, 72000)
    assert by_owner["Omar"]["median_time_to_close_s"] == 360000 and by_owner["Omar"]["loop_closed"] == 1
    weeks = {g["key"]: g["opened"] for g in closure(*period, "week")["groups"]}
    assert weeks == {"2026-10-05": 2, "2026-10-12": 2}
    topics = {g["key"]: (g["opened"], g["loop_closed"]) for g in closure(*period, "topic")["groups"]}
    assert topics == {"billing": (2, 2), "support": (2, 2), "bugs": (1, 0)}
    headers = api_token(make_user("lead@example.com", role="admin"))
    api = client.get("/api/v1/metrics/closure?from=2026-10-05&to=2026-11-03&group_by=week", headers=headers).json
    assert [g["key"] for g in api["groups"]] == ["2026-10-05", "2026-10-12"]
    assert api["median_time_to_close_s"] == 72000


def test_by_topic_the_overall_figures_count_each_item_once(app, client):
    """An item on two topics counts under each topic, but once in the period's own figures: the API's
    closure by topic says 2 items opened, 1 loop-closed, as it does without the grouping."""
    dana = make_user("dana@example.com", name="Dana", role="admin")
    survey = make_survey()
    monday = datetime(2026, 10, 5, 9, tzinfo=UTC)
    item(dana, survey, monday, loop_closed_after_h=10, topics=["billing", "support"])
    item(dana, survey, monday + timedelta(days=1), topics=["billing"])
    figures = closure(monday, monday + timedelta(days=7), "topic")
    assert (figures["opened"], figures["loop_closed"], figures["closure_rate"]) == (2, 1, 0.5)
    assert {g["key"]: (g["opened"], g["loop_closed"]) for g in figures["groups"]} == {
        "billing": (2, 1), "support": (1, 1)}
    api = client.get("/api/v1/metrics/closure?from=2026-10-05&to=2026-10-11&group_by=topic",
                     headers=api_token(dana)).json
    assert (api["opened"], api["loop_closed"], api["median_time_to_close_s"]) == (2, 1, 36000)
    assert api["group_by"] == "topic" and len(api["groups"]) == 2  # the API says how it grouped


def test_each_week_has_its_own_times_to_close_in_the_api(app, client):
    """Grouped by week, each week's median and p90 are over that week's items (the API's trend of times)."""
    dana = make_user("dana@example.com", name="Dana", role="admin")
    survey = make_survey()
    monday = datetime(2026, 10, 5, 9, tzinfo=UTC)
    for day, hours in ((0, 10), (1, 30), (7, 2), (8, 4), (9, 50)):
        item(dana, survey, monday + timedelta(days=day), loop_closed_after_h=hours)
    api = client.get("/api/v1/metrics/closure?from=2026-10-05&to=2026-10-18&group_by=week",
                     headers=api_token(dana)).json
    assert {g["key"]: (g["median_time_to_close_s"], g["p90_time_to_close_s"]) for g in api["groups"]} == {
        "2026-10-05": (10 * 3600, 30 * 3600), "2026-10-12": (4 * 3600, 50 * 3600)}
    assert (api["median_time_to_close_s"], api["p90_time_to_close_s"]) == (10 * 3600, 50 * 3600)


def test_the_trend_lists_its_days_in_order_whatever_order_the_items_came_in(app, client):
    """The trend chart and its table read left to right, first day first; so do the API's groups."""
    lee = make_user("lee@example.com", name="Lee", role="admin")
    survey = make_survey()
    first = datetime(2026, 10, 1, 9, tzinfo=UTC)
    days = (9, 2, 14, 0, 11, 5, 7, 12, 3, 1, 13, 8, 4, 10, 6)
    for day in days:
        item(lee, survey, first + timedelta(days=day), loop_closed_after_h=day % 3 + 1)
    expected = [f"2026-10-{day + 1:02d}" for day in sorted(days)]
    if db.session.get_bind().dialect.name == "postgresql":  # as at a million items: groups by hashing, unsorted
        db.session.execute(text("SET LOCAL enable_sort = off"))
    trend = closure(first, first + timedelta(days=15), "day", measures=(), overall=False)["groups"]
    assert [g["key"] for g in trend] == expected
    api = client.get("/api/v1/metrics/closure?from=2026-10-01&to=2026-10-15&group_by=day",
                     headers=api_token(lee)).json
    assert [g["key"] for g in api["groups"]] == expected


def test_the_p90_of_twenty_closures_is_the_eighteenth_fastest(app):
    """Nearest rank: of 20 loops closed in 1 to 20 hours the median is the 10th (10 h), the p90 the
    ⌈0.9 × 20⌉ = 18th (18 h), not the slowest; on either database."""
    dana = make_user("dana@example.com", name="Dana")
    survey = make_survey()
    for hours in range(20, 0, -1):
        item(dana, survey, T0 + timedelta(hours=hours), loop_closed_after_h=hours)
    for figures in (closure(T0, T0 + timedelta(days=2)), closure(T0, T0 + timedelta(days=2), "owner")["groups"][0]):
        assert (figures["median_time_to_close_s"], figures["p90_time_to_close_s"]) == (10 * 3600, 18 * 3600)


def test_weeks_start_on_monday_on_either_database(app):
    from sqlalchemy import literal, select

    from vocloop.db import UTCDateTime
    from vocloop.metrics.sql import period_key, period_start, week_start
    for moment, monday in [("2026-10-11 23:59:59", "2026-10-05"), ("2026-10-12 00:00:00", "2026-10-12"),
                           ("2026-10-07 12:00:00", "2026-10-05"), ("2027-01-01 08:00:00", "2026-12-28")]:
        stamp = datetime.fromisoformat(moment).replace(tzinfo=UTC)  # bound as the columns store it
        assert period_key(db.session.scalar(select(week_start(literal(stamp, UTCDateTime()))))) == monday, moment
        day, month = (period_key(db.session.scalar(select(period_start(literal(stamp, UTCDateTime()), unit))))
                      for unit in ("day", "month"))
        assert (day, month) == (moment[:10], moment[:8] + "01"), moment


def test_the_weekly_chart_has_a_table_and_every_table_a_csv(app, client):
    import csv
    import io

    from tests.factories import login
    lead = make_user("lee@example.com", role="lead", name="=HYPERLINK(\"http://evil\")", team="Support")
    survey = make_survey()
    item(lead, survey, utcnow() - timedelta(days=10), loop_closed_after_h=5)
    item(lead, survey, utcnow() - timedelta(days=2))
    login(client, "lee@example.com")
    html = client.get("/metrics/").get_data(as_text=True)
    trend = html[html.index('aria-labelledby="trend-title"'):]
    trend = trend[:trend.index("</svg>")]
    assert html.count('class="chart wide"') == 3 and trend.count("<rect") == 2 and "Loop-closure rate by week" in html
    assert "1 of 1 loop-closed" in html and "0 of 1 loop-closed" in html and "Download this table as CSV" in html
    response = client.get("/metrics/closure.csv?group_by=owner")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["opened"] == "2" and rows[0]["closure_rate"] == "0.5"
    assert rows[0]["label"].startswith("'=")  # a spreadsheet shows it, does not run it
    weekly = list(csv.DictReader(io.StringIO(client.get("/metrics/closure.csv?group_by=week").get_data(as_text=True))))
    assert sum(int(row["opened"]) for row in weekly) == 2
    make_user("dana@example.com")
    login(client, "dana@example.com")
    assert client.get("/metrics/closure.csv").status_code == 403
