"""Work a transaction leaves for after its commit (emails to relay, webhooks to post), kept in the
session: ready once the transaction commits, forgotten if it rolls back. One collector for every kind,
so the relay (jobs/queue.py, started after every request, job and command) never hands a job a row
that is not committed yet, and never forgets one that is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "vocloop.post_commit.pending"
_READY = "vocloop.post_commit.ready"


def add(session: Session, kind: str, rows: list[Any]) -> None:
    """Rows (objects or ids) of this transaction to hand to the relay once it commits."""
    session.info.setdefault(_PENDING, {}).setdefault(kind, []).extend(rows)


def take(session: Session, kind: str) -> list[Any]:
    """What committed transactions left of this kind since the last call."""
    return session.info.get(_READY, {}).pop(kind, [])


def anything_ready(session: Session) -> bool:
    return any(session.info.get(_READY, {}).values())


@event.listens_for(Session, "after_commit")
def _ready(session: Session) -> None:
    """Moves lists only: no attribute of a committed (expired) row may be read here."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        ready = session.info.setdefault(_READY, {})
        for kind, rows in pending.items():
            ready.setdefault(kind, []).extend(rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    session.info.pop(_PENDING, None)
