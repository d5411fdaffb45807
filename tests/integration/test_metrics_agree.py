"""One meaning per figure: the Metrics page, its CSVs and the API show the same numbers for the same
period and filters, every table of the page compared cell by cell; a period's `to` day is included
everywhere, and the page says so."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser

from tests.factories import api_token, login, make_survey, make_user
from tests.integration.test_dashboard import make_item
from vocloop.metrics import dashboard
from vocloop.metrics.scores import BAND_NAMES


class Tables(HTMLParser):
    """Each `<table data-table=NAME>`'s body rows as lists of cell texts, and each headline tile's text."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.tiles: dict[str, str] = {}
        self._table = self._row = self._cell = self._tile = None
        self._depth = 0
        self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._table = self.tables.setdefault(attrs["data-table"], [])
        elif tag == "tbody" and self._table is not None:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        if tag == "section" and "data-tile" in attrs:
            self._tile, self._depth = attrs["data-tile"], 0
            self.tiles[self._tile] = ""
        elif tag == "section" and self._tile:
            self._depth += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None
        elif tag == "section" and self._tile:
            if self._depth == 0:
                self._tile = None
            else:
                self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._tile:
            self.tiles[self._tile] = " ".join(f"{self.tiles[self._tile]} {data}".split())


def pct(value: str) -> str:
    return "–" if value == "" else f"{float(value) * 100:.1f}%"


def hours(value: str) -> str:
    return "–" if value == "" else f"{int(value) / 3600:.1f} h"


def score_change(row: dict) -> str:
    if row["change"] == "":
        return "no earlier score"
    change = float(row["change"])
    if change == 0:
        return f"= {row['previous_score']}"
    return f"{'▲' if change > 0 else '▼'} {abs(change):g} from {row['previous_score']}"


def score_figure(row: dict) -> str:
    """CSAT is a share of answers: it carries its % sign."""
    return f"{row['score_name']} {(row['score'] + ('%' if row['kind'] == 'csat' else '')) if row['score'] else '–'}"


def closure_cells(row: dict, first_column: str = "owner") -> list[str]:
    return [row["label"] or f"No {first_column}", row["opened"], row["loop_closed"], pct(row["closure_rate"]),
            pct(row["closed_within_sla_rate"]), pct(row["reopen_rate"]), hours(row["median_time_to_close_s"]),
            hours(row["p90_time_to_close_s"]), hours(row["median_business_time_to_close_s"]),
            hours(row["median_time_to_first_action_s"])]


PAGE_CELLS = {  # how the page shows one CSV row
    "closure": closure_cells, "leaderboard-owner": closure_cells,
    "leaderboard-team": lambda row: closure_cells(row, "team"), "worst-topics": lambda row: closure_cells(row, "topic"),
    "trend": lambda row: [row["key"], row["opened"], row["loop_closed"], pct(row["closure_rate"])],
    "distribution": lambda row: [row["bucket"], row["items"]],
    "backlog": lambda row: [row["bucket"].replace("_", " "), row["items"]],
    "breached": lambda row: [f"#{row['id']}", row["priority"], row["owner"], row["breached_at"][:16].replace("T", " "),
                             "loop closed" if row["loop_closed_at"] else row["status"].replace("_", " ")],
    "scores": lambda row: [row["survey"], score_figure(row), score_change(row),
                           row["responses"], f"{pct(row['response_rate'])} ({row['invitations_answered']} of "
                                             f"{row['invitations_delivered']})"],
    "score-trend": lambda row: [row["survey"], row["key"], score_figure(row),
                                row["responses"], *(f"{pct(row[f'{band}_share'])} {name}" for band, name in zip(
                                    ("positive", "middle", "negative"), BAND_NAMES[row["kind"]], strict=True))],
    "sentiment": lambda row: [row["sentiment"], row["responses"]],
    "loop-effect": lambda row: [f"{row['label']} {row['conclusion']}".strip(), row["customers"], effect_cell(row)],
    "next-survey": lambda row: [row["label"], row["asked_again"], row["answered"], pct(row["response_rate"])],
    "revenue-accounts": lambda row: [row["account"], f"{int(row['annual_value']):,}", row["open_items"],
                                     f"#{row['oldest_item_id']}, {row['days_open']} day"
                                     f"{'' if row['days_open'] == '1' else 's'} open", row["owner"] or "–"],
    **{f"revenue-by-{by}": lambda row: [row["label"], f"{int(row['at_risk']):,}", row["accounts"]]
       for by in ("team", "topic", "owner")},
}
SHOWN_AT_MOST = {"leaderboard-owner": 10, "revenue-by-team": 8, "revenue-by-topic": 8, "revenue-by-owner": 8}


