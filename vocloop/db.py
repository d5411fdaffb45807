"""Declarative base and column types shared by every model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, mapped_column, registry


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


def update_rows_by_id(session, table, rows: list[dict[str, Any]]) -> None:
    """Write each row's values to the row of `table` with its `id`; every row names the same columns.

    On PostgreSQL one statement does the whole list: each column's values travel as one text array, are
    unnested beside the ids and cast to the column's type (500 single-row UPDATEs, even pipelined, cost
    the re-classification run twice what the writing itself costs). Elsewhere, one executemany.
    """
    if not rows:
        return
    from sqlalchemy import bindparam, text, update

    columns = [name for name in rows[0] if name != "id"]
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(update(table).where(table.c.id == bindparam("row_id"))
                        .values({name: bindparam(name) for name in columns}),
                        [{**row, "row_id": row["id"]} for row in rows])
        return
    arrays: dict[str, list] = {"ids": [row["id"] for row in rows]}
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):  # serialised as the driver's JSON binding does
            process = getattr(dialect, "_json_serializer", None) or json.dumps
        else:
            process = column_type.bind_processor(dialect)  # UTC made naive, as a bind would be
        keep_null = not isinstance(column_type, JSON) or column_type.none_as_null  # else None is JSON null
        values = (row[name] for row in rows)
        arrays[f"c{position}"] = [None if value is None and keep_null
                                  else _as_text(process(value) if process else value) for value in values]
    unnested = ", ".join(f"CAST(:c{position} AS text[])" for position in range(len(columns)))
    assignments = ", ".join(f"{name} = CAST(v.{name} AS {table.c[name].type.compile(dialect)})" for name in columns)
    session.execute(text(f"UPDATE {table.name} AS t SET {assignments} "  # noqa: S608 (names from the table itself)
                         f"FROM unnest(CAST(:ids AS integer[]), {unnested}) AS v(id, {', '.join(columns)}) "
                         f"WHERE t.id = v.id"), arrays)


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def escape_like(text: str) -> str:
    """The text as a LIKE pattern matches it literally (with `escape="\\"`), on both databases."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
