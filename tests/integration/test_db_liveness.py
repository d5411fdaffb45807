"""Connections the database server ended (a restart, a failover, an idle timeout) are found as a
request takes them from the pool, without asking the server each time (vocloop.db_liveness): the
customer's click after it is answered as ever."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import select

from tests.factories import make_contact, make_invitation, make_survey
from tests.integration.test_routing import needs_postgresql
from vocloop.extensions import db
from vocloop.responses.models import Response


def pooled_backend_pids() -> list[int]:
    """The server processes behind the idle connections in the app's pool."""
    return [record.dbapi_connection.info.backend_pid for record in list(db.engine.pool._pool.queue)
            if record.dbapi_connection is not None]


@needs_postgresql
def test_a_click_after_the_server_ended_the_pools_connections_is_answered(app, client, settings):
    survey = make_survey()
    ann, bob = (make_invitation(survey, make_contact(f"{name}@customer.example")) for name in ("ann", "bob"))
    assert client.get(f"/s/{ann}?score=9").status_code == 200
    db.session.remove()
    pids = pooled_backend_pids()
    assert pids, "the click's connection went back to the pool"
    with psycopg.connect(settings["DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
    time.sleep(0.2)  # the server's goodbye reaches the sockets

    page = client.get(f"/s/{bob}?score=7")
    assert page.status_code == 200 and "Your score of 7 is saved." in page.get_data(as_text=True)
    assert db.session.scalars(select(Response.score).order_by(Response.id)).all() == [9, 7]
    assert not set(pooled_backend_pids()) & set(pids), "no ended connection stays in the pool"


@needs_postgresql
def test_a_click_gives_its_connection_back_in_transactions_as_it_lent_it(app, client):
    """The click's statement commits on its own (autocommit on the driver); the connection it gives
    back must again run every other caller's statements in transactions that a rollback undoes."""
    survey = make_survey()
    ann = make_invitation(survey, make_contact("ann@customer.example"))
    db.session.remove()
    assert client.get(f"/s/{ann}?score=9").status_code == 200
    db.session.remove()
    assert pooled_backend_pids(), "the click's connection went back to the pool"
    lent = [db.engine.raw_connection() for _ in pooled_backend_pids()]
    try:
        assert all(connection.driver_connection.autocommit is False for connection in lent)
    finally:
        for connection in lent:
            connection.close()

    db.session.execute(Response.__table__.update().values(score=0))
    db.session.rollback()
    assert db.session.scalars(select(Response.score)).all() == [9], "the rollback undid the change"
