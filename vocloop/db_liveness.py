"""Whether a pooled PostgreSQL connection is still alive, checked as a request takes it.

`pool_pre_ping` asks the server (SELECT 1) each time a connection leaves the pool: a round trip and
a statement on both sides for every request, as much again as a click's own write. A server that
restarts, or ends a connection for any reason, says so first (a FATAL message, then it closes the
socket), so an idle connection with anything to read is a dead one. Looking at the socket without
waiting finds it with no round trip, as redis-py does for its pool; the pool then drops it and
takes or opens another. A connection cut off in silence (no reset reaches us) still fails its
statement, and SQLAlchemy then discards the whole pool, as it did before.
"""

from __future__ import annotations

import select

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError


def is_dead(dbapi_connection) -> bool:
    """Closed, broken, or something to read while idle (the server's goodbye, or end of file)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # no socket any more
        return True
    return bool(readable)


def check_on_checkout(engine: Engine) -> None:
    """Replace pre-ping for this engine: a dead connection raises DisconnectionError, which makes the
    pool discard it and try the next (SQLAlchemy's documented pessimistic check)."""

    @event.listens_for(engine, "checkout")
    def checkout(dbapi_connection, _record, _proxy):
        if is_dead(dbapi_connection):
            raise DisconnectionError("the server closed this connection")
