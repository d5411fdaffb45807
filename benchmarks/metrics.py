"""Metrics figure: the leads' dashboard and the closure API with 1,000,000 items on PostgreSQL.

Builds the data in SQL (generate_series) with realistic spreads: 40 owners in 8 teams, 200,000
contacts in 2,000 accounts, 1,000,000 answers and items over a year (about 6% still open), times to
first action and to close spread from under an hour to two weeks, a tenth closed late, some reopened,
some verified. Then times, as the server sees them (Flask test client, median of --repeat):
the whole dashboard page (last 30 days) for an admin and for a lead, the closure API grouped by
owner for the last 90 days, and the bare SQL of that API call, with their ratios.

    python benchmarks/metrics.py [--items 1000000] [--database-url URL] [--repeat 10]

The last line printed is one JSON object of the figures. Goals: dashboard under 300 ms; the API
within 1.5x of its raw SQL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dispatch import reset_database  # noqa: E402
from benchmarks.inbox import PEOPLE_SQL, timed  # noqa: E402

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
                            loop_closed_at, customer_verdict, reopen_count, seconds_to_first_action, seconds_to_close,
                            business_seconds_to_first_action, business_seconds_to_close, sla_breached_at,
                            created_at, updated_at)
  SELECT i, i, 1 + i % :contacts, 1 + i % 3, 2 + i % 39, 1 + ((2 + i % 39) % 8),
         CASE WHEN open THEN 'open' ELSE 'closed' END, 'P' || (1 + h(i, 6) % 4),
         c + interval '4 hours', c + interval '48 hours', c + (1 + h(i, 7)) * interval '1 minute',
         CASE WHEN NOT open THEN c + close_hours(i) * interval '1 hour' END,
         CASE WHEN NOT open THEN 'closing_message' END,
         CASE WHEN NOT open THEN c + close_hours(i) * interval '1 hour' END,
         CASE WHEN h(i, 9) < 300 THEN 'resolved' END, CASE WHEN h(i, 10) < 40 THEN 1 ELSE 0 END,
         (1 + h(i, 7)) * 60, CASE WHEN NOT open THEN (close_hours(i) * 3600)::int END,
         (1 + h(i, 7)) * 40, CASE WHEN NOT open THEN (close_hours(i) * 1200)::int END,
         CASE WHEN close_hours(i) > 48 THEN c + interval '48 hours' END, c, now()
  FROM (SELECT i, opened(i, :items) AS c, h(i, 5) < 60 AS open FROM generate_series(1, :items) i) s;
SELECT setval(pg_get_serial_sequence('feedback_items', 'id'), :items);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run (no reseeding)")
    parser.add_argument("--workers", type=int, default=2, help="METRICS_QUERY_WORKERS (the default setting: 2)")
    parser.add_argument("--database-url", default=os.environ.get(
        "VOCLOOP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vocloop_bench"))
    args = parser.parse_args()
    if not args.reuse:
        reset_database(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from vocloop import create_app
    from vocloop.accounts.models import User
    from vocloop.extensions import db
    from vocloop.metrics import queries

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": args.database_url, "REDIS_URL": None,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "METRICS_QUERY_WORKERS": args.workers})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        if not args.reuse:
            for statement in (PEOPLE_SQL + SEED_SQL).strip().split(";\n"):
                db.session.execute(text(statement), {"password": generate_password_hash("bench password"),
                                                     "contacts": max(1, args.items // 5), "items": args.items})
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))  # what autovacuum keeps up in production
        seed_seconds = round(time.perf_counter() - started, 1)
        admin = db.session.get(User, 1)
        lead = db.session.get(User, db.session.scalar(text("SELECT min(lead_id) FROM teams")))
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        start = end - timedelta(days=90)
        sql_ms = timed(lambda: queries.closure(start, end, "owner"), args.repeat)
        compiled = _raw_sql(queries, start, end)
        raw_ms = timed(lambda: db.session.execute(text(compiled)).all(), args.repeat)
        parts = _dashboard_parts(end, args.repeat)
        db.session.remove()

    figures = {"items": args.items, "seed_seconds": seed_seconds, "metrics_query_workers": args.workers}
    client = app.test_client()
    for label, user in (("admin", admin), ("lead", lead)):
        client.post("/login", data={"email": user.email, "password": "bench password"})
        assert client.get("/metrics/").status_code == 200
        figures[f"dashboard_{label}_ms"] = timed(lambda: client.get("/metrics/"), args.repeat)
        client.post("/logout")
    with app.app_context():
        from vocloop.accounts import service as accounts
        token_headers = {"Authorization": f"Bearer {accounts.create_api_token(db.session.get(User, 1))}"}
    url = f"/api/v1/metrics/closure?from={start.date()}&to={end.date()}&group_by=owner"
    assert client.get(url, headers=token_headers).status_code == 200
    figures["api_closure_by_owner_90d_ms"] = timed(lambda: client.get(url, headers=token_headers), args.repeat)
    figures["query_closure_by_owner_90d_ms"] = sql_ms
    figures["raw_sql_closure_by_owner_90d_ms"] = raw_ms
    figures["ratio_api_to_raw_sql"] = round(figures["api_closure_by_owner_90d_ms"] / max(raw_ms, 0.01), 2)
    figures["ratio_dashboard_admin_to_goal_300ms"] = round(figures["dashboard_admin_ms"] / 300, 2)
    for name, (query_ms, bare_ms) in parts.items():
        figures[f"part_{name}_ms"] = query_ms
        figures[f"part_{name}_ratio_to_bare_sql"] = round(query_ms / max(bare_ms, 0.01), 2)
    for key, value in figures.items():
        print(f"{key:40} {value}")
    print(json.dumps(figures))


def _dashboard_parts(now: datetime, repeat: int) -> dict[str, tuple[float, float]]:
    """Each query of the admin's dashboard (last 30 days), one after another: its time through
    vocloop's function, and the time of the very SQL it sent, run bare on the same connection."""
    from sqlalchemy import event, text

    from vocloop.extensions import db
    from vocloop.metrics import queries
    from vocloop.metrics.dashboard import HEADLINE_MEASURES
    from vocloop.metrics.sql import without_jit

    start = now - timedelta(days=30)
    parts = {
        "closure_by_owner": lambda: queries.closure(start, now, "owner", measures=HEADLINE_MEASURES),
        "previous_period": lambda: queries.closure(*queries.previous_period(start, now), None,
                                                   measures=HEADLINE_MEASURES),
        "closure_by_team": lambda: queries.closure(start, now, "team", measures=("time_to_close",), overall=False),
        "trend_by_week": lambda: queries.closure(start, now, "week", measures=(), overall=False),
        "distribution": lambda: queries.close_time_distribution(start, now),
        "worst_topics": lambda: queries.worst_topics(start, now),
        "breached": lambda: queries.breached_items(start, now),
        "backlog": lambda: queries.backlog(now),
        "scores": lambda: queries.survey_scores(start, now),
        "sentiment": lambda: queries.sentiment_mix(start, now),
    }
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

        results[name] = (timed(part, repeat), timed(bare, repeat))
    db.session.execute(text("SELECT 1"))
    return results


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