def effect_cell(row: dict) -> str:
    cell = change_of(row["mean_change"])
    if row["ci_low"]:
        cell += f" ({change_of(row['ci_low'])} to {change_of(row['ci_high'])})"
    if row["mean_change_points"]:
        cell += f" {float(row['mean_change_points']):+.1f} {row['survey_kind'].upper()} points"
    return cell


def change_of(value: str) -> str:
    return "–" if value == "" else f"{float(value):+.1f}"
API_GROUPING = {"closure": "owner", "leaderboard-owner": "owner", "leaderboard-team": "team", "worst-topics": "topic",
                "trend": "week"}
API_FIELDS = ("opened", "loop_closed", "closure_rate", "closed_within_sla_rate", "verified_closure_rate",
              "reopen_rate", "median_time_to_close_s", "p90_time_to_close_s", "median_business_time_to_close_s",
              "p90_business_time_to_close_s", "median_time_to_first_action_s", "p90_time_to_first_action_s")


def _as_csv(value) -> str:
    return "" if value is None else str(value)


def a_month_of_items(lead=None):
    """November 2026 for the Support team: 14 items on pricing (loop-closed at different speeds, some
    with a first action), 5 on bugs, a team of its own, and items on the last day and the day after."""
    lee = lead or make_user("lee@example.com", role="lead", name="Lee", team="Support")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    omar = make_user("omar@example.com", name="Omar", team="Billing")
    survey = make_survey()
    support, billing = lee.teams[0], omar.teams[0]
    start = datetime(2026, 11, 2, 10, tzinfo=UTC)
    for n in range(14):
        make_item(dana if n % 2 else omar, survey, start + timedelta(days=n), topics=["pricing"],
                  closed_after_h=(None if n % 3 == 0 else 3 + 7 * n), first_action_after_h=1 + n % 4,
                  team=support if n % 2 else billing, breached=n % 5 == 0, priority=("P1", "P2", "P3")[n % 3])
    for n in range(5):
        make_item(dana, survey, start + timedelta(days=n, hours=5), topics=["bugs"], closed_after_h=30 + n,
                  first_action_after_h=2, team=support)
    make_item(dana, survey, datetime(2026, 11, 30, 23, 30, tzinfo=UTC), topics=["pricing"], team=support)  # last day
    make_item(dana, survey, datetime(2026, 12, 1, 0, 30, tzinfo=UTC), topics=["pricing"], team=support)  # after it
    make_item(dana, survey, datetime(2026, 10, 20, 9, tzinfo=UTC), closed_after_h=50, team=support)  # the month before
    return lee


def read_csv(client, name: str, query: str) -> list[dict]:
    response = client.get(f"/metrics/{name}.csv?{query}")
    assert response.status_code == 200, name
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_page_csv_and_api_agree_on_every_table_for_the_same_period_and_filters(app, client):
    admin = make_user("admin@example.com", role="admin", name="Ada")
    a_month_of_items()
    login(client, "admin@example.com")
    headers = api_token(admin)
    for query in ("from=2026-11-01&to=2026-11-30", "from=2026-11-01&to=2026-11-30&priority=P2",
                  "from=2026-11-01&to=2026-11-30&topic=pricing&team_id=1"):
        page = Tables(client.get(f"/metrics/?{query}").get_data(as_text=True))
        html = client.get(f"/metrics/?{query}").get_data(as_text=True)
        drawn_empty = {name for name in dashboard.TABLE_NAMES if f'data-empty="{name}"' in html}
        assert set(page.tables) | drawn_empty == set(dashboard.TABLE_NAMES), query
        for name in dashboard.TABLE_NAMES:
            rows = read_csv(client, name, query)
            if name in drawn_empty:  # the page says in words that nobody is counted yet; so does the CSV
                assert all(row.get("customers", "0") == "0" for row in rows), (query, name)
                continue
            shown = page.tables[name]
            rows = rows[:SHOWN_AT_MOST.get(name, len(rows))]
            expected = [PAGE_CELLS[name](row) for row in rows]
            if not rows:  # the page says there is nothing instead
                assert len(shown) <= 1 and (not shown or len(shown[0]) == 1), (query, name, shown)
                continue
            assert shown == expected, (query, name)
            if name in API_GROUPING:
                api = client.get(f"/api/v1/metrics/closure?{query}&group_by={API_GROUPING[name]}", headers=headers)
                assert api.status_code == 200, api.json
                groups = {str(group["key"]): group for group in api.json["groups"]}
                for row in rows:
                    group = groups[row["key"]]
                    fields = [field for field in API_FIELDS if field in row]
                    assert {field: row[field] for field in fields} == {
                        field: _as_csv(group[field]) for field in fields}, (query, name, row["key"])
        overall = client.get(f"/api/v1/metrics/closure?{query}", headers=headers).json
        assert page.tiles["opened"].split()[2] == str(overall["opened"]), query
        assert page.tiles["closure_rate"].split()[2] == pct(_as_csv(overall["closure_rate"])), query


