"""Metrics figure: the leads' dashboard and the closure API as the data grows, against their own SQL.

Builds the data in SQL (generate_series) with realistic spreads: 40 owners in 8 teams, contacts in
2,000 accounts, answers and items over a year (about 6% still open), times to first action and to
close spread from under an hour to two weeks, a tenth closed late, some reopened, some verified.
Then times, as the server sees them (Flask test client, median of --repeat), the whole dashboard page
(last 30 days) for an admin and for a lead. Its floor, in the same run: every statement the page
sent, recorded and run bare on one driver connection, in turn with the page within each round; with
METRICS_QUERY_WORKERS side by side, the floor is what the best split of them over the workers could
reach (harness.best_split: each statement whole, on two workers the most even split). At each of --sizes items;
the growth is the dashboard's time at the largest size over the smallest (it should grow no faster
than the items in the period, which grow with the sizes here). At the largest size, also the
closure API grouped by owner over 90 days against the same figures' SQL written by hand.

The effect page ("Does closing the loop pay?": loop effect, revenue at risk, announcements; seeded with
50 announcements to 100,000 recipients) is timed the same way, and at the largest size each of its three
queries against the very SQL it sent, run bare (--parts: every dashboard query too).

    python benchmarks/metrics.py [--sizes 100k,300k,1M] [--database-url URL] [--repeat 10] [--parts]

The last line printed is one JSON object of the figures. Goals: dashboard_ratio_to_queries and
effect_ratio_to_queries (the worse of admin and lead, largest size) <= 1.5, each page under 300 ms at a
million items; effect_queries_ratio_to_bare_sql (the worst of the effect page's three queries) <= 1.5;
the API within 1.5x of its hand-written SQL; dashboard_growth_per_size <= 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    database_kind,
    growth,
    keep_migrated,
    page_and_floor_ms,
    parse_sizes,
    recorded_sql,
    report,
    reset_database,
    timed,
)
from benchmarks.inbox import PEOPLE_SQL  # noqa: E402

# h(i, salt) is a cheap deterministic pseudo-random number in 0..999 per item; opened(i) spreads the
# items over the last year in id order, as a live system writes them (the physical order matters).
SEED_SQL = """
CREATE FUNCTION h(i bigint, salt int) RETURNS int IMMUTABLE LANGUAGE sql AS
  $$ SELECT (((i * 2654435761 + salt * 40503) % 1000003) % 1000)::int $$;
CREATE FUNCTION opened(i bigint, n bigint) RETURNS timestamp LANGUAGE sql AS
  $$ SELECT (now() AT TIME ZONE 'UTC') - ((n - i) * 365.0 / n) * interval '1 day' $$;
CREATE FUNCTION close_hours(i bigint) RETURNS float IMMUTABLE LANGUAGE sql AS
  $$ SELECT 1 + h(i, 8) * h(i, 8) / 3000.0 $$;
INSERT INTO surveys (id, name, kind, question, comment_prompt, subject, intro, quarantine_days, link_expiry_days,
                     active, created_at)
  SELECT s, 'Survey ' || s, (ARRAY['nps', 'csat', 'ces'])[s], 'q', 'c', 's', '', 90, 30, true, now()
  FROM generate_series(1, 3) s;
INSERT INTO accounts (id, name, annual_value, created_at)
  SELECT a, 'Account ' || a, h(a, 9) * 200, now() FROM generate_series(1, 2000) a;
INSERT INTO contacts (id, email, name, account_id, attributes, created_at)
  SELECT c, 'c' || c || '@customer.example', 'Customer ' || c, 1 + c % 2000, '{}', now()
  FROM generate_series(1, :contacts) c;
INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, answered_at, created_at)
  SELECT i, 1 + i % 3, 1 + i % :contacts, md5(i::text) || md5((i * 7)::text), 'delivered', now(),
         opened(i, :items), opened(i, :items) FROM generate_series(1, :items) i;
