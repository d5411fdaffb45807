"""The SLA clock of an item: paused while it waits on the customer (issue #23)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import (
    PASSWORD,
    answer,
    api_token,
    csrf_from,
    login,
    make_contact,
    make_invitation,
    make_survey,
    make_user,
)
from vocloop.accounts.models import User
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items import service as items
from vocloop.items.models import FeedbackItem
from vocloop.items.sla_watch import watch_sla
from vocloop.jobs.tasks import deliver_messages
from vocloop.mail import outbox
from vocloop.metrics import queries as metrics
from vocloop.routing import sla
from vocloop.routing.service import create_rule

NOTHING = {"warned": 0, "first_action_missed": 0, "breached": 0, "escalated": 0}


@pytest.fixture
def item_of_dana(app, client, drain):
    make_user("admin@example.com", role="admin")
    dana = make_user("dana@example.com", name="Dana", team="Support")
    create_rule(name="to Dana", action="user", user_id=dana.id)
    answer(client, make_invitation(make_survey(), make_contact("ann@customer.example", name="Ann")), 2, "Still broken")
    drain()
    return db.session.scalar(select(FeedbackItem)), dana


def at(monkeypatch, moment):
    """The service's clock reads `moment` (pages and API run in this process)."""
    monkeypatch.setattr(items, "utcnow", lambda: moment)


def fresh(item_id):
    db.session.rollback()
    return db.session.get(FeedbackItem, item_id)


def set_status_on_the_page(client, item_id, status):
    page = client.get(f"/inbox/items/{item_id}").get_data(as_text=True)
    return client.post(f"/inbox/items/{item_id}/status",
                       data={"status-csrf_token": csrf_from(page), "status-status": status})


def test_waiting_on_the_customer_pauses_the_sla_and_moves_the_due_times_by_the_wait(app, client, item_of_dana,
                                                                                      monkeypatch):
    item, dana = item_of_dana
    first_due, close_due = item.first_action_due_at, item.close_due_at
    paused = item.created_at + timedelta(hours=1)
    at(monkeypatch, paused)
    login(client, "dana@example.com", PASSWORD)
    assert set_status_on_the_page(client, item.id, "waiting").status_code == 303
    item = fresh(item.id)
    assert item.sla_paused_at == paused and item.close_due_at == close_due

    page = client.get(f"/inbox/items/{item.id}").get_data(as_text=True)
    assert "SLA paused while waiting on the customer since" in page and f"{paused:%Y-%m-%d %H:%M}" in page
    api = client.get(f"/api/v1/items/{item.id}", headers=api_token(dana)).json
    assert api["sla_paused_at"].startswith(paused.isoformat()[:19]) and api["status"] == "waiting"

    # Long past the deadline, still waiting: no warning, no breach, not overdue anywhere.
    long_after = close_due + timedelta(days=3)
    assert watch_sla(long_after) == NOTHING
    assert metrics.backlog(long_after)["overdue"] == 0
    monkeypatch.setattr("vocloop.items.queries.utcnow", lambda: long_after)
    link = f'href="/inbox/items/{item.id}"'
    assert link in client.get("/inbox/?tab=waiting").get_data(as_text=True)
    assert link not in client.get("/inbox/?tab=overdue").get_data(as_text=True)

    # Dana moves it on three days and two hours later: both deadlines move by exactly that wait.
    resumed = paused + timedelta(days=3, hours=2)
    at(monkeypatch, resumed)
    assert client.patch(f"/api/v1/items/{item.id}", headers=api_token(dana),
                        json={"status": "in_progress"}).json["sla_paused_at"] is None
    item = fresh(item.id)
    waited = resumed - paused
    assert item.close_due_at == close_due + waited and item.sla_paused_at is None
    assert item.first_action_due_at == first_due  # Dana acted (set the status) before it was due: history
    resumed_event = item.events[-1]
    assert resumed_event.kind == "sla_resumed" and "74 hours waiting on the customer" in resumed_event.body
    kinds = [event.kind for event in item.events]
    assert kinds.index("sla_paused") < kinds.index("sla_resumed")
    events = client.get(f"/api/v1/items/{item.id}/events", headers=api_token(dana)).json
    assert [e["kind"] for e in events if e["kind"].startswith("sla_")] == ["sla_paused", "sla_resumed"]
    assert {event.actor_id for event in item.events if event.kind.startswith("sla_")} == {dana.id}  # Dana did both

    # The clock runs again from where it stopped: the breach comes at the moved deadline, not before.
    assert watch_sla(close_due + timedelta(hours=1))["breached"] == 0
    assert watch_sla(item.close_due_at + timedelta(minutes=1))["breached"] == 1


