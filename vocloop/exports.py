"""CSV for people's spreadsheets: formula-safe cells; a large export spills to a temporary file instead
of sitting whole in memory."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO

from flask import Response
from werkzeug.wsgi import FileWrapper

SPOOL_BYTES = 8 * 1024 * 1024


def csv_safe(value):
    """Text starting with = + - @ would run as a formula in a spreadsheet: quote it. None is empty."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, list | tuple):
        return csv_safe("; ".join(str(part) for part in value))
    return "" if value is None else value


def csv_lines(columns: Sequence[str], rows: Iterable[dict]) -> Iterator[str]:
    """The header, then one line per row (dicts keyed by column)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_safe(row.get(column)) for column in columns])
        yield buffer.getvalue()


def spooled_csv(columns: Sequence[str], rows: Iterable[dict]) -> IO[bytes]:
    """The whole CSV, written while the database session is at hand, rewound for sending: in memory
    up to SPOOL_BYTES, then in a temporary file (removed when closed)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the response)
    for line in csv_lines(columns, rows):
        spool.write(line.encode("utf-8"))
    spool.seek(0)
    return spool


def csv_download(name: str, columns: Sequence[str], rows: Iterable[dict]) -> Response:
    """A CSV attachment named <name>-<UTC time>.csv, spooled (see spooled_csv) and sent as a file."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(FileWrapper(spooled_csv(columns, rows)), mimetype="text/csv", direct_passthrough=True,
                    headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'})
