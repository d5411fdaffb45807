"""Inbox figure: the first page of the inbox with 1,000,000 items on PostgreSQL.

Builds the data in SQL (generate_series): 40 owners in 8 teams, 200,000 contacts, 1,000,000
responses and items over a year (about 6% still open, the rest closed), then times the inbox's
first page as the web app serves it (server time, through the Flask test client) for an owner's
"Mine" tab, a lead's "Team" tab and an admin's "Overdue" tab, and the bare SQL of the page query.

    python benchmarks/inbox.py [--items 1000000] [--database-url URL] [--repeat 20]

The last line printed is one JSON object of the figures. Goal: first page under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dispatch import reset_database  # noqa: E402

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


def timed(function, repeat: int) -> float:
    """Median milliseconds of `repeat` calls, after one warm-up call."""
    function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get(
        "VOCLOOP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vocloop_bench"))
    args = parser.parse_args()
    reset_database(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from vocloop import create_app
    from vocloop.accounts.models import User
    from vocloop.extensions import db
    from vocloop.items.queries import inbox_items

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": args.database_url, "REDIS_URL": None,
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        for statement in SEED_SQL.strip().split(";\n"):
            db.session.execute(text(statement), {"password": generate_password_hash("bench password"),
                                                 "contacts": max(1, args.items // 5), "items": args.items})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        seed_seconds = round(time.perf_counter() - started, 1)
        owner, lead, admin = (db.session.get(User, 3), db.session.scalar(
            text("SELECT id FROM users WHERE role = 'lead' ORDER BY id LIMIT 1")), db.session.get(User, 1))
        lead = db.session.get(User, lead)
        sql_ms = timed(lambda: inbox_items(owner, "mine", limit=51), args.repeat)
        db.session.remove()

    figures = {"items": args.items, "seed_seconds": seed_seconds, "page_query_ms": sql_ms}
    client = app.test_client()
    for label, user, tab in (("owner_mine", owner, "mine"), ("lead_team", lead, "team"),
                             ("admin_overdue", admin, "overdue")):
        client.post("/login", data={"email": user.email, "password": "bench password"})
        response = client.get(f"/inbox/?tab={tab}")
        assert response.status_code == 200, response.status_code
        figures[f"first_page_{label}_ms"] = timed(lambda tab=tab: client.get(f"/inbox/?tab={tab}"), args.repeat)
        client.post("/logout")
    figures["ratio_owner_page_to_query"] = round(figures["first_page_owner_mine_ms"] / max(sql_ms, 0.01), 1)
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
