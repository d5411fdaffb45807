"""The one-click answer: a score clicked in the email, stored before the page is drawn.

This is the busiest write in vocloop (a send of 50,000 invitations brings its clicks within
minutes), so the happy path is one statement on PostgreSQL: find the invitation by its link,
insert or change the response (never once completed) with the signals of this fetch merged into
those before it, and bring back the survey to draw the page with, in a single round trip and its
own transaction. SQLite runs the same clauses one after another in one transaction.

A click only records a `pending` answer: mail scanners fetch links too (vocloop.responses.scanners).
It counts once a person shows themselves, or when the sweep finds it settled without a sign of a
scanner (vocloop.responses.counting). A fetch more than BURST_SECONDS after the one before starts
the evaluation afresh, so the person's own click an hour after a scanner's is judged on its own.

Anything but the happy path (unknown, expired or completed link, a score off the scale) is
answered by service.record_score, the one place that words those refusals, so both paths refuse
alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Integer, and_, bindparam, case, literal, null, or_, select, update

from vocloop.contacts.models import Contact
from vocloop.db import UTCDateTime, insert_on_conflict, utcnow
from vocloop.extensions import db
from vocloop.responses import scanners, service
from vocloop.responses.counting import COUNTED, PENDING
from vocloop.responses.models import Response
from vocloop.responses.scanners import ALL_LINKS, AT_DELIVERY, BURST_SECONDS, DELIVERY_SECONDS, HEAD_FIRST, HEAD_SECONDS
from vocloop.surveys.kinds import KINDS
from vocloop.surveys.models import Invitation, Survey, behind_link

invitations, responses, surveys, contacts = Invitation.__table__, Response.__table__, Survey.__table__, \
    Contact.__table__
# What the page a click opens shows of its survey (vocloop.responses.views._click_page); fewer columns
# than the whole survey make the busiest statement's result cheaper to read.
PAGE_COLUMNS = (surveys.c.id, surveys.c.kind, surveys.c.language, surveys.c.subject, surveys.c.question,
                surveys.c.comment_prompt, surveys.c.followups, surveys.c.brand_color, surveys.c.logo_url)
# Every kind's scale falls within this; a number outside it never reaches the database (where one past
# 32 bits would not even fit the parameter).
ANY_SCALE = range(min(kind.low for kind in KINDS.values()), max(kind.high for kind in KINDS.values()) + 1)


@dataclass(frozen=True)
class Click:
    """What the answer page needs after a click: the response, its survey's columns (a Row), the
    contact's language, and whether the answer counts yet and what its fetches looked like."""

    response_id: int
    score: int
    survey: Any
    contact_language: str | None = None
    status: str = PENDING
    signals: int = 0

    @property
    def ask_to_confirm(self) -> bool:
        """The page asks once ("Is 3 your answer?") where a scanner's signs showed and no person yet."""
        return self.status != COUNTED and self.signals != 0


def record_click(token: str, raw_score: str, address: str | None = None, user_agent: str | None = None) -> Click:
    """Store the clicked score (a later click changes it, until the comment is sent) as a pending answer."""
    score = service.score_number(raw_score)
    signals = scanners.request_signals(address, user_agent)
    if score in ANY_SCALE:
        now = utcnow()
        # Names no column has: Core reads an execute() key named like a column as a value to write.
        params = {"link_hash": service.link_hash(token), "clicked_score": score, "clicked_at": now,
                  "fetch_signals": signals, "delivery_cutoff": now - timedelta(seconds=DELIVERY_SECONDS),
                  "head_cutoff": now - timedelta(seconds=HEAD_SECONDS),
                  "burst_cutoff": now - timedelta(seconds=BURST_SECONDS)}
        row = _one_statement(params) if db.engine.dialect.name == "postgresql" else _step_by_step(params)
        if row is not None:
            return Click(row.response_id, score, row, row.contact_language, row.answer_status, row.answer_signals)
    # Refused: let the careful path say why (404, 410, 409, 422, or unsubscribed), with the same words as ever.
    invitation = service.find_invitation(token)
    response = service.record_score(invitation, raw_score, signals)
    return Click(response.id, response.score, response.survey, invitation.contact.language, response.status,
                 response.signals)


