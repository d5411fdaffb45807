"""The one-click answer: a score clicked in the email, stored before the page is drawn.

This is the busiest write in vocloop (a send of 50,000 invitations brings its clicks within
minutes), so the happy path is one statement on PostgreSQL: find the invitation by its link,
insert or change the response (never once completed), stamp the invitation answered, and bring
back the survey to draw the page with, in a single round trip and its own transaction. SQLite
runs the same clauses one after another in one transaction. Anything but the happy path (unknown,
expired or completed link, a score off the scale) is answered by service.record_score, the one
place that words those refusals, so both paths refuse alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vocloop.contacts.models import Contact
from vocloop.db import UTCDateTime, utcnow
from vocloop.extensions import db
from vocloop.responses import service
from vocloop.responses.models import Response
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import Invitation, Survey, behind_link

invitations, responses, surveys, contacts = Invitation.__table__, Response.__table__, Survey.__table__, \
    Contact.__table__
# Every kind's scale falls within this; a number outside it never reaches the database (where one past
# 32 bits would not even fit the parameter).
ANY_SCALE = range(min(kind.low for kind in KINDS.values()), max(kind.high for kind in KINDS.values()) + 1)


@dataclass(frozen=True)
class Click:
    """What the answer page needs after a click: the response, its survey's columns (a Row) and the
    contact's language."""

    response_id: int
    score: int
    survey: Any
    contact_language: str | None = None


def record_click(token: str, raw_score: str) -> Click:
    """Store the clicked score (a later click changes it, until the comment is sent)."""
    score = _as_int(raw_score)
    if score in ANY_SCALE:
        # Names no column has: Core reads an execute() key named like a column as a value to write.
        params = {"link_hash": service.link_hash(token), "clicked_score": score, "clicked_at": utcnow()}
        row = _one_statement(params) if db.engine.dialect.name == "postgresql" else _step_by_step(params)
        if row is not None:
            return Click(row.response_id, score, row, row.contact_language)
    # Refused: let the careful path say why (404, 410, 409, 422, or unsubscribed), with the same words as ever.
    invitation = service.find_invitation(token)
    response = service.record_score(invitation, raw_score)
    return Click(response.id, response.score, response.survey, invitation.contact.language)


def _as_int(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except (AttributeError, ValueError):
        return None


@cache
def _upsert_and_stamp(dialect: str):
    """The two writes of a click, built once (SQLAlchemy then caches their compiled SQL): the upsert of
    the response from the invitation behind the link, and the invitation's answered stamp."""
    now = bindparam("clicked_at", type_=UTCDateTime())
    score = bindparam("clicked_score", type_=Integer())
    low = case({code: kind.low for code, kind in KINDS.items()}, value=surveys.c.kind)
    high = case({code: kind.high for code, kind in KINDS.items()}, value=surveys.c.kind)
    answerable = (  # nothing is recorded for a contact who unsubscribed: the careful path says so
        select(invitations.c.id, invitations.c.survey_id, invitations.c.contact_id, score, now)
        .join(surveys, surveys.c.id == invitations.c.survey_id)
        .join(contacts, contacts.c.id == invitations.c.contact_id)
        .where(behind_link(bindparam("link_hash")), invitations.c.expires_at > now, score.between(low, high),
               contacts.c.unsubscribed_at.is_(None)))
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(responses).from_select(
        ["invitation_id", "survey_id", "contact_id", "score", "answered_at"], answerable, include_defaults=True)
    upsert = statement.on_conflict_do_update(
        index_elements=[responses.c.invitation_id],
        set_={"score": statement.excluded.score, "answered_at": statement.excluded.answered_at},
        where=responses.c.completed_at.is_(None),
    ).returning(responses.c.id, responses.c.invitation_id, responses.c.survey_id, responses.c.contact_id)

    def stamp(invitation_ids):
        return update(invitations).where(invitations.c.id.in_(invitation_ids), invitations.c.answered_at.is_(None)) \
            .values(answered_at=now)

    return upsert, stamp


@cache
def _click_statement():
    """PostgreSQL: both writes as data-modifying CTEs of the one statement that returns the survey."""
    upsert, stamp = _upsert_and_stamp("postgresql")
    answered = upsert.cte("answered")
    return (select(answered.c.id.label("response_id"), contacts.c.language.label("contact_language"), surveys)
            .join_from(answered, surveys, surveys.c.id == answered.c.survey_id)
            .join(contacts, contacts.c.id == answered.c.contact_id)
            .add_cte(stamp(select(answered.c.invitation_id)).cte("stamped")))


def _one_statement(params: dict):
    with db.engine.connect() as connection:
        return connection.execution_options(isolation_level="AUTOCOMMIT").execute(_click_statement(), params).first()


def _step_by_step(params: dict):
    """SQLite (no data-modifying CTEs): the same writes one after another in one transaction, and a
    row of the same shape as _one_statement's."""
    upsert, stamp = _upsert_and_stamp("sqlite")
    with db.engine.begin() as connection:
        answered = connection.execute(upsert, params).first()
        if answered is None:
            return None
        connection.execute(stamp([answered.invitation_id]), params)
        survey = connection.execute(select(surveys).where(surveys.c.id == answered.survey_id)).one()
        language = connection.scalar(select(contacts.c.language).where(contacts.c.id == answered.contact_id))
    return SimpleNamespace(response_id=answered.id, contact_language=language, **survey._mapping)
