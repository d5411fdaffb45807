"""What the customer did after an item's loop ended, stored on the item when it happens.

The loop effect (metrics/effect.py) compares the answer that opened an item with the customer's next
counted answer to the same survey given after the loop ended (the closing message accepted, the item
closed without one, or, for a loop not closed, the opening answer), and asks whether the first survey
sent to them after that was answered. Looked up per item at read time that was two index searches for
each item of a period (3 s at a million items); kept on the item, the figures are one scan of the
period's items, as the closure figures are.

`refresh(connection, contact_ids)` recomputes these facts for every item of the given contacts from
the stored answers and invitations, in two set-based UPDATEs (the same on SQLite and PostgreSQL; the
migration runs them over every item). Whatever changes one of its inputs calls it in the same
transaction: an answer counted or set aside (responses/counting.py), invitations sent
(surveys/service.py), an item created, closed, loop-closed or reopened, or an answer or invitation
changed through the ORM (the session hook below). A click that changes a counted one-click answer makes
it pending until it counts again (or is suspected), and the facts follow then: the answer path stays
one statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import bindparam, event, func, inspect, select, true, update
from sqlalchemy.orm import Session

from vocloop.db import among
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response
from vocloop.surveys.models import Invitation

COUNTED = "counted"  # responses/counting.py's COUNTED (counting imports this module)
CHUNK = 500  # contact ids per statement: well under SQLite's and PostgreSQL's parameter limits
FACTS = ("opening_score", "next_response_id", "next_answered_at", "next_score_change", "next_invitation_id",
         "next_invitation_answered_at")

items, responses, invitations = FeedbackItem.__table__, Response.__table__, Invitation.__table__


def _statements(where) -> tuple:
    """The two UPDATEs for the items matching `where`: first the ids (the searches), then the values read
    through those ids (primary-key look-ups)."""
    opening = responses.alias("opening")
    later = responses.alias("later")
    ended = func.coalesce(items.c.loop_closed_at, items.c.closed_at,
                          select(opening.c.answered_at).where(opening.c.id == items.c.response_id)
                          .correlate(items).scalar_subquery())
    next_response = (select(later.c.id)
                     .where(later.c.contact_id == items.c.contact_id, later.c.survey_id == items.c.survey_id,
                            later.c.answered_at > ended, later.c.status == COUNTED)
                     .order_by(later.c.answered_at, later.c.id).limit(1).scalar_subquery())
    next_invitation = (select(invitations.c.id)
                       .where(invitations.c.contact_id == items.c.contact_id, invitations.c.created_at > ended)
                       .order_by(invitations.c.created_at, invitations.c.id).limit(1).scalar_subquery())
    keep = {"updated_at": items.c.updated_at}  # derived facts: the item itself did not change
    searches = update(items).where(where).values(next_response_id=next_response, next_invitation_id=next_invitation,
                                                 **keep)
    opening, answer = responses.alias("opening"), responses.alias("answer")
    values = update(items).where(where).values(
        opening_score=select(opening.c.score).where(opening.c.id == items.c.response_id).scalar_subquery(),
        next_answered_at=select(answer.c.answered_at).where(answer.c.id == items.c.next_response_id)
        .scalar_subquery(),
        next_score_change=select(answer.c.score - opening.c.score)
        .where(answer.c.id == items.c.next_response_id, opening.c.id == items.c.response_id).scalar_subquery(),
        next_invitation_answered_at=select(invitations.c.answered_at)
        .where(invitations.c.id == items.c.next_invitation_id).scalar_subquery(), **keep)
    return searches, values


def refresh(connection, contact_ids: Iterable[int | None]) -> None:
    """Recompute the next-answer facts of these contacts' items, in the caller's transaction (a Session
    or a Connection); items of a session already loaded read the new facts on next access."""
    ids = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    session = connection if isinstance(connection, Session) else None
    if session is not None:
        connection = session.connection()  # Core statements, no autoflush: this also runs inside a flush
    if len(ids) > CHUNK:  # a survey sent to thousands: most of them have no item to refresh
        ids = sorted(connection.execute(select(items.c.contact_id).distinct()
                                        .where(among(connection, items.c.contact_id, ids))).scalars())
    for start in range(0, len(ids), CHUNK):
        for statement in _for_contacts():
            connection.execute(statement, {"contact_ids": ids[start:start + CHUNK]})
    if session is not None and ids:
        _expire(session, set(ids))


@cache
def _for_contacts() -> tuple:
    """The two UPDATEs for a list of contacts' items, built once: building them (aliases, subqueries)
    cost a comment's submit 40 % of its CPU, every time."""
    return _statements(items.c.contact_id.in_(bindparam("contact_ids", expanding=True)))


def refresh_all(connection) -> None:
    """Every item's facts: the migration's backfill, and data written in bulk by SQL (the benchmark's)."""
    for statement in _statements(true()):
        connection.execute(statement)


def _expire(session: Session, contact_ids: set[int]) -> None:
    """Items already loaded read their new facts on next access."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, FeedbackItem) and instance.contact_id in contact_ids:
            session.expire(instance, FACTS)


# What, changed through the ORM, moves an item's facts: when its loop ended, or which answers and
# invitations come after it.
_ITEM_INPUTS = ("closed_at", "loop_closed_at", "response_id", "contact_id", "survey_id")
_RESPONSE_INPUTS = ("status", "score", "answered_at", "contact_id", "survey_id")
_INVITATION_INPUTS = ("created_at", "answered_at", "contact_id")
_PENDING = "vocloop_next_answer_contacts"


def _changed(instance, names: tuple[str, ...]) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context, instances) -> None:
    pending = session.info.setdefault(_PENDING, set())
    for instance in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(instance, FeedbackItem):
            inputs = _ITEM_INPUTS
        elif isinstance(instance, Response):
            inputs = _RESPONSE_INPUTS
        elif isinstance(instance, Invitation):
            inputs = _INVITATION_INPUTS
        else:
            continue
        if instance in session.new or instance in session.deleted or _changed(instance, inputs):
            pending.add(instance.contact_id)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_noted(session: Session, flush_context) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        refresh(session, pending)