@cache
def _upsert(dialect: str):
    """The write of a click, built once (SQLAlchemy then caches its compiled SQL): the upsert of the
    response from the invitation behind the link, with this fetch's signals."""
    now = bindparam("clicked_at", type_=UTCDateTime())
    score = bindparam("clicked_score", type_=Integer())
    low = case({code: kind.low for code, kind in KINDS.items()}, value=surveys.c.kind)
    high = case({code: kind.high for code, kind in KINDS.items()}, value=surveys.c.kind)
    delivery_cutoff = bindparam("delivery_cutoff", type_=UTCDateTime())  # the email or its reminder just sent
    signals = (bindparam("fetch_signals", type_=Integer())
               + case((or_(invitations.c.sent_at >= delivery_cutoff, invitations.c.reminded_at >= delivery_cutoff),
                       AT_DELIVERY), else_=0)
               + case((invitations.c.head_at >= bindparam("head_cutoff", type_=UTCDateTime()), HEAD_FIRST), else_=0))
    answerable = (  # nothing is recorded for a contact who unsubscribed: the careful path says so
        select(invitations.c.id, invitations.c.survey_id, invitations.c.contact_id, score, now, literal(PENDING),
               signals)
        .join(surveys, surveys.c.id == invitations.c.survey_id)
        .join(contacts, contacts.c.id == invitations.c.contact_id)
        .where(behind_link(bindparam("link_hash")), invitations.c.expires_at > now, score.between(low, high),
               contacts.c.unsubscribed_at.is_(None)))
    statement = insert_on_conflict(dialect)(responses).from_select(
        ["invitation_id", "survey_id", "contact_id", "score", "answered_at", "status", "signals"], answerable,
        include_defaults=True)
    new = statement.excluded
    merged = responses.c.signals.op("|")(new.signals)
    still_counted = and_(responses.c.status == COUNTED, responses.c.score == new.score)  # the same person again
    return statement.on_conflict_do_update(
        index_elements=[responses.c.invitation_id],
        set_={"score": new.score, "answered_at": new.answered_at,
              "signals": case((responses.c.answered_at < bindparam("burst_cutoff", type_=UTCDateTime()), new.signals),
                              (responses.c.score != new.score, merged.op("|")(ALL_LINKS)), else_=merged),
              "status": case((still_counted, COUNTED), else_=PENDING),
              "counted_by": case((still_counted, responses.c.counted_by), else_=null()),
              "counted_at": case((still_counted, responses.c.counted_at), else_=null())},
        where=responses.c.completed_at.is_(None),
    ).returning(responses.c.id, responses.c.survey_id, responses.c.contact_id, responses.c.status,
                responses.c.signals)


@cache
def _click_statement():
    """PostgreSQL: the upsert as a data-modifying CTE of the one statement that returns the survey."""
    answered = _upsert("postgresql").cte("answered")
    return (select(answered.c.id.label("response_id"), answered.c.status.label("answer_status"),
                   answered.c.signals.label("answer_signals"), contacts.c.language.label("contact_language"),
                   *PAGE_COLUMNS)
            .join_from(answered, surveys, surveys.c.id == answered.c.survey_id)
            .join(contacts, contacts.c.id == answered.c.contact_id))


def _one_statement(params: dict):
    """The click statement on the driver itself: SQLAlchemy's work around one execution (its execution
    context, result metadata and per-parameter processing) cost the click as much CPU as the driver's
    own, so SQLAlchemy compiles the statement once (DriverStatement) and the pool lends the connection.

    The statement is its own transaction (autocommit), set on the driver and unset before the
    connection goes back: SQLAlchemy's isolation-level option does the same with a reset on return
    that cost the click 25 us of CPU more."""
    statement = _driver_statement(db.engine.dialect)
    pooled = db.engine.raw_connection()
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        with driver.cursor(row_factory=namedtuple_row) as cursor:
            return cursor.execute(statement.sql, statement.values(params)).fetchone()
    except psycopg.OperationalError:
        if driver.closed or driver.broken:  # as SQLAlchemy would: never back to the pool
            pooled.invalidate()
        raise
    finally:
        if not (driver.closed or driver.broken):
            driver.autocommit = False  # as the pool lends it to everyone else
        pooled.close()


class DriverStatement:
    """A Core statement compiled once for the driver, with the parameters a call must bring made ready
    the way SQLAlchemy would (each bind's own type processor; column defaults the statement includes)."""

    def __init__(self, statement, dialect):
        self.compiled = statement.compile(dialect=dialect)
        self.sql = self.compiled.string
        self.defaults = [(column.key, column.default) for column in self.compiled.insert_prefetch]
        self.processors = {name: processor for name, bind in self.compiled.binds.items()
                           if (processor := bind.type.bind_processor(dialect)) is not None}

    def values(self, params: dict) -> dict:
        values = self.compiled.construct_params(params)
        for key, default in self.defaults:
            values[key] = default.arg(None) if default.is_callable else default.arg
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        return values


@cache
def _driver_statement(dialect) -> DriverStatement:
    return DriverStatement(_click_statement(), dialect)


def _step_by_step(params: dict):
    """SQLite (no data-modifying CTEs): the same write, then the survey, in one transaction, and a row
    of the same shape as _one_statement's."""
    with db.engine.begin() as connection:
        answered = connection.execute(_upsert("sqlite"), params).first()
        if answered is None:
            return None
        survey = connection.execute(select(*PAGE_COLUMNS).where(surveys.c.id == answered.survey_id)).one()
        language = connection.scalar(select(contacts.c.language).where(contacts.c.id == answered.contact_id))
    return SimpleNamespace(response_id=answered.id, contact_language=language, answer_status=answered.status,
                           answer_signals=answered.signals, **survey._mapping)


def note_head(token: str) -> None:
    """A HEAD on a survey link records no answer, only that one came (a sign of a scanner)."""
    with db.engine.begin() as connection:
        connection.execute(update(invitations).where(behind_link(service.link_hash(token)))
                           .values(head_at=utcnow()))
