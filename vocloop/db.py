"""Declarative base and column types shared by every model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
from typing import Annotated, Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, mapped_column, registry
from sqlalchemy.types import UserDefinedType


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite and PostgreSQL then compare the same way."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()},
    )


intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[datetime, mapped_column(default=utcnow, nullable=False)]


def update_rows_by_id(session, table, rows: list[dict[str, Any]], shared: dict[str, Any] | None = None,
                      key: str = "id") -> None:
    """Write each row's values to the row of `table` with its `id` (or another unique column, `key`);
    every row names the same columns. `shared`: values every row takes (bound once, not row by row).

    On PostgreSQL one statement does the whole list: the rows travel as one JSON document, read back
    as a record set of the columns' own types and joined on id (500 single-row UPDATEs, even pipelined,
    cost the re-classification run twice what the writing itself costs; a text array per column cost
    the driver a Python call per value, where one `json.dumps` is C). On SQLite, the driver's executemany.
    """
    if not rows:
        return
    from sqlalchemy import bindparam, text

    shared = shared or {}
    columns = [name for name in rows[0] if name != key]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":  # SQLite, the other database vocloop runs on
        # The driver's executemany with each value bound as SQLAlchemy binds it, once: SQLAlchemy's own
        # executemany built a parameter dict per row in Python, a seventh of a re-classification's CPU.
        processors = []
        for name in columns:
            process = _bind_processor(table.c[name], dialect)
            processors.append((name, _reusing(process) if isinstance(table.c[name].type, TypeDecorator) else process))
        same = tuple(_bind_processor(table.c[name], dialect)(value) for name, value in shared.items())
        session.connection().exec_driver_sql(
            f"UPDATE {table.name} SET {', '.join(f'{name} = ?' for name in [*columns, *shared])} "  # noqa: S608
            f"WHERE {key} = ?",
            [(*(process(row[name]) for name, process in processors), *same, row[key]) for row in rows])
        return
    # JSON columns travel as JSON inside the document (the record set gives each value's own text, as a
    # json.dumps of it would: one serialisation, not one per value), a type of our own (UTCDateTime) as it
    # binds; numbers, booleans and text are JSON's own. A JSON null comes back from the record set as no
    # value at all: a column that keeps None as JSON null gets it back.
    as_json = {name for name in columns if isinstance(table.c[name].type, JSON)}
    processing = [(name, _reusing(_json_scalar(process))) for name in columns
                  if name not in as_json and isinstance(table.c[name].type, TypeDecorator)
                  and (process := _bind_processor(table.c[name], dialect)) is not _same]
    if processing:
        rows = [{**row, **{name: process(row[name]) for name, process in processing}} for row in rows]
    fields = ", ".join(f"{name} {'json' if name in as_json else table.c[name].type.compile(dialect)}"
                       for name in columns)
    assignments = [f"{name} = v.{name}" if name not in as_json or table.c[name].type.none_as_null
                   else f"{name} = COALESCE(v.{name}, CAST('null' AS json))" for name in columns]
    assignments += [f"{name} = :shared_{name}" for name in shared]
    serialize = getattr(dialect, "_json_serializer", None) or json.dumps
    statement = text(f"UPDATE {table.name} AS t SET {', '.join(assignments)} "  # noqa: S608 (the table's names)
                     f"FROM json_to_recordset(CAST(:rows AS json)) AS v({key} integer, {fields}) "
                     f"WHERE t.{key} = v.{key}")
    statement = statement.bindparams(*(bindparam(f"shared_{name}", value, type_=table.c[name].type)
                                       for name, value in shared.items()))
    session.execute(statement, {"rows": serialize(rows)})


def _json_scalar(process):
    """process, then a datetime (naive UTC by then) as the ISO text the record set reads."""
    def run(value):
        value = process(value)
        return value.isoformat() if isinstance(value, datetime) else value
    return run


def insert_rows(session, table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert these rows (each naming the same columns; the others take their defaults) in the session's
    transaction; their new ids, in the order given.

    On PostgreSQL the ids are drawn from the table's sequence first and the rows travel by COPY, the
    bulk path the dispatch benchmark's floor uses (an executemany of 100,000 INSERTs cost several times
    as much, most of it in the driver). Elsewhere one INSERT ... RETURNING executemany."""
    if not rows:
        return []
    from sqlalchemy import exc, insert

    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        return list(connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                       rows).scalars())
    given = list(rows[0])
    defaults = {column.name: column.default.arg(None) if column.default.is_callable else column.default.arg
                for column in table.columns
                if column.name not in given and column.default is not None and not column.primary_key}
    names = ["id", *given, *defaults]
    # Column by column (most need no processing, and a send's rows share their timestamps), lazily: the
    # server takes in the first rows while the next ones are serialised.
    columns = []
    for name in given:
        values = map(itemgetter(name), rows)
        process = _bind_processor(table.c[name], dialect)
        columns.append(values if process is _same else map(_reusing(process), values))
    for name, value in defaults.items():
        columns.append(repeat(_bind_processor(table.c[name], dialect)(value)))
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor:
            cursor.execute("SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s)",
                           (table.name, len(rows)))
            ids = sorted(cursor.fetchone()[0])
            with cursor.copy(statement) as copy:
                write = copy.write_row
                for values in zip(ids, *columns, strict=False):  # the defaults repeat without end
                    write(values)
    except driver.Error as error:  # raised as SQLAlchemy raises what an execute meets (IntegrityError, ...)
        raise exc.DBAPIError.instance(statement, None, error, type(driver).Error, dialect=dialect) from error
    return ids


