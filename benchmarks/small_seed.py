"""The benchmarks' data in plain Python, for SQLite (the smoke run of `run_all.py --quick`).

The PostgreSQL seeds are SQL over generate_series (a million rows in seconds); SQLite has none of
its functions, so the same shapes (40 people in 8 teams, three surveys, items over a year with about
6% open, spread times to first action and to close) are written here row by row. Small sizes only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert


def h(i: int, salt: int) -> int:
    """The seeds' cheap deterministic pseudo-random number in 0..999 (the SQL seed's h())."""
    return ((i * 2654435761 + salt * 40503) % 1000003) % 1000


def seed_people(password_hash: str) -> None:
    from vocloop.accounts.models import Team, User, team_members
    from vocloop.extensions import db

    now = datetime.now(UTC)
    db.session.execute(insert(Team), [{"id": t, "name": f"Team {t}", "created_at": now} for t in range(1, 9)])
    db.session.execute(insert(User), [
        {"id": u, "email": f"user{u}@bench.example", "name": f"User {u}", "password_hash": password_hash,
         "role": "admin" if u == 1 else "lead" if u % 5 == 2 else "owner", "active": True,
         "notify_new_items": "immediate", "created_at": now} for u in range(1, 41)])
    db.session.execute(insert(team_members), [{"team_id": 1 + u % 8, "user_id": u} for u in range(2, 41)])
    for team in range(1, 9):
        lead = min(u for u in range(2, 41) if 1 + u % 8 == team and u % 5 == 2)
        db.session.execute(Team.__table__.update().where(Team.id == team).values(lead_id=lead))


def seed_answers(items: int, comments: list[str] | None = None, with_items: bool = True) -> None:
    """Surveys, accounts, contacts, invitations, answered responses and (optionally) their items."""
    from vocloop.contacts.models import Account, Contact
    from vocloop.extensions import db
    from vocloop.items.models import FeedbackItem
    from vocloop.responses.models import Response
    from vocloop.surveys.models import Invitation, Survey

    now = datetime.now(UTC)
    contacts = max(1, items // 5)
    db.session.execute(insert(Survey), [
        {"id": s, "name": f"Survey {s}", "kind": kind, "question": "q", "comment_prompt": "c", "subject": "s",
         "intro": "", "quarantine_days": 90, "link_expiry_days": 30, "active": True, "created_at": now}
        for s, kind in ((1, "nps"), (2, "csat"), (3, "ces"))])
    db.session.execute(insert(Account), [{"id": a, "name": f"Account {a}", "annual_value": h(a, 9) * 200,
                                          "created_at": now} for a in range(1, 101)])
    db.session.execute(insert(Contact), [
        {"id": c, "email": f"c{c}@customer.example", "name": f"Customer {c}", "account_id": 1 + c % 100,
         "attributes": {}, "created_at": now} for c in range(1, contacts + 1)])
    opened = {i: now - timedelta(days=(items - i) * 365.0 / items) for i in range(1, items + 1)}
    db.session.execute(insert(Invitation), [
        {"id": i, "survey_id": 1 + i % 3, "contact_id": 1 + i % contacts, "token_hash": f"{i:064x}",
         "status": "delivered", "expires_at": now, "answered_at": opened[i], "created_at": opened[i]}
        for i in range(1, items + 1)])
    scale = {1: (0, 11), 2: (1, 5), 3: (1, 7)}
    db.session.execute(insert(Response), [
        {"id": i, "invitation_id": i, "survey_id": 1 + i % 3, "contact_id": 1 + i % contacts,
         "score": scale[1 + i % 3][0] + h(i, 2) % scale[1 + i % 3][1],
         "comment": comments[i % len(comments)] if comments else f"Comment number {i} about the invoice",
         "answered_at": opened[i], "completed_at": now, "processed_at": now,
         "sentiment_label": ("negative", "neutral", "positive")[h(i, 3) % 3],
         "topics": (["billing"], ["support"], ["bugs", "support"], [], ["pricing"], ["delivery"])[h(i, 4) % 6],
         "urgent": False, "urgency_flags": [], "sentiment_mismatch": False, "created_at": opened[i]}
        for i in range(1, items + 1)])
    if not with_items:
        return
    rows = []
    for i in range(1, items + 1):
        is_open, created, hours = h(i, 5) < 60, opened[i], 1 + h(i, 8) * h(i, 8) / 3000.0
        closed = None if is_open else created + timedelta(hours=hours)
        rows.append({
            "id": i, "response_id": i, "contact_id": 1 + i % contacts, "survey_id": 1 + i % 3,
            "owner_id": 2 + i % 39, "team_id": 1 + (2 + i % 39) % 8, "status": "open" if is_open else "closed",
            "priority": f"P{1 + h(i, 6) % 4}", "sentiment_label": ("negative", "neutral", "positive")[h(i, 3) % 3],
            "topics": [], "first_action_due_at": created + timedelta(hours=4),
            "close_due_at": created + timedelta(hours=48), "first_action_at": created + timedelta(minutes=1 + h(i, 7)),
            "closed_at": closed, "close_reason": None if is_open else "closing_message", "loop_closed_at": closed,
            "customer_verdict": "resolved" if h(i, 9) < 300 else None, "reopen_count": int(h(i, 10) < 40),
            "seconds_to_first_action": (1 + h(i, 7)) * 60, "seconds_to_close": None if is_open else int(hours * 3600),
            "business_seconds_to_first_action": (1 + h(i, 7)) * 40,
            "business_seconds_to_close": None if is_open else int(hours * 1200),
            "sla_breached_at": created + timedelta(hours=48) if hours > 48 else None,
            "created_at": created, "updated_at": now})
    db.session.execute(insert(FeedbackItem), rows)
