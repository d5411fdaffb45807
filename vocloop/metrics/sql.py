"""The few SQL pieces that differ between SQLite and PostgreSQL, each compiled for both so a
metric has one definition and the same result on either database."""

from __future__ import annotations

import weakref

from flask import current_app
from sqlalchemy import func, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from vocloop.extensions import db


class _PeriodStart(FunctionElement):
    """The first day (UTC) of a timestamp's day, week (Monday) or month: a date on PostgreSQL,
    YYYY-MM-DD text on SQLite; period_key gives both as the text. One subclass per unit, so that
    SQLAlchemy's statement cache (keyed on the class) never hands a week's SQL to a month."""

    inherit_cache = True
    unit = "day"


class _DayStart(_PeriodStart):
    inherit_cache = True
    unit = "day"


class _WeekStart(_PeriodStart):
    inherit_cache = True
    unit = "week"


class _MonthStart(_PeriodStart):
    inherit_cache = True
    unit = "month"


_PERIODS = {"day": _DayStart, "week": _WeekStart, "month": _MonthStart}


def period_start(column, unit: str) -> _PeriodStart:
    if unit not in _PERIODS:
        raise ValueError("unit must be day, week or month")
    return _PERIODS[unit](column)


@compiles(_PeriodStart, "postgresql")
def _pg_period(element, compiler, **kw):
    # A date, not text: grouping by it is cheaper than formatting every row (period_key formats it).
    return f"CAST(DATE_TRUNC('{element.unit}', {compiler.process(list(element.clauses)[0], **kw)}) AS DATE)"


@compiles(_PeriodStart, "sqlite")
def _sqlite_period(element, compiler, **kw):
    column = compiler.process(list(element.clauses)[0], **kw)
    if element.unit == "day":
        return f"DATE({column})"
    if element.unit == "month":
        return f"DATE({column}, 'start of month')"
    return f"DATE({column}, '-6 days', 'weekday 1')"


class nearest_ranks(FunctionElement):  # noqa: N801
    """The median and p90 by nearest rank (the ⌈n/2⌉-th and ⌈0.9·n⌉-th smallest value of the group,
    NULLs ignored) in one sort: PostgreSQL's percentile_disc over an array of fractions.

    percentile_disc computes ceil(fraction * n) in floating point, where 0.9 * 70 is 63.000000001
    and would pick the 64th value; a fraction a hair below the exact one gives the true ⌈0.9·n⌉ for
    any n below 10^8 (0.9·n is either whole or at least 0.1 above the whole number below it).
    """

    inherit_cache = True
    FRACTIONS = (0.5, 0.9)


@compiles(nearest_ranks, "postgresql")
def _pg_nearest_ranks(element, compiler, **kw):
    fractions = ", ".join(repr(fraction - 1e-9) for fraction in element.FRACTIONS)
    return (f"percentile_disc(ARRAY[{fractions}]) WITHIN GROUP "
            f"(ORDER BY {compiler.process(list(element.clauses)[0], **kw)})")


def period_key(value) -> str | None:
    """A period_start value as YYYY-MM-DD text, whichever database returned it."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def week_start(column) -> _PeriodStart:
    """The Monday (UTC) of a timestamp's week, as YYYY-MM-DD text."""
    return period_start(column, "week")


_TOLD: weakref.WeakSet = weakref.WeakSet()  # the session transactions already given their settings


def without_jit() -> None:
    """PostgreSQL compiles a query to machine code (JIT) once its estimated cost is high; metrics
    queries cross that line at a million items and run in tens of milliseconds, so the compiling
    costs more than it saves (about 50 ms a query, measured). Off for the current transaction, said
    once in it: a dashboard task and the closure query inside it both ask (a round trip each)."""
    _once_per_transaction({"jit": "off"})


def for_side_by_side() -> None:
    """A worker's transaction of a page whose queries run side by side (METRICS_QUERY_WORKERS): no JIT, as
    above, and METRICS_WORKERS_PER_QUERY of PostgreSQL's own parallel workers per query (0 by default). The
    page already spreads its queries over the cores; a query that also splits itself over more processes
    competes with its neighbours for the same cores. At a million items on two cores: the dashboard 321-344
    -> 280-305 ms for an admin, 244-257 -> 202-209 for a lead, alternating runs (issue #25). A query run
    alone (the API, a CSV) keeps the server's setting, which helps it there. One round trip."""
    _once_per_transaction({"jit": "off",
                           "max_parallel_workers_per_gather": str(current_app.config["METRICS_WORKERS_PER_QUERY"])})


def _once_per_transaction(settings: dict[str, str]) -> None:
    """These PostgreSQL settings for the current transaction only (SET LOCAL), in one statement, unless it
    was given its settings already (the first caller's stand: a worker's no-JIT and workers per query
    cover a task's own without_jit)."""
    if db.session.get_bind().dialect.name != "postgresql" or db.session().get_transaction() in _TOLD:
        return
    calls = ", ".join(f"set_config('{name}', :{name}, true)" for name in settings)  # names are ours, values bound
    db.session.execute(text(f"SELECT {calls}"), settings)
    _TOLD.add(db.session().get_transaction())


def topic_values(column, dialect_name: str):
    """A table-valued expansion of a JSON list column: one row per topic, its text in `.c.value`."""
    if dialect_name == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")