ANALYZE_AFTER_ROWS = 10_000


def analyze_after_bulk_load(session, tables) -> None:
    """PostgreSQL's statistics of these tables, taken again now (ANALYZE, a sample: a fraction of a
    second), after a bulk load committed. Until autovacuum gets to it the planner believes the table as
    it was: after 100,000 new outbox rows it still took 'pending' for rare and claimed each batch of
    1,000 by walking every pending row (6x the time of a batch, and growing with the load)."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(text(f"ANALYZE {table.name}"))
    session.commit()


class IdArray(UserDefinedType):
    """PostgreSQL integer[] from a list of ids, sent as one array literal: the driver's list adapter costs
    more than the query it feeds."""

    cache_ok = True
    render_bind_cast = True  # $1::INTEGER[]: parsed once, at bind time

    def get_col_spec(self, **kw) -> str:
        return "INTEGER[]"

    def bind_processor(self, dialect):
        return lambda ids: "{" + ",".join(map(str, map(int, ids))) + "}"


def insert_on_conflict(dialect_name: str):
    """The INSERT construct that takes an ON CONFLICT clause on this database (PostgreSQL's or SQLite's)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def among(bind, column, ids):
    """`column IN (ids)` for a long list of integer ids: on PostgreSQL `= ANY` of one array parameter, a
    short statement the driver parses once, where thousands of placeholders cost milliseconds each time."""
    from sqlalchemy import any_, bindparam

    dialect = bind.dialect if hasattr(bind, "dialect") else bind.get_bind().dialect
    if dialect.name != "postgresql":
        return column.in_(list(ids))
    return column == any_(bindparam(None, list(ids), type_=IdArray()))


def _bind_processor(column, dialect):
    """A value as the driver should get it for COPY or a text array: JSON serialised, UTC made naive."""
    if isinstance(column.type, JSON):
        serialize = getattr(dialect, "_json_serializer", None) or json.dumps
        if column.type.none_as_null:
            return lambda value: None if value is None else serialize(value)
        return serialize  # None is JSON null
    return column.type.bind_processor(dialect) or _same


def _same(value):
    return value


def _reusing(process):
    """process, computed again only when the value is another object than the last one's."""
    last: list = [object(), None]

    def run(value):
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]
    return run


def escape_like(text: str) -> str:
    """The text as a LIKE pattern matches it literally (with `escape="\\"`), on both databases."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
