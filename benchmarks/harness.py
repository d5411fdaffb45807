"""What every benchmark shares: resetting its database, data sizes, median timings, the SQL a page
sends (recorded, then replayed bare as its floor), growth across sizes, and the figures' printout.

Absolute times on a shared machine are weather; a ratio to a floor measured in the same run is
climate. Each benchmark therefore times its own floor beside the figure and prints the ratio.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/vocloop_bench"


def reset_database(url: str) -> None:
    """An empty database at `url` (PostgreSQL: dropped and created; SQLite: the file removed)."""
    if url.startswith("postgresql"):
        import psycopg

        parsed = urlparse(url)
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {parsed.path.lstrip('/')} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {parsed.path.lstrip('/')}")
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)  # an old write-ahead log would be replayed into the new file
        if _migrated_copy(path).exists():
            shutil.copyfile(_migrated_copy(path), path)


def keep_migrated(url: str) -> None:
    """Call right after migrating an empty database. On SQLite, the empty migrated file is kept beside
    it, and the next reset starts from a copy: the smoke run resets seven times, and each migration
    from scratch cost seconds."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not _migrated_copy(path).exists():  # SQLite's own backup: what is still in the write-ahead log too
            with sqlite3.connect(path) as source, sqlite3.connect(_migrated_copy(path)) as copy:
                source.backup(copy)


def _migrated_copy(path: Path) -> Path:
    """Named after the migrations it holds, so a new or edited migration is never skipped."""
    versions = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    stamp = hashlib.sha256("".join(f"{v.name}:{v.stat().st_mtime_ns}" for v in versions).encode()).hexdigest()
    return path.with_name(f"{path.name}.migrated-{stamp[:12]}")


def parse_sizes(text: str) -> list[int]:
    """'100k,300k,1M' -> [100000, 300000, 1000000], smallest first."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        factor = 1_000_000 if part.endswith("m") else 1_000 if part.endswith("k") else 1
        number = part.rstrip("mk")
        if not number.replace(".", "", 1).isdigit() or float(number) * factor < 1:
            raise SystemExit(f"--sizes: {part!r} is not a size (examples: 5000, 100k, 1M)")
        sizes.append(int(float(number) * factor))
    return sorted(set(sizes))


def timed(function: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `repeat` calls, after one warm-up call."""
    function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


class Recorded(list):
    """The statements (and parameters) a page sent, in order; `threads` says which thread sent each,
    `main` is the thread that recorded them (the request's own)."""

    def __init__(self):
        super().__init__()
        self.threads: list[int] = []
        self.main = threading.get_ident()


@contextmanager
def recorded_sql(engine) -> Iterator[Recorded]:
    """Every statement (and its parameters) sent through `engine`'s connections, from any thread,
    exactly as the driver received it."""
    from sqlalchemy import event

    sent = Recorded()

    def capture(conn, cursor, statement, parameters, context, executemany):
        if not executemany:
            sent.append((statement, parameters))
            sent.threads.append(threading.get_ident())

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def bare_sql_ms(engine, statements: list[tuple[str, object]], repeat: int, workers: int = 1) -> float:
    """The floor of a page's SQL: its statements run bare on one driver connection, no ORM, no
    rendering; the median of `repeat` rounds in milliseconds (with `workers`: page_and_floor_ms)."""
    return page_and_floor_ms(None, engine, statements, repeat, workers)[1]


