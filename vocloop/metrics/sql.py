"""The few SQL pieces that differ between SQLite and PostgreSQL, each compiled for both so a
metric has one definition and the same result on either database."""

from __future__ import annotations

from sqlalchemy import Integer, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class seconds_between(FunctionElement):  # noqa: N801 (reads as the SQL function it is)
    """Whole seconds from the second timestamp to the first."""

    type = Integer()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _pg_seconds(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})) AS INTEGER)"


@compiles(seconds_between, "sqlite")
def _sqlite_seconds(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (f"CAST(ROUND((julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}))"
            " * 86400) AS INTEGER)")


class week_start(FunctionElement):  # noqa: N801
    """The Monday (UTC) of a timestamp's week, as YYYY-MM-DD text."""

    inherit_cache = True


@compiles(week_start, "postgresql")
def _pg_week(element, compiler, **kw):
    return f"TO_CHAR(DATE_TRUNC('week', {compiler.process(list(element.clauses)[0], **kw)}), 'YYYY-MM-DD')"


@compiles(week_start, "sqlite")
def _sqlite_week(element, compiler, **kw):
    # Six days back, then forward to the next Monday (or stay on it): the Monday of that week.
    return f"DATE({compiler.process(list(element.clauses)[0], **kw)}, '-6 days', 'weekday 1')"


def topic_values(column, dialect_name: str):
    """A table-valued expansion of a JSON list column: one row per topic, its text in `.c.value`."""
    if dialect_name == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")