def test_times_show_on_the_page_and_in_the_csvs_wherever_the_api_has_them(app, client):
    make_user("admin@example.com", role="admin")
    a_month_of_items()
    login(client, "admin@example.com")
    query = "from=2026-11-01&to=2026-11-30"
    for name in ("worst-topics", "leaderboard-owner", "leaderboard-team", "closure"):
        for row in read_csv(client, name, query):
            if row["loop_closed"] != "0":
                for column in ("median_time_to_close_s", "median_business_time_to_close_s",
                               "median_time_to_first_action_s"):
                    assert row[column] != "", (name, row["label"], column)
    page = Tables(client.get(f"/metrics/?{query}").get_data(as_text=True))
    pricing = next(row for row in page.tables["worst-topics"] if row[0] == "pricing")
    assert "–" not in pricing, pricing
    assert all("–" not in row for row in page.tables["leaderboard-team"]), page.tables["leaderboard-team"]


def test_the_to_day_is_included_on_the_page_in_the_csvs_and_in_the_api(app, client):
    admin = make_user("admin@example.com", role="admin")
    a_month_of_items()
    login(client, "admin@example.com")
    html = client.get("/metrics/?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "from 2026-11-01 to 2026-11-30, both days included" in html
    assert 'name="to" value="2026-11-30"' in html
    assert "compared with 2026-10-02 to 2026-10-31" in html
    page = Tables(html)
    csv_opened = sum(int(row["opened"]) for row in read_csv(client, "trend", "from=2026-11-01&to=2026-11-30"))
    api = client.get("/api/v1/metrics/closure?from=2026-11-01&to=2026-11-30", headers=api_token(admin)).json
    assert page.tiles["opened"].split()[2] == str(csv_opened) == str(api["opened"]) == "20"  # 19 + the last day's
    disposition = client.get("/metrics/closure.csv?from=2026-11-01&to=2026-11-30").headers["Content-Disposition"]
    assert "2026-11-01-2026-11-30" in disposition


def test_the_default_period_is_the_dates_it_shows(app, client, monkeypatch):
    """No dates: the page names its period; typing those dates in shows the same figures, as does the API."""
    admin = make_user("admin@example.com", role="admin")
    today = datetime.now(UTC).date()
    make_item(admin, make_survey(), max(datetime.now(UTC) - timedelta(minutes=5), datetime.combine(today, time(), UTC)))
    # early on the period's first day (29 days and an hour ago fell on the day before from 00:00 to 01:00 UTC)
    make_item(admin, make_survey(name="Other"), datetime.combine(today - timedelta(days=29), time(0, 30), UTC))
    login(client, "admin@example.com")
    default = client.get("/metrics/").get_data(as_text=True)
    first = today - timedelta(days=29)
    assert f"from {first} to {today}, both days included" in default
    typed = client.get(f"/metrics/?from={first}&to={today}").get_data(as_text=True)
    assert Tables(default).tiles["opened"] == Tables(typed).tiles["opened"]
    assert Tables(default).tiles["opened"].split()[2] == "2"
    api = client.get("/api/v1/metrics/closure", headers=api_token(admin)).json
    assert api["opened"] == 2 and (api["from"], api["to"]) == (str(first), str(today))


def test_every_metrics_endpoint_names_the_period_as_the_page_does(app, client):
    """`to` is the last day, included, in the API's answers as on the pages (it was the day after)."""
    admin = make_user("admin@example.com", role="admin")
    login(client, "admin@example.com")
    today = datetime.now(UTC).date()
    headers = api_token(admin)
    for query, first, last in (("from=2026-11-01&to=2026-11-30", "2026-11-01", "2026-11-30"),
                               ("", str(today - timedelta(days=29)), str(today))):
        assert f"from {first} to {last}, both days included" in client.get(f"/metrics/?{query}").get_data(as_text=True)
        assert f"from {first} to {last}, both days included" in client.get(f"/metrics/effect?{query}").get_data(
            as_text=True)
        for endpoint in ("closure", "closure?group_by=team", "scores", "loop-effect", "revenue-at-risk"):
            answer = client.get(f"/api/v1/metrics/{endpoint}{'&' if '?' in endpoint else '?'}{query}", headers=headers)
            assert (endpoint, answer.json["from"], answer.json["to"]) == (endpoint, first, last)


def test_the_weekly_email_links_to_the_week_it_describes(app):
    from vocloop.metrics.period import Period

    week = Period(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    assert week.query_args() == {"from": "2026-11-16", "to": "2026-11-22"}
    assert week.previous().last_day == date(2026, 11, 15)


def test_deltas_say_which_way_and_whether_that_is_better(app, client):
    admin = make_user("admin@example.com", role="admin")
    survey = make_survey()
    make_item(admin, survey, datetime(2026, 10, 20, 9, tzinfo=UTC), closed_after_h=10)  # the month before
    make_item(admin, survey, datetime(2026, 10, 21, 9, tzinfo=UTC))
    for day in (3, 4, 5):
        make_item(admin, survey, datetime(2026, 11, day, 9, tzinfo=UTC), closed_after_h=4)
    tiles = {tile["key"]: tile for tile in dashboard.headline(datetime(2026, 11, 1, tzinfo=UTC),
                                                              datetime(2026, 12, 1, tzinfo=UTC))}
    assert (tiles["closure_rate"]["direction"], tiles["closure_rate"]["verdict"]) == ("up", "better")
    assert (tiles["median_time_to_close_s"]["direction"], tiles["median_time_to_close_s"]["verdict"]) == (
        "down", "better")  # shorter is better
    assert (tiles["opened"]["direction"], tiles["opened"]["verdict"]) == ("up", None)  # neither way is better
    assert tiles["reopen_rate"]["direction"] == "same"
    login(client, "admin@example.com")
    page = Tables(client.get("/metrics/?from=2026-11-01&to=2026-11-30").get_data(as_text=True))
    assert page.tiles["closure_rate"] == "Loop-closure rate 100.0% ▲ 50.0 pts up from 50.0% (better)"
    assert page.tiles["median_time_to_close_s"] == "Median time to close 4.0 h ▼ 6.0 h down from 10.0 h (better)"
    assert page.tiles["opened"] == "Items opened 3 ▲ 1 up from 2"
    html = client.get("/metrics/?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert 'class="delta better"' in html and 'class="delta worse"' not in html


def test_scores_over_time_with_their_split_and_the_previous_period(app, client):
    admin = make_user("admin@example.com", role="admin")
    survey = make_survey(name="Relationship")
    for day, score in ((3, 10), (3, 9), (4, 7), (5, 2), (12, 10), (12, 3)):  # Nov 2-8 and Nov 9-15
        make_item(admin, survey, datetime(2026, 11, day, 9, tzinfo=UTC), score=score)
    make_item(admin, survey, datetime(2026, 10, 20, 9, tzinfo=UTC), score=1)  # the month before: NPS -100
    login(client, "admin@example.com")
    rows = read_csv(client, "score-trend", "from=2026-11-01&to=2026-11-30")
    assert [(r["key"], r["score"], r["positive"], r["middle"], r["negative"]) for r in rows] == [
        ("2026-11-02", "25.0", "2", "1", "1"), ("2026-11-09", "0.0", "1", "0", "1")]
    html = client.get("/metrics/?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    page = Tables(html)
    assert page.tables["score-trend"][0] == ["Relationship", "2026-11-02", "NPS 25.0", "4", "50.0% promoters",
                                             "25.0% passives", "25.0% detractors"]
    assert page.tables["scores"][0][:3] == ["Relationship", "NPS 16.7", "▲ 116.7 from -100.0"]
    assert "Relationship: NPS by week, with the share of promoters, passives, detractors" in html


def test_the_api_gives_the_same_scores_split_and_trend_as_the_page(app, client):
    admin = make_user("admin@example.com", role="admin")
    survey = make_survey(name="Relationship")
    for day, score in ((3, 10), (3, 9), (4, 7), (5, 2), (12, 10), (12, 3)):
        make_item(admin, survey, datetime(2026, 11, day, 9, tzinfo=UTC), score=score)
    make_item(admin, survey, datetime(2026, 10, 20, 9, tzinfo=UTC), score=1)
    login(client, "admin@example.com")
    api = client.get("/api/v1/metrics/scores?from=2026-11-01&to=2026-11-30", headers=api_token(admin))
    assert api.status_code == 200, api.json
    body = api.json
    assert (body["from"], body["to"], body["interval"]) == ("2026-11-01", "2026-11-30", "week")
    [relationship] = body["surveys"]
    assert (relationship["score"], relationship["previous_score"], relationship["responses"]) == (16.7, -100.0, 6)
    assert (relationship["positive"], relationship["middle"], relationship["negative"]) == (3, 1, 2)
    csv_rows = read_csv(client, "score-trend", "from=2026-11-01&to=2026-11-30")
    assert [(p["key"], p["score"], p["positive"], p["middle"], p["negative"]) for p in relationship["periods"]] == [
        (r["key"], float(r["score"]), int(r["positive"]), int(r["middle"]), int(r["negative"])) for r in csv_rows]
    assert client.get("/api/v1/metrics/scores?interval=year", headers=api_token(admin)).status_code == 422
    owner = make_user("dana@example.com")
    assert client.get("/api/v1/metrics/scores", headers=api_token(owner)).status_code == 403