def test_an_item_already_late_when_it_starts_waiting_stays_overdue(app, client, item_of_dana, monkeypatch):
    item, dana = item_of_dana
    close_due = item.close_due_at
    # Overdue from the minute its closing message is late, not before.
    assert metrics.backlog(close_due - timedelta(minutes=1))["overdue"] == 0
    assert metrics.backlog(close_due + timedelta(minutes=1))["overdue"] == 1

    # Dana starts waiting on Ann an hour too late: the wait pauses the clock, it does not hide the delay.
    at(monkeypatch, close_due + timedelta(hours=1))
    items.set_status(dana, item, "waiting")
    days_later = close_due + timedelta(days=3)
    assert metrics.backlog(days_later)["overdue"] == 1
    monkeypatch.setattr("vocloop.items.queries.utcnow", lambda: days_later)
    login(client, "dana@example.com", PASSWORD)
    assert f'href="/inbox/items/{item.id}"' in client.get("/inbox/?tab=overdue").get_data(as_text=True)


def test_a_customer_reply_ends_the_wait_and_closing_counts_the_wait_out(app, client, item_of_dana, monkeypatch):
    item, dana = item_of_dana
    close_due = item.close_due_at
    paused = item.created_at + timedelta(minutes=30)
    at(monkeypatch, paused)
    items.set_status(dana, item, "waiting")
    at(monkeypatch, paused + timedelta(hours=10))
    items.record_customer_reply(fresh(item.id), "Here is the invoice number you asked for.", "ann@customer.example")
    db.session.commit()
    item = fresh(item.id)
    assert item.status == "in_progress" and item.sla_paused_at is None
    assert item.close_due_at == close_due + timedelta(hours=10)
    events = client.get(f"/api/v1/items/{item.id}/events", headers=api_token(dana)).json
    assert [(e["kind"], e["actor_id"], e["body"], e["data"]) for e in events if e["kind"] == "status"][-1] == (
        "status", None, "Status waiting → in progress (the customer replied).",
        {"to": "in_progress", "why": "customer_replied"})

    # Waiting again, then closed while waiting: the second wait counts out too, and the loop closed in time.
    at(monkeypatch, paused + timedelta(hours=11))
    items.set_status(dana, item, "waiting")
    at(monkeypatch, paused + timedelta(hours=11 + 30))
    items.close_without_message(dana, fresh(item.id), "no_action_needed")
    item = fresh(item.id)
    assert item.close_due_at == close_due + timedelta(hours=40) and item.sla_paused_at is None


def test_closing_with_a_message_while_waiting_counts_the_wait_out_and_the_loop_closes_in_time(
        app, client, item_of_dana, monkeypatch):
    """Ann answered on the phone while the item waited on her, and Dana closes it with a message an hour
    past the first deadline: the wait does not count against her. The deadline moves by the wait, the
    timeline says so in her name, and once the provider takes the message the loop closed in time."""
    item, dana = item_of_dana
    close_due = item.close_due_at
    paused = item.created_at + timedelta(minutes=30)
    at(monkeypatch, paused)
    items.set_status(dana, item, "waiting")
    closing = close_due + timedelta(hours=1)
    at(monkeypatch, closing)
    items.close_with_message(dana, fresh(item.id), "Hi Ann, as we said on the phone: it is fixed.")
    item = fresh(item.id)
    assert (item.status, item.closed_at, item.sla_paused_at) == ("closed", closing, None)
    assert item.close_due_at == close_due + (closing - paused)
    events = client.get(f"/api/v1/items/{item.id}/events", headers=api_token(dana)).json
    assert [(e["kind"], e["actor_id"]) for e in events if e["kind"] in ("sla_resumed", "closed")] == [
        ("sla_resumed", dana.id), ("closed", dana.id)]
    deliver_messages(outbox.take_queued_ids())
    assert fresh(item.id).loop_closed_in_sla is True


