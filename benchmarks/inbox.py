"""Inbox figure: the first page of the inbox as the data grows, against its own SQL run bare.

Builds the data in SQL (generate_series): 40 owners in 8 teams, contacts, answers and items over a
year (about 6% still open, the rest closed), then times the inbox's first page as the web app serves
it (server time, through the Flask test client) for an owner's "Mine" tab, a lead's "Team" tab and
an admin's "Overdue" tab. Its floor, in the same run: every statement that page sent, recorded and
run bare on one driver connection (no ORM, no template), in turn with the page within each round
(a burst of load slows both alike). At each of --sizes items; the growth is the page's time at the
largest size over its time at the smallest (keyset pages and capped counts: flat).

    python benchmarks/inbox.py [--sizes 100k,300k,1M] [--database-url URL] [--repeat 20]

The last line printed is one JSON object of the figures. Goals: inbox_page_ratio_to_query (the worst
tab, largest size) <= 2; inbox_page_growth <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
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
)

# 40 people in 8 teams: user 1 is the admin, every fifth a lead (the metrics benchmark uses them too).
PEOPLE_SQL = """
INSERT INTO teams (id, name, created_at) SELECT t, 'Team ' || t, now() FROM generate_series(1, 8) t;
INSERT INTO users (id, email, name, role, password_hash, active, notify_new_items, created_at)
  SELECT u, 'user' || u || '@bench.example', 'User ' || u, CASE WHEN u = 1 THEN 'admin' WHEN u % 5 = 2 THEN 'lead'
         ELSE 'owner' END, :password, true, 'immediate', now() FROM generate_series(1, 40) u;
INSERT INTO team_members (team_id, user_id) SELECT 1 + (u % 8), u FROM generate_series(2, 40) u;
UPDATE teams SET lead_id = (SELECT min(user_id) FROM team_members m JOIN users x ON x.id = m.user_id
                             WHERE m.team_id = teams.id AND x.role = 'lead');
"""
SEED_SQL = PEOPLE_SQL + """
INSERT INTO surveys (id, name, kind, question, comment_prompt, subject, intro, quarantine_days, link_expiry_days,
                     active, created_at)
  SELECT s, 'Survey ' || s, 'nps', 'q', 'c', 's', '', 90, 30, true, now() FROM generate_series(1, 3) s;
INSERT INTO contacts (id, email, name, attributes, created_at)
  SELECT c, 'c' || c || '@customer.example', 'Customer ' || c, '{}', now() FROM generate_series(1, :contacts) c;
INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, created_at)
  SELECT i, 1 + i % 3, 1 + i % :contacts, md5(i::text) || md5((i * 7)::text), 'delivered', now(),
         now() - (i % 365) * interval '1 day' FROM generate_series(1, :items) i;
INSERT INTO responses (id, invitation_id, survey_id, contact_id, score, comment, answered_at, completed_at,
                       processed_at, sentiment_label, topics, urgent, created_at)
  SELECT i, i, 1 + i % 3, 1 + i % :contacts, i % 11, 'Comment number ' || i || ' about the invoice',
         now() - (i % 365) * interval '1 day', now(), now(),
         (ARRAY['negative', 'neutral', 'positive'])[1 + i % 3], '["billing"]', false,
         now() - (i % 365) * interval '1 day' FROM generate_series(1, :items) i;
INSERT INTO feedback_items (id, response_id, contact_id, survey_id, owner_id, team_id, status, priority,
                            first_action_due_at, close_due_at, closed_at, close_reason, loop_closed_at,
                            created_at, updated_at)
  SELECT i, i, 1 + i % :contacts, 1 + i % 3, 2 + i % 39, 1 + ((2 + i % 39) % 8),
         CASE WHEN i % 16 = 0 THEN 'open' ELSE 'closed' END, 'P' || (1 + i % 4),
         now() - (i % 365) * interval '1 day' + interval '4 hours',
         now() - (i % 365) * interval '1 day' + interval '48 hours',
         CASE WHEN i % 16 = 0 THEN NULL ELSE now() - (i % 365) * interval '1 day' + interval '20 hours' END,
         CASE WHEN i % 16 = 0 THEN NULL ELSE 'closing_message' END,
         CASE WHEN i % 16 = 0 THEN NULL ELSE now() - (i % 365) * interval '1 day' + interval '20 hours' END,
         now() - (i % 365) * interval '1 day', now() FROM generate_series(1, :items) i;