INSERT INTO responses (id, invitation_id, survey_id, contact_id, score, comment, answered_at, completed_at,
                       processed_at, sentiment_label, topics, urgent, urgency_flags, sentiment_mismatch, created_at)
  SELECT i, i, 1 + i % 3, 1 + i % :contacts,
         CASE 1 + i % 3 WHEN 1 THEN h(i, 2) % 11 WHEN 2 THEN 1 + h(i, 2) % 5 ELSE 1 + h(i, 2) % 7 END,
         'Comment number ' || i, opened(i, :items), now(), now(),
         (ARRAY['negative', 'neutral', 'positive'])[1 + h(i, 3) % 3],
         (ARRAY['["billing"]', '["support"]', '["bugs", "support"]', '[]', '["pricing"]', '["delivery"]'])
           [1 + h(i, 4) % 6]::json,
         false, '[]', false, opened(i, :items) FROM generate_series(1, :items) i;
INSERT INTO feedback_items (id, response_id, contact_id, survey_id, owner_id, team_id, status, priority,
                            first_action_due_at, close_due_at, first_action_at, closed_at, close_reason,
                            loop_closed_at, loop_closed_in_sla, customer_verdict, reopen_count,
                            seconds_to_first_action, seconds_to_close,
                            business_seconds_to_first_action, business_seconds_to_close, sla_breached_at,
                            created_at, updated_at)
  SELECT i, i, 1 + i % :contacts, 1 + i % 3, 2 + i % 39, 1 + ((2 + i % 39) % 8),
         CASE WHEN open THEN 'open' ELSE 'closed' END, 'P' || (1 + h(i, 6) % 4),
         c + interval '4 hours', c + interval '48 hours', c + (1 + h(i, 7)) * interval '1 minute',
         CASE WHEN NOT open THEN c + close_hours(i) * interval '1 hour' END,
         CASE WHEN NOT open THEN 'closing_message' END,
         CASE WHEN NOT open THEN c + close_hours(i) * interval '1 hour' END,
         CASE WHEN NOT open THEN close_hours(i) <= 48 END,
         CASE WHEN h(i, 9) < 300 THEN 'resolved' END, CASE WHEN h(i, 10) < 40 THEN 1 ELSE 0 END,
         (1 + h(i, 7)) * 60, CASE WHEN NOT open THEN (close_hours(i) * 3600)::int END,
         (1 + h(i, 7)) * 40, CASE WHEN NOT open THEN (close_hours(i) * 1200)::int END,
         CASE WHEN close_hours(i) > 48 THEN c + interval '48 hours' END, c, now()
  FROM (SELECT i, opened(i, :items) AS c, h(i, 5) < 60 AS open FROM generate_series(1, :items) i) s;
SELECT setval(pg_get_serial_sequence('feedback_items', 'id'), :items);
INSERT INTO announcements (id, topic, only_open, subject, body, translations, close_open_items, status, team_id,
                           created_by_id, sent_by_id, created_at, sent_at, finished_at)
  SELECT a, (ARRAY['billing', 'support', 'bugs', 'pricing', 'delivery'])[1 + a % 5], false, 'We fixed it', 'Body',
         '{}', a % 2 = 0, 'sent', 1 + a % 8, 1, 1, s, s, s + interval '1 hour'
  FROM (SELECT a, (now() AT TIME ZONE 'UTC') - (a * 7.3) * interval '1 day' AS s FROM generate_series(1, 50) a) t;
INSERT INTO messages (id, idempotency_key, kind, to_email, to_name, from_email, from_name, subject, status, attempts,
                      created_at, contact_id)
  SELECT r, 'announcement:' || r, 'announcement', 'c' || r || '@customer.example', '', 'cx@vendor.example', 'CX',
         'We fixed it', (ARRAY['delivered', 'delivered', 'delivered', 'sent', 'bounced', 'pending'])[1 + h(r, 11) % 6],
         1, now(), 1 + r % :contacts
  FROM generate_series(1, 100000) r;
INSERT INTO announcement_recipients (id, announcement_id, contact_id, status, skip_reason, language, item_ids,
                                     closes_item_ids, message_id)
  SELECT r, 1 + (r - 1) / 2000, 1 + r % :contacts, CASE WHEN h(r, 12) < 50 THEN 'skipped' ELSE 'queued' END,
         CASE WHEN h(r, 12) < 50 THEN 'unsubscribed' END, 'en', '[]',
         CASE WHEN h(r, 13) < 300 THEN '[1]' ELSE '[]' END::json, CASE WHEN h(r, 12) >= 50 THEN r END
  FROM generate_series(1, 100000) r;