def test_on_business_hours_a_weekend_spent_waiting_moves_nothing_and_working_hours_count(app, item_of_dana,
                                                                                          monkeypatch):
    item, dana = item_of_dana
    sla.update_policy(item.priority, first_action_hours=4, close_hours=16, business_hours=True)
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # a Friday, 16:00; the calendar is 09-17 UTC, Mon-Fri
    item.close_due_at = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # late on a Tuesday: the wait carries over the night
    db.session.commit()
    at(monkeypatch, friday)
    items.set_status(dana, item, "waiting")
    at(monkeypatch, datetime(2026, 12, 7, 10, 30, tzinfo=UTC))  # Monday 10:30: 1 h Friday + 1.5 h Monday
    items.set_status(dana, fresh(item.id), "in_progress")
    item = fresh(item.id)
    assert item.close_due_at == datetime(2026, 12, 9, 10, 30, tzinfo=UTC)  # 1 h Tuesday, 1.5 h Wednesday
    assert item.events[-1].data["clock"] == "business" and item.events[-1].data["waited_hours"] == 2.5


def test_a_short_wait_moves_the_deadline_by_its_minutes_and_a_night_spent_waiting_moves_nothing(app, item_of_dana,
                                                                                                monkeypatch):
    item, dana = item_of_dana
    close_due = item.close_due_at
    paused = item.created_at + timedelta(hours=1)
    at(monkeypatch, paused)
    items.set_status(dana, item, "waiting")
    at(monkeypatch, paused + timedelta(minutes=20))
    items.set_status(dana, fresh(item.id), "in_progress")
    assert fresh(item.id).close_due_at == close_due + timedelta(minutes=20)

    # On working hours, a closing message due at 17:00 sharp stays due then after a wait from 18:00 to 08:00.
    sla.update_policy(item.priority, first_action_hours=4, close_hours=16, business_hours=True)
    item = fresh(item.id)
    item.close_due_at = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)  # a Tuesday; the calendar is 09-17 UTC, Mon-Fri
    db.session.commit()
    at(monkeypatch, datetime(2026, 12, 8, 18, 0, tzinfo=UTC))
    items.set_status(dana, item, "waiting")
    at(monkeypatch, datetime(2026, 12, 9, 8, 0, tzinfo=UTC))
    items.set_status(dana, fresh(item.id), "in_progress")
    assert fresh(item.id).close_due_at == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)


def test_waiting_set_by_an_admin_before_the_owner_acted_moves_the_first_action_deadline_too(app, item_of_dana,
                                                                                             monkeypatch):
    item, dana = item_of_dana
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    first_due, close_due = item.first_action_due_at, item.close_due_at
    paused = item.created_at + timedelta(minutes=10)
    at(monkeypatch, paused)
    items.set_status(admin, item, "waiting")  # not Dana's first action: her clock for it stops too
    at(monkeypatch, paused + timedelta(hours=10))
    items.set_status(admin, fresh(item.id), "in_progress")
    item = fresh(item.id)
    assert item.first_action_at is None
    assert (item.first_action_due_at, item.close_due_at) == (first_due + timedelta(hours=10),
                                                             close_due + timedelta(hours=10))
    assert watch_sla(first_due + timedelta(minutes=1))["first_action_missed"] == 0


def test_on_business_hours_the_first_action_deadline_moves_by_the_working_hours_waited(app, item_of_dana,
                                                                                      monkeypatch):
    item, dana = item_of_dana
    admin = db.session.scalar(select(User).where(User.email == "admin@example.com"))
    sla.update_policy(item.priority, first_action_hours=4, close_hours=16, business_hours=True)
    item.first_action_due_at = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # late on a Tuesday (09-17 UTC, Mon-Fri)
    item.close_due_at = datetime(2026, 12, 9, 16, 0, tzinfo=UTC)
    db.session.commit()
    at(monkeypatch, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))
    items.set_status(admin, item, "waiting")
    at(monkeypatch, datetime(2026, 12, 8, 12, 30, tzinfo=UTC))  # 2.5 working hours later
    items.set_status(admin, fresh(item.id), "in_progress")
    item = fresh(item.id)
    assert item.first_action_due_at == datetime(2026, 12, 9, 10, 30, tzinfo=UTC)  # 1 h Tuesday, 1.5 h Wednesday
    assert item.close_due_at == datetime(2026, 12, 10, 10, 30, tzinfo=UTC)