"""


TABS = (("owner_mine", "mine"), ("lead_team", "team"), ("admin_overdue", "overdue"))


def seed(url: str, items: int) -> float:
    """Seconds it took to write `items` items (and their people, answers and contacts)."""
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from vocloop.extensions import db

    started = time.perf_counter()
    password = generate_password_hash("bench password")
    if database_kind(url) == "postgresql":
        for statement in SEED_SQL.strip().split(";\n"):
            db.session.execute(text(statement), {"password": password, "contacts": max(1, items // 5),
                                                 "items": items})
    else:
        from benchmarks import small_seed

        small_seed.seed_people(password)
        small_seed.seed_answers(items)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if database_kind(url) == "postgresql" else "ANALYZE"))
    return round(time.perf_counter() - started, 1)  # VACUUM: what autovacuum keeps up in production


def measure(url: str, items: int, repeat: int, reuse: bool = False) -> dict:
    """One size: each tab's first page (median ms) and the same page's SQL run bare."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from vocloop import create_app
    from vocloop.extensions import db

    if not reuse:
        reset_database(url)
    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": None,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        if not reuse:
            keep_migrated(url)
        figures = {"seed_seconds": 0.0 if reuse else seed(url, items)}
        lead = db.session.scalar(text("SELECT min(lead_id) FROM teams"))
        emails = dict(db.session.execute(text("SELECT id, email FROM users WHERE id IN (1, 3, :lead)"),
                                         {"lead": lead}).all())
        engine = db.engine
        db.session.remove()
    users = {"owner_mine": emails[3], "lead_team": emails[lead], "admin_overdue": emails[1]}
    client = app.test_client()
    for label, tab in TABS:
        client.post("/login", data={"email": users[label], "password": "bench password"})
        assert client.get(f"/inbox/?tab={tab}").status_code == 200
        with recorded_sql(engine) as sent:
            client.get(f"/inbox/?tab={tab}")
        with app.app_context():  # the page and its statements run bare, in turn within each round
            page_ms, sql_ms, _ = page_and_floor_ms(lambda tab=tab: client.get(f"/inbox/?tab={tab}"), engine, sent,
                                                repeat)
        figures[f"first_page_{label}_ms"] = page_ms
        figures[f"bare_sql_{label}_ms"] = sql_ms
        figures[f"statements_{label}"] = len(sent)
        figures[f"ratio_{label}_to_query"] = round(page_ms / max(sql_ms, 0.01), 2)
        client.post("/logout")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,300k,1M", help="items at each size, comma-separated")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run (one size, no reseeding)")
    parser.add_argument("--database-url", default=os.environ.get("VOCLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    if args.reuse and len(sizes) > 1:
        parser.error("--reuse measures the data already there: give one size")

    by_size = {size: measure(args.database_url, size, args.repeat, args.reuse) for size in sizes}
    largest = by_size[sizes[-1]]
    figures = {"items": sizes[-1], "sizes": sizes, "database": database_kind(args.database_url)}
    for size in sizes:
        figures.update({f"{key}_at_{size}": value for key, value in by_size[size].items()})
    for label, _ in TABS:
        figures[f"first_page_{label}_ms"] = largest[f"first_page_{label}_ms"]
        figures[f"growth_{label}"] = growth({size: by_size[size][f"first_page_{label}_ms"] for size in sizes})
    worst = max((label for label, _ in TABS), key=lambda label: largest[f"ratio_{label}_to_query"])
    figures["inbox_page_ratio_to_query"] = largest[f"ratio_{worst}_to_query"]
    figures["inbox_page_ratio_worst_tab"] = worst
    figures["inbox_page_growth"] = max(figures[f"growth_{label}"] for label, _ in TABS)
    figures["inbox_page_ms_worst"] = max(largest[f"first_page_{label}_ms"] for label, _ in TABS)
    report(figures)


if __name__ == "__main__":
    main()
