"""The bulk paths a large send writes and reads through (vocloop/db.py): rows in by COPY on PostgreSQL
(by INSERT ... RETURNING elsewhere) and id lists as one array parameter. Both databases must give the
same rows, ids, defaults and errors as the plain statements they replace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import IntegrityError

from vocloop.contacts.models import Contact
from vocloop.db import among, insert_rows, update_rows_by_id, utcnow
from vocloop.extensions import db
from vocloop.mail.models import Message


def test_rows_come_back_with_their_ids_in_order_their_values_and_the_columns_defaults(app):
    when = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)
    rows = [{"idempotency_key": f"bulk:{n}", "kind": "survey", "to_email": f"c{n}@example.com",
             "from_email": "us@example.com", "subject": "Tab\there, line\nthere, back\\slash, «é»",
             "sent_at": when + timedelta(minutes=n),
             "substitutions": {"-vl_name-": f"Ann {n}", "-quote-": 'say "hi"\n'}} for n in range(3)]
    ids = insert_rows(db.session, Message.__table__, rows)
    db.session.commit()

    assert ids == sorted(ids) and len(set(ids)) == 3
    stored = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids)))}
    for n, message_id in enumerate(ids):
        message = stored[message_id]
        assert message.idempotency_key == f"bulk:{n}" and message.to_email == f"c{n}@example.com"
        assert message.subject == rows[n]["subject"]
        assert message.sent_at == when + timedelta(minutes=n)
        assert message.substitutions == rows[n]["substitutions"]
        # not given: the model's defaults, as an INSERT through SQLAlchemy applies them
        assert (message.status, message.attempts, message.to_name, message.headers) == ("pending", 0, "", {})
        assert message.created_at <= utcnow() and message.reply_to is None


def test_rows_updated_by_id_take_their_own_values_and_the_shared_ones_as_written(app):
    """The re-classification's write (update_rows_by_id): each row its own values, JSON as JSON (None as
    JSON null, as SQLAlchemy writes it), times in UTC, and the values every row shares."""
    ids = insert_rows(db.session, Message.__table__, [
        {"idempotency_key": f"up:{n}", "kind": "survey", "to_email": f"c{n}@example.com",
         "from_email": "us@example.com", "subject": "before"} for n in range(3)])
    other = insert_rows(db.session, Message.__table__, [{"idempotency_key": "up:other", "kind": "survey",
                                                         "to_email": "o@example.com", "from_email": "us@example.com",
                                                         "subject": "untouched"}])
    when = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)
    values = [{"id": ids[0], "subject": 'Tab\there, "quoted", «é» 😀', "sent_at": when,
               "substitutions": {"-quote-": 'say "hi"\n', "list": [1, 2.5, None, "é"]}},
              {"id": ids[1], "subject": "", "sent_at": when + timedelta(hours=1), "substitutions": {}},
              {"id": ids[2], "subject": "third", "sent_at": when, "substitutions": None}]
    update_rows_by_id(db.session, Message.__table__, values, shared={"status": "sent", "event_at": when})
    db.session.commit()
    db.session.expire_all()

    stored = {m.id: m for m in db.session.scalars(select(Message))}
    for row in values:
        message = stored[row["id"]]
        assert (message.subject, message.sent_at, message.substitutions) == (
            row["subject"], row["sent_at"], row["substitutions"])
        assert (message.status, message.event_at) == ("sent", when)
    assert db.session.scalar(select(cast(Message.substitutions, Text)).where(Message.id == ids[2])) == "null"
    assert (stored[other[0]].subject, stored[other[0]].status, stored[other[0]].event_at) == (
        "untouched", "pending", None)


def test_a_duplicate_is_the_integrity_error_an_insert_raises_and_the_transaction_rolls_back(app):
    row = {"idempotency_key": "bulk:same", "kind": "survey", "to_email": "c@example.com",
           "from_email": "us@example.com", "subject": "Hello"}
    insert_rows(db.session, Message.__table__, [row])
    db.session.commit()

    with pytest.raises(IntegrityError):
        insert_rows(db.session, Message.__table__, [{**row, "idempotency_key": "bulk:new"}, row])
    db.session.rollback()
    assert db.session.scalars(select(Message.idempotency_key)).all() == ["bulk:same"]


def test_an_id_list_picks_exactly_those_rows_whatever_its_length(app):
    db.session.add_all([Contact(email=f"c{n}@example.com") for n in range(30)])
    db.session.commit()
    ids = sorted(db.session.scalars(select(Contact.id)))

    for wanted in ([], ids[:1], ids[::3], [*ids[5:9], 10**6]):
        found = db.session.scalars(select(Contact.id).where(among(db.session, Contact.id, wanted)))
        assert sorted(found) == [i for i in ids if i in wanted]