def test_a_hand_over_keeps_the_clock_paused(app, item_of_dana, monkeypatch):
    item, dana = item_of_dana
    lee = make_user("lee@example.com", name="Lee", team="Support")
    at(monkeypatch, utcnow())
    items.set_status(dana, item, "waiting")
    items.reassign(dana, fresh(item.id), lee.id, "Ann sends the invoice on Monday.")
    assert fresh(item.id).sla_paused_at is not None


# A reopen starts a new clock; the old one's breach stays in history and in the metrics.

def test_a_reopened_item_gets_new_due_times_and_its_earlier_breach_stays_counted(app, client, item_of_dana, sendgrid,
                                                                                  monkeypatch):
    item, dana = item_of_dana
    for name in ("created_at", "first_action_due_at", "close_due_at"):  # opened three days ago, never acted on
        setattr(item, name, getattr(item, name) - timedelta(days=3))
    db.session.commit()
    now = utcnow()
    assert watch_sla(now) == {"warned": 0, "first_action_missed": 1, "breached": 1, "escalated": 0}
    breached_at = fresh(item.id).sla_breached_at
    items.close_with_message(dana, fresh(item.id), "Hi Ann, sorry for the wait: it is fixed.")
    deliver_messages(outbox.take_queued_ids())
    late = fresh(item.id)
    assert late.loop_closed_at > late.close_due_at and late.loop_closed_in_sla is False
    seconds_to_first_action = late.seconds_to_first_action

    period = (late.created_at - timedelta(days=1), now + timedelta(days=1))
    def counted():
        return (metrics.closure(*period)["closed_within_sla_rate"],
                [row["id"] for row in metrics.breached_items(*period)["items"]])
    assert counted() == (0.0, [item.id])

    reopened_at = now + timedelta(minutes=5)
    at(monkeypatch, reopened_at)
    items.record_customer_reply(late, "It is not fixed, the invoice is still wrong.", "ann@customer.example")
    db.session.commit()
    item = fresh(item.id)
    assert item.status == "in_progress" and item.reopen_count == 1
    assert (item.first_action_due_at, item.close_due_at) == sla.due_times(item.priority, reopened_at)
    assert item.sla_started_at == reopened_at and item.first_action_at is None
    assert (item.sla_breached_at, item.first_action_breached_at, item.sla_warned_at) == (None, None, None)
    assert item.first_breached_at == breached_at

    reopen = [event for event in item.events if event.kind == "reopened"][-1]
    assert reopen.body.endswith(" UTC. The earlier closing-message deadline was missed.")
    assert reopen.data["earlier"]["sla_breached_at"] == breached_at.isoformat()
    headers = api_token(dana)
    api = client.get(f"/api/v1/items/{item.id}", headers=headers).json
    assert api["sla_breached_at"] is None and api["first_breached_at"].startswith(breached_at.isoformat()[:19])
    kinds = [event["kind"] for event in client.get(f"/api/v1/items/{item.id}/events", headers=headers).json]
    assert kinds.index("sla_breached") < kinds.index("reopened")
    login(client, "dana@example.com", PASSWORD)
    assert "Missed its closing-message deadline on" in client.get(f"/inbox/items/{item.id}").get_data(as_text=True)

    # The metrics still count the late closure and the breach, for the items opened when it happened.
    assert counted() == (0.0, [item.id])

    # The new clock warns and breaches on its own schedule, once each, and the first breach stays first.
    window = item.close_due_at - reopened_at
    assert watch_sla(reopened_at + window * 0.5)["warned"] == 0
    assert watch_sla(reopened_at + window * 0.8)["warned"] == 1
    assert watch_sla(item.close_due_at + timedelta(minutes=1))["breached"] == 1
    item = fresh(item.id)
    assert [event.kind for event in item.events].count("sla_breached") == 2 and item.first_breached_at == breached_at

    # Acting again sets the new clock's first action; the time to first action (a metric) stays the first.
    items.add_note(dana, item, "Called Ann, the refund goes out today.")
    item = fresh(item.id)
    assert item.first_action_at == reopened_at and item.seconds_to_first_action == seconds_to_first_action