"""


def seed(url: str, items: int) -> float:
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from vocloop.extensions import db
    from vocloop.items import next_answer

    started = time.perf_counter()
    password = generate_password_hash("bench password")
    if database_kind(url) == "postgresql":
        for statement in (PEOPLE_SQL + SEED_SQL).strip().split(";\n"):
            db.session.execute(text(statement), {"password": password, "contacts": max(1, items // 5),
                                                 "items": items})
    else:
        from benchmarks import small_seed

        small_seed.seed_people(password)
        small_seed.seed_answers(items)
    # rows written by SQL: each item's next answer and invitation as the migration backfills them
    next_answer.refresh_all(db.session.connection())
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if database_kind(url) == "postgresql" else "ANALYZE"))
    return round(time.perf_counter() - started, 1)


def measure(url: str, items: int, args, largest: bool) -> dict:
    """One size: the dashboard for an admin and a lead, each against its own SQL run bare; at the
    largest size also the closure API against its hand-written SQL (and, with --parts, each query)."""
    if not args.reuse:
        reset_database(url)

    from flask_migrate import upgrade
    from sqlalchemy import text

    from vocloop import create_app
    from vocloop.accounts.models import User
    from vocloop.extensions import db
    from vocloop.metrics import queries

    postgres = database_kind(url) == "postgresql"
    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": None,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "METRICS_QUERY_WORKERS": args.workers})
    figures = {}
    with app.app_context():
        upgrade()
        if not args.reuse:
            keep_migrated(url)
        figures["seed_seconds"] = 0.0 if args.reuse else seed(url, items)
        lead_id = db.session.scalar(text("SELECT min(lead_id) FROM teams"))
        emails = {"admin": db.session.get(User, 1).email, "lead": db.session.get(User, lead_id).email}
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        start = end - timedelta(days=90)
        if largest and postgres:
            figures["query_closure_by_owner_90d_ms"] = timed(lambda: queries.closure(start, end, "owner"), args.repeat)
            compiled = _raw_sql(queries, start, end)
            figures["raw_sql_closure_by_owner_90d_ms"] = timed(lambda: db.session.execute(text(compiled)).all(),
                                                               args.repeat)
        # the effect page's queries (loop effect, revenue at risk, announcements) at the largest size;
        # with --parts every dashboard query too
        parts = _dashboard_parts(end, args.repeat, every=args.parts) if largest and postgres else {}
        engine = db.engine
        token = None
        if largest and postgres:
            from vocloop.accounts import service as accounts
            token = accounts.create_api_token(db.session.get(User, 1))
        db.session.remove()

    client = app.test_client()
    workers = args.workers if postgres else 1
    for label, email in emails.items():
        client.post("/login", data={"email": email, "password": "bench password"})
        assert client.get("/metrics/").status_code == 200
        with recorded_sql(engine) as sent:
            client.get("/metrics/")
        # the page and its statements run bare, in turn within each round
        page_ms, floor_ms, side_ms = page_and_floor_ms(lambda: client.get("/metrics/"), engine, sent, args.repeat,
                                                       workers)
        figures[f"dashboard_{label}_ms"] = page_ms
        figures[f"dashboard_{label}_queries_ms"] = floor_ms
        # the same statements run bare side by side as the page's worker threads ran them (informative)
        figures[f"dashboard_{label}_queries_side_by_side_ms"] = side_ms
        figures[f"ratio_dashboard_{label}_to_side_by_side"] = round(page_ms / max(side_ms, 0.01), 2)
        figures[f"dashboard_{label}_statements"] = len(sent)
        figures[f"ratio_dashboard_{label}_to_queries"] = round(page_ms / max(figures[f"dashboard_{label}_queries_ms"],
                                                                            0.01), 2)
        # "Does closing the loop pay?": the loop effect, revenue at risk and announcements, against its SQL
        assert client.get("/metrics/effect").status_code == 200
        with recorded_sql(engine) as sent:
            client.get("/metrics/effect")
        effect_ms, floor_ms, side_ms = page_and_floor_ms(lambda: client.get("/metrics/effect"), engine, sent,
                                                         args.repeat, workers)
        figures[f"effect_{label}_ms"] = effect_ms
        figures[f"effect_{label}_queries_ms"] = floor_ms
        figures[f"effect_{label}_queries_side_by_side_ms"] = side_ms  # as the dashboard's (informative)
        figures[f"ratio_effect_{label}_to_side_by_side"] = round(effect_ms / max(side_ms, 0.01), 2)
        figures[f"effect_{label}_statements"] = len(sent)
        figures[f"ratio_effect_{label}_to_queries"] = round(effect_ms / max(figures[f"effect_{label}_queries_ms"],
                                                                           0.01), 2)
        client.post("/logout")
    if token:
        headers = {"Authorization": f"Bearer {token}"}
        url_90d = f"/api/v1/metrics/closure?from={start.date()}&to={end.date()}&group_by=owner"
        assert client.get(url_90d, headers=headers).status_code == 200
        figures["api_closure_by_owner_90d_ms"] = timed(lambda: client.get(url_90d, headers=headers), args.repeat)
        figures["ratio_api_to_raw_sql"] = round(figures["api_closure_by_owner_90d_ms"]
                                                / max(figures["raw_sql_closure_by_owner_90d_ms"], 0.01), 2)
    for name, (query_ms, bare_ms) in parts.items():
        figures[f"part_{name}_ms"] = query_ms
        figures[f"part_{name}_ratio_to_bare_sql"] = round(query_ms / max(bare_ms, 0.01), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,300k,1M", help="items at each size, comma-separated")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run (one size, no reseeding)")
    parser.add_argument("--parts", action="store_true", help="also time each dashboard query against its bare SQL")
    parser.add_argument("--workers", type=int, default=2, help="METRICS_QUERY_WORKERS (the default setting: 2)")
    parser.add_argument("--database-url", default=os.environ.get("VOCLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    if args.reuse and len(sizes) > 1:
        parser.error("--reuse measures the data already there: give one size")

    by_size = {size: measure(args.database_url, size, args, size == sizes[-1]) for size in sizes}
    largest = by_size[sizes[-1]]
    figures = {"items": sizes[-1], "sizes": sizes, "database": database_kind(args.database_url),
               "metrics_query_workers": args.workers}
    for size in sizes:
        figures.update({f"{key}_at_{size}": value for key, value in by_size[size].items()
                        if not key.startswith(("part_", "api_", "raw_sql_", "query_", "ratio_api"))})
    figures.update({key: value for key, value in largest.items() if key.startswith(("part_", "api_", "raw_sql_",
                                                                                    "query_", "ratio_api"))})
    for label in ("admin", "lead"):
        figures[f"dashboard_{label}_ms"] = largest[f"dashboard_{label}_ms"]
        figures[f"dashboard_{label}_queries_ms"] = largest[f"dashboard_{label}_queries_ms"]
        figures[f"growth_dashboard_{label}"] = growth({size: by_size[size][f"dashboard_{label}_ms"] for size in sizes})
    figures["dashboard_ratio_to_queries"] = max(largest["ratio_dashboard_admin_to_queries"],
                                                largest["ratio_dashboard_lead_to_queries"])
    for label in ("admin", "lead"):
        figures[f"effect_{label}_ms"] = largest[f"effect_{label}_ms"]
        figures[f"effect_{label}_queries_ms"] = largest[f"effect_{label}_queries_ms"]
    figures["effect_ratio_to_queries"] = max(largest["ratio_effect_admin_to_queries"],
                                             largest["ratio_effect_lead_to_queries"])
    # the pages against their statements run bare side by side as their threads ran them (issue #25's proposed
    # reading: what PostgreSQL gives those statements at that parallelism on this machine)
    for page in ("dashboard", "effect"):
        for label in ("admin", "lead"):
            key = f"{page}_{label}_queries_side_by_side_ms"
            figures[key] = largest[key]
        figures[f"{page}_ratio_to_side_by_side"] = max(largest[f"ratio_{page}_{label}_to_side_by_side"]
                                                       for label in ("admin", "lead"))
    new_parts = [f"part_{name}_ratio_to_bare_sql" for name in EFFECT_PARTS]
    if all(key in largest for key in new_parts):  # measured on PostgreSQL
        figures["effect_queries_ratio_to_bare_sql"] = max(largest[key] for key in new_parts)
    figures["dashboard_growth"] = max(figures["growth_dashboard_admin"], figures["growth_dashboard_lead"])
    # the items in the chosen 30 days grow as the sizes do here: 1.0 is growth in step with them
    figures["dashboard_growth_per_size"] = round(figures["dashboard_growth"] / (sizes[-1] / sizes[0]), 2)
    report(figures)

EFFECT_PARTS = ("loop_effect", "revenue_at_risk", "announcements")


def _dashboard_parts(now: datetime, repeat: int, every: bool) -> dict[str, tuple[float, float]]:
    """Each query of the admin's effect page (and with `every` of the dashboard), last 30 days, one after
    another: its time through vocloop's function, and the time of the very SQL it sent, run bare on the
    same connection."""
    from sqlalchemy import event, text

    from vocloop.accounts.models import User
    from vocloop.announcements import service as announcements
    from vocloop.extensions import db
    from vocloop.metrics import effect, queries, scores
    from vocloop.metrics.dashboard import HEADLINE_MEASURES
    from vocloop.metrics.sql import without_jit

    start = now - timedelta(days=30)
    admin = db.session.get(User, 1)
    parts = {
        "loop_effect": lambda: effect.loop_effect(start, now),
        "revenue_at_risk": lambda: effect.revenue_at_risk(start, now, now),
        "announcements": lambda: announcements.figures(start, now, admin),
    }
    parts.update({} if not every else {
        "closure_by_owner": lambda: queries.closure(start, now, "owner", measures=HEADLINE_MEASURES),
        "previous_period": lambda: queries.closure(*queries.previous_period(start, now), None,
                                                   measures=HEADLINE_MEASURES),
        "closure_by_team": lambda: queries.closure(start, now, "team", measures=("time_to_close",), overall=False),
        "trend_by_week": lambda: queries.closure(start, now, "week", measures=(), overall=False),
        "distribution": lambda: queries.close_time_distribution(start, now),
        "worst_topics": lambda: queries.worst_topics(start, now),
        "breached": lambda: queries.breached_items(start, now),
        "backlog": lambda: queries.backlog(now),
        "answers": lambda: scores.period_answers(start, now),  # the scores, their trend and the sentiment mix
    })
    results = {}
    connection = db.session.connection()
    for name, part in parts.items():
        sent: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, parameters, context, executemany, sent=sent):
            if not statement.startswith("SET "):
                sent.append((statement, parameters))

        event.listen(connection, "before_cursor_execute", capture)
        part()
        event.remove(connection, "before_cursor_execute", capture)
        without_jit()
        cursor = connection.connection.driver_connection.cursor()

        def bare(sent=sent, cursor=cursor):
            for statement, parameters in sent:
                cursor.execute(statement, parameters)
                cursor.fetchall()

        results[name] = _alternately(part, bare, repeat)
    db.session.execute(text("SELECT 1"))
    return results


def _alternately(first, second, repeat: int) -> tuple[float, float]:
    """The median milliseconds of each, run in turn within every round: on a shared machine a burst of
    load then slows both alike, where ten of one then ten of the other can catch it in only one."""
    first(), second()
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        rounds.append(((middle - started) * 1000, (time.perf_counter() - middle) * 1000))
    return (round(statistics.median(one for one, _ in rounds), 2),
            round(statistics.median(two for _, two in rounds), 2))


def _raw_sql(queries, start, end) -> str:
    """The SQL of the API's answer written by hand (literal dates): the figures per owner and overall,
    in one scan. This is what the ORM-built query and the HTTP layer are compared with."""
    ranks = ",\n       ".join(f"percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY i.{column})"
                              for column in ("seconds_to_first_action", "seconds_to_close",
                                             "business_seconds_to_first_action", "business_seconds_to_close"))
    return f"""
SELECT count(i.id), count(i.loop_closed_at),
       sum(CASE WHEN i.loop_closed_at <= i.close_due_at THEN 1 ELSE 0 END),
       sum(CASE WHEN i.customer_verdict = 'resolved' THEN 1 ELSE 0 END),
       sum(CASE WHEN i.reopen_count > 0 AND i.loop_closed_at IS NOT NULL THEN 1 ELSE 0 END),
       {ranks},
       i.owner_id, u.name, GROUPING(i.owner_id, u.name)
FROM feedback_items i LEFT JOIN users u ON i.owner_id = u.id
WHERE i.created_at >= '{start:%Y-%m-%d %H:%M:%S}' AND i.created_at < '{end:%Y-%m-%d %H:%M:%S}'
GROUP BY GROUPING SETS ((i.owner_id, u.name), ()) ORDER BY i.owner_id"""


if __name__ == "__main__":
    main()
