"""Dispatch figure: survey invitations to a local SendGrid-compatible server, against its floor.

Times the whole dispatch as production does it: writing the invitations and their outbox rows
(eligibility checks, tokens, one rendering plus per-recipient substitutions), then relaying them
in requests of up to 1,000 personalizations through the real sendgrid client. Its floor, in the same
run: the very rows it wrote, written again by the fastest plain bulk path (PostgreSQL's COPY; one
executemany on SQLite) into the same tables and indexes, plus the local server accepting the same
requests (the same recipients, substitutions and content) with no database work around them.
At each of --sizes invitations; the growth is the time at the largest size over the smallest (linear:
the ratio of the sizes). Beside the times, the same ratio in CPU seconds of this process, the stub and
the PostgreSQL backend (cpu_ratio_to_floor; Linux): the work itself, which load on a shared machine
stretches less than it stretches the wall clock. And a second floor, proposed in issue #25: the first
plus what any relay that sends each email exactly once must also write (the lease before sending, the
outcome, the queue row removed, the invitation sent), as plain statements on the same rows
(bookkeeping_floor; dispatch_ratio_to_floor_with_bookkeeping).

    python benchmarks/dispatch.py [--sizes 10k,30k,100k] [--database-url URL]

Default database: PostgreSQL `vocloop_bench` on 127.0.0.1 (created and reset here). The last line
printed is one JSON object of the figures. Goal: dispatch_ratio_to_floor >= 0.5; growth no more than
linear (dispatch_growth_per_size <= 1.25).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (  # noqa: E402,F401
    DEFAULT_DATABASE_URL,
    cpu_seconds,
    database_kind,
    growth,
    keep_migrated,
    parse_sizes,
    report,
    reset_database,
    spent,
)


def start_stub() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.support.sendgrid_stub"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def stub_stats(url: str) -> dict:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
    connection.request("GET", "/_stats")
    return json.loads(connection.getresponse().read())


def post_bodies(url: str, bodies: list[bytes]) -> float:
    """Seconds the local server takes to accept these requests when we do nothing else."""
    parsed = urlparse(url)
    started = time.perf_counter()
    for body in bodies:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
        connection.request("POST", "/v3/mail/send", body, {"Authorization": "Bearer SG.test-key",
                                                            "Content-Type": "application/json"})
        assert connection.getresponse().status == 202
        connection.close()
    return time.perf_counter() - started


def floor_bodies(batch: int) -> list[dict]:
    """The requests the relay made, rebuilt from the stored rows: each batch's recipients with their
    substitutions, headers and ids, and the template's content (built before the floor's clock starts)."""
    from sqlalchemy import select

    from vocloop.extensions import db
    from vocloop.mail.models import Message, MessageTemplate

    templates = {t.id: t for t in db.session.scalars(select(MessageTemplate))}
    rows = db.session.execute(select(Message.id, Message.idempotency_key, Message.to_email, Message.to_name,
                                     Message.from_email, Message.template_id, Message.substitutions,
                                     Message.headers).order_by(Message.id)).all()
    bodies = []
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        template = templates[chunk[0].template_id]
        bodies.append({
            "from": {"email": chunk[0].from_email}, "subject": template.subject,
            "content": [{"type": "text/plain", "value": template.text}, {"type": "text/html", "value": template.html}],
            "personalizations": [{"to": [{"email": row.to_email, "name": row.to_name}],
                                  "substitutions": row.substitutions, "headers": row.headers,
                                  "custom_args": {"vocloop_message_id": str(row.id),
                                                  "vocloop_key": row.idempotency_key}} for row in chunk],
        })
    return bodies


FLOOR_TABLES = ("invitations", "messages")


def rewrite_rows(url: str) -> tuple[float, float | None]:
    """Seconds (and CPU seconds, with the server's) to write the dispatch's own invitation and outbox rows
    again by the plain bulk path: dumped, the tables emptied, then COPY (PostgreSQL) or one executemany
    (SQLite) and a commit."""
    from vocloop.extensions import db

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if database_kind(url) == "postgresql":
            dumps = {}
            for table in FLOOR_TABLES:
                with cursor.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:
                    dumps[table] = b"".join(bytes(chunk) for chunk in copy)
            cursor.execute(f"TRUNCATE {', '.join(FLOOR_TABLES)} CASCADE")
            backend = cursor.execute("SELECT pg_backend_pid()").fetchone()[0]
            raw.commit()
            started, cpu = time.perf_counter(), cpu_seconds(backend)
            for table in FLOOR_TABLES:
                with cursor.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(dumps[table])
            raw.commit()
            return time.perf_counter() - started, spent(cpu, cpu_seconds(backend))
        else:
            dumps = {table: cursor.execute(f"SELECT * FROM {table}").fetchall() for table in FLOOR_TABLES}
            for table in reversed(FLOOR_TABLES):
                cursor.execute(f"DELETE FROM {table}")
            raw.commit()
            started, cpu = time.perf_counter(), cpu_seconds()
            for table in FLOOR_TABLES:
                if dumps[table]:
                    marks = ", ".join("?" * len(dumps[table][0]))
                    cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", dumps[table])
            raw.commit()
            return time.perf_counter() - started, spent(cpu, cpu_seconds())
    finally:
        raw.close()


def bookkeeping_floor(url: str, batch: int, bodies: list[dict]) -> float:
    """Seconds for what any relay that sends each email exactly once must also do, run bare on the same rows
    (plain statements on one DB-API connection, no ORM, no vocloop code): queue the messages in one statement,
    then per request of `batch` take them with a lease and commit (before sending, so a second relay cannot
    take them), read what it sends, encode the request's JSON, then take them off the queue, record each
    message sent and its invitation sent, and commit. The floor above (COPY and the stub) does none of this:
    it writes each row once and posts bodies already encoded."""
    from vocloop.extensions import db

    postgres = database_kind(url) == "postgresql"
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        pairs = cursor.execute("SELECT id, invitation_id FROM messages ORDER BY id").fetchall()

        def among(column: str, values: list) -> tuple[str, list]:
            if postgres:
                return f"{column} = ANY(%s)", [values]
            return f"{column} IN ({', '.join('?' * len(values))})", list(values)

        started = time.perf_counter()
        if postgres:
            cursor.execute("INSERT INTO message_queue (message_id, next_attempt_at, attempts) "
                           "SELECT unnest(%s::int[]), CURRENT_TIMESTAMP, 0", [[message_id for message_id, _ in pairs]])
        else:
            cursor.executemany("INSERT INTO message_queue (message_id, next_attempt_at, attempts) "
                               "VALUES (?, CURRENT_TIMESTAMP, 0)", [(message_id,) for message_id, _ in pairs])
        raw.commit()
        for start, body in zip(range(0, len(pairs), batch), bodies, strict=True):
            message_ids = [message_id for message_id, _ in pairs[start:start + batch]]
            invitation_ids = [invitation_id for _, invitation_id in pairs[start:start + batch]]
            where, values = among("message_id", message_ids)
            cursor.execute(f"UPDATE message_queue SET lease_until = CURRENT_TIMESTAMP, attempts = attempts + 1 "
                           f"WHERE {where} RETURNING message_id", values).fetchall()
            raw.commit()
            where, values = among("id", message_ids)
            cursor.execute(f"SELECT id, idempotency_key, to_email, to_name, from_email, template_id, substitutions, "
                           f"headers FROM messages WHERE {where} ORDER BY id", values).fetchall()
            json.dumps(body)
            where, values = among("message_id", message_ids)
            cursor.execute(f"DELETE FROM message_queue WHERE {where}", values)
            where, values = among("id", message_ids)
            cursor.execute(f"UPDATE messages SET status = 'sent', attempts = 1, provider_message_id = 'floor', "
                           f"sent_at = CURRENT_TIMESTAMP, last_error = NULL WHERE {where} RETURNING id",
                           values).fetchall()
            where, values = among("id", invitation_ids)
            cursor.execute(f"UPDATE invitations SET status = 'sent', sent_at = CURRENT_TIMESTAMP WHERE {where}", values)
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def measure(url: str, contacts: int, stub_url: str, stub_pid: int) -> dict:
    """One size: the dispatch as production does it, then its floor."""
    reset_database(url)
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from vocloop import create_app
    from vocloop.contacts.models import Contact
    from vocloop.db import utcnow
    from vocloop.extensions import db
    from vocloop.jobs.tasks import deliver_messages
    from vocloop.mail import outbox
    from vocloop.mail.models import Message
    from vocloop.surveys import service as surveys

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": None,
                      "SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_HOST": stub_url,
                      "VOCLOOP_BASE_URL": "https://feedback.example.com"})
    with app.app_context():
        upgrade()
        keep_migrated(url)
        db.session.execute(Contact.__table__.insert(), [
            {"email": f"customer{i}@bench.example", "name": f"Customer {i}", "attributes": {},
             "created_at": utcnow()} for i in range(contacts)])
        db.session.commit()
        contact_ids = list(db.session.scalars(select(Contact.id)))
        survey = surveys.create_survey(name="Benchmark NPS", kind="nps", company="Acme")
        before = stub_stats(stub_url)
        backend = db.session.scalar(text("SELECT pg_backend_pid()")) if database_kind(url) == "postgresql" else None

        started, cpu_started = time.perf_counter(), cpu_seconds(stub_pid, backend)
        outcome = surveys.send_invitations(survey, contact_ids)
        message_ids = outbox.take_queued_ids()
        written = time.perf_counter()
        batch = app.config["MAIL_BATCH_SIZE"]
        for start in range(0, len(message_ids), batch):
            deliver_messages(message_ids[start:start + batch])
        finished, cpu_finished = time.perf_counter(), cpu_seconds(stub_pid, backend)
        if backend is not None and backend != db.session.scalar(text("SELECT pg_backend_pid()")):
            cpu_finished = None  # another connection did part of the work: its CPU was not counted

        after = stub_stats(stub_url)
        sent = db.session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent"))
        bodies = floor_bodies(batch)
        db.session.remove()
        floor_write, floor_write_cpu = rewrite_rows(url)
        bookkeeping = bookkeeping_floor(url, batch, bodies)
    encoded = [json.dumps(body).encode() for body in bodies]
    cpu = cpu_seconds(stub_pid)
    floor_send = post_bodies(stub_url, encoded)
    floor_send_cpu = spent(cpu, cpu_seconds(stub_pid))
    dispatch_cpu = spent(cpu_started, cpu_finished)
    floor_cpu = None if floor_write_cpu is None or floor_send_cpu is None else floor_write_cpu + floor_send_cpu
    recipients = after["recipients"] - before["recipients"]
    assert recipients == sent == len(outcome.invitations) == contacts, (recipients, sent, contacts)
    dispatch_seconds = finished - started
    return {
        "invitations": len(outcome.invitations),
        "write_seconds": round(written - started, 2),
        "relay_seconds": round(finished - written, 2),
        "dispatch_seconds": round(dispatch_seconds, 2),
        "requests": after["requests"] - before["requests"],
        "recipients_per_s": round(recipients / dispatch_seconds),
        "floor_write_seconds": round(floor_write, 2),
        "floor_send_seconds": round(floor_send, 2),
        "floor_seconds": round(floor_write + floor_send, 2),
        "ratio_to_floor": round((floor_write + floor_send) / dispatch_seconds, 3),
        # the floor plus the exactly-once relay's own statements, run bare (bookkeeping_floor)
        "bookkeeping_floor_seconds": round(bookkeeping, 2),
        "ratio_to_floor_with_bookkeeping": round((floor_write + floor_send + bookkeeping) / dispatch_seconds, 3),
        # the same in CPU seconds of this process, the stub and the PostgreSQL backend (Linux)
        "cpu_seconds": None if dispatch_cpu is None else round(dispatch_cpu, 2),
        "floor_cpu_seconds": None if floor_cpu is None else round(floor_cpu, 2),
        "cpu_ratio_to_floor": None if None in (dispatch_cpu, floor_cpu) else round(floor_cpu / dispatch_cpu, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,30k,100k", help="invitations at each size, comma-separated")
    parser.add_argument("--database-url", default=os.environ.get("VOCLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)

    stub, stub_url = start_stub()
    try:
        by_size = {size: measure(args.database_url, size, stub_url, stub.pid) for size in sizes}
    finally:
        stub.terminate()
    largest = by_size[sizes[-1]]
    figures = {"contacts": sizes[-1], "sizes": sizes, "database": database_kind(args.database_url)}
    for size in sizes:
        figures.update({f"{key}_at_{size}": value for key, value in by_size[size].items()})
    figures.update({key: largest[key] for key in ("invitations", "write_seconds", "relay_seconds", "dispatch_seconds",
                                                   "recipients_per_s", "floor_seconds", "cpu_ratio_to_floor")})
    figures["dispatch_ratio_to_floor"] = largest["ratio_to_floor"]
    figures["bookkeeping_floor_seconds"] = largest["bookkeeping_floor_seconds"]
    figures["dispatch_ratio_to_floor_with_bookkeeping"] = largest["ratio_to_floor_with_bookkeeping"]
    figures["dispatch_growth"] = growth({size: by_size[size]["dispatch_seconds"] for size in sizes})
    # linear growth is the ratio of the sizes: 1.0 here means exactly linear, above it worse than linear
    figures["dispatch_growth_per_size"] = round(figures["dispatch_growth"] / (sizes[-1] / sizes[0]), 2)
    report(figures)


if __name__ == "__main__":
    main()