def page_and_floor_ms(page: Callable[[], object] | None, engine, statements: list[tuple[str, object]], repeat: int,
                      workers: int = 1) -> tuple[float | None, float, float]:
    """The median milliseconds of the page, of its floor, and of its statements run side by side,
    each round running them in turn: on a shared machine a burst of load then slows page and floor
    alike, where all the page's rounds and then all the floor's can catch it in only one of them.
    Without `page`, the floors alone.

    The floor: the page's statements run bare one after another on one driver connection, no ORM, no
    rendering; with `workers` (the dashboard's METRICS_QUERY_WORKERS), what the best split of them
    over the workers could reach (best_split). That split assumes free cores. Side by side (the third
    figure, the floor's total without `workers`): the request's own statements in turn on one
    connection, then each worker thread's statements (as recorded by recorded_sql), in the order it
    sent them, on a connection of their own, side by side as the page ran them: what PostgreSQL gives
    those statements at that parallelism on this machine as it is loaded."""
    threads = getattr(statements, "threads", None) or [0] * len(statements)
    main = getattr(statements, "main", 0)
    chains: dict[int, list] = {}
    for sent, thread in zip(statements, threads, strict=True):
        if thread != main:
            chains.setdefault(thread, []).append(sent)
    own = [sent for sent, thread in zip(statements, threads, strict=True) if thread == main]
    connections = [engine.raw_connection() for _ in range(1 + (len(chains) if workers > 1 else 0))]
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 and chains else None

    def run(connection, chain) -> list[float]:
        cursor, took = connection.cursor(), []
        for statement, parameters in chain:
            started = time.perf_counter()
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
            took.append(time.perf_counter() - started)
        connection.rollback()
        return took

    try:
        def floor() -> tuple[float, float]:
            took = run(connections[0], statements)
            ideal = best_split(took, workers)
            if pool is None:
                return ideal * 1000, sum(took) * 1000
            started = time.perf_counter()
            run(connections[0], own)
            list(pool.map(run, connections[1:], chains.values()))
            return ideal * 1000, (time.perf_counter() - started) * 1000

        def page_ms() -> float:
            started = time.perf_counter()
            page()
            return (time.perf_counter() - started) * 1000

        if page is not None:
            page()
        floor()
        rounds = [(page_ms() if page is not None else None, *floor()) for _ in range(repeat)]
        return (None if page is None else round(statistics.median(one for one, _, _ in rounds), 2),
                round(statistics.median(two for _, two, _ in rounds), 2),
                round(statistics.median(three for _, _, three in rounds), 2))
    finally:
        if pool is not None:
            pool.shutdown()
        for connection in connections:
            connection.close()


def best_split(took: list[float], workers: int) -> float:
    """The least time these statements could take over `workers` connections, each statement whole (a query
    is not cut in two): on two, the split of them whose halves come closest to even, found exactly (in
    10 µs steps). The total shared evenly, which this was before, is reachable only by halving a query:
    three queries on two workers took it for a floor no run could reach. On more workers, that bound
    still (the longest statement, or the total shared evenly, whichever is more)."""
    bound = max(max(took, default=0.0), sum(took) / max(workers, 1))
    if workers != 2:
        return bound
    steps = [round(seconds * 100_000) for seconds in took]  # 10 µs each
    total = sum(steps)
    reachable = 1  # bit k set: some of the statements add up to k steps
    for step in steps:
        reachable |= reachable << step
    nearest_half = (reachable & ((1 << (total // 2 + 1)) - 1)).bit_length() - 1  # the most not above half
    return max(bound, (total - nearest_half) / 100_000)


def growth(by_size: dict[int, float]) -> float:
    """Time at the largest size divided by time at the smallest."""
    smallest, largest = min(by_size), max(by_size)
    return round(by_size[largest] / max(by_size[smallest], 1e-9), 2)


def report(figures: dict) -> None:
    """One figure a line for people, then the whole as one JSON object on the last line for run_all."""
    for key, value in figures.items():
        print(f"{key:44} {value}")
    print(json.dumps(figures), flush=True)


def database_kind(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


def cpu_seconds(*pids: int | None) -> float | None:
    """CPU seconds (user and system) used so far by this process and these (the stub, the PostgreSQL
    backend): the work, steadier than wall time on a shared machine. None where /proc cannot tell."""
    total = time.process_time()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, TypeError):
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before
