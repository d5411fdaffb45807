"""Classification figure: answered responses classified per second by one worker, database write included.

Seeds N answered responses whose comments are real review sentences (tests/data), then times one
re-classification run over all of them in this one process, the way a worker runs it (read a batch,
classify, write sentiment, topics, urgency and version back, commit). Its floor, in the same run: the
analyzer alone over the same comments, plus the bare read of the same rows and the bulk update of the
same columns with the same values (plain driver calls, one statement a batch, a commit a batch).
Bare `TextBlob(text).sentiment` over the same comments is printed beside it, for reference. Beside the
wall times, the CPU seconds of the same work (this process and its PostgreSQL backend, from /proc):
on a shared machine the steadier figure (cpu_ratio_to_floor).

    python benchmarks/classify.py [--responses 50000] [--database-url URL]

The last line printed is one JSON object of the figures. Goal: classify_ratio_to_floor >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    cpu_seconds,
    database_kind,
    keep_migrated,
    report,
    reset_database,
    spent,
)

SENTENCES = ROOT / "tests" / "data" / "amazonReviewSnippets_GroundTruth.txt"
SEED_SQL = """
INSERT INTO surveys (id, name, kind, question, comment_prompt, subject, intro, quarantine_days, link_expiry_days,
                     active, created_at)
  VALUES (1, 'NPS', 'nps', 'q', 'c', 's', '', 90, 30, true, now());
INSERT INTO accounts (id, name, annual_value, created_at)
  SELECT a, 'Account ' || a, (a * 7919) % 200000, now() FROM generate_series(1, 500) a;
INSERT INTO contacts (id, email, name, account_id, attributes, created_at)
  SELECT c, 'c' || c || '@customer.example', 'Customer ' || c, 1 + c % 500, '{}', now()
  FROM generate_series(1, :responses) c;
INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, created_at)
  SELECT i, 1, i, md5(i::text) || md5((i * 7)::text), 'delivered', now(), now() FROM generate_series(1, :responses) i;
INSERT INTO responses (id, invitation_id, survey_id, contact_id, score, comment, answered_at, completed_at,
                       processed_at, topics, urgent, urgency_flags, sentiment_mismatch, created_at)
  SELECT i, i, 1, i, i % 11, (CAST(:sentences AS text[]))[1 + i % :count], now(), now(), now(), '[]', false, '[]',
         false, now() FROM generate_series(1, :responses) i;
"""


READ_SQL = """
SELECT r.id, r.survey_id, r.score, r.comment, r.followup_answer, r.sentiment_label, r.topics, r.topic_matches,
       r.urgency_flags, r.sentiment_mismatch, r.corrected_at, a.annual_value
FROM responses r JOIN contacts c ON c.id = r.contact_id LEFT JOIN accounts a ON a.id = c.account_id
WHERE r.id > {mark} AND r.completed_at IS NOT NULL ORDER BY r.id LIMIT {batch}"""
WRITTEN = ("polarity", "subjectivity", "sentiment_label", "sentiment_confidence", "sentiment_mismatch", "topics",
           "topic_matches", "urgency_flags", "urgent", "classifier", "classified_at")
# One statement a batch on PostgreSQL: the batch's values as arrays, unnested and joined on id.
UPDATE_PG = """
UPDATE responses r SET polarity = v.polarity, subjectivity = v.subjectivity, sentiment_label = v.sentiment_label,
  sentiment_confidence = v.sentiment_confidence, sentiment_mismatch = v.sentiment_mismatch, topics = v.topics::json,
  topic_matches = v.topic_matches::json, urgency_flags = v.urgency_flags::json, urgent = v.urgent,
  classifier = v.classifier, classified_at = v.classified_at
FROM unnest(%s::int[], %s::float8[], %s::float8[], %s::text[], %s::float8[], %s::bool[], %s::text[], %s::text[],
            %s::text[], %s::bool[], %s::text[], %s::timestamp[])
  AS v(id, polarity, subjectivity, sentiment_label, sentiment_confidence, sentiment_mismatch, topics, topic_matches,
       urgency_flags, urgent, classifier, classified_at)
WHERE r.id = v.id"""
UPDATE_SQLITE = f"UPDATE responses SET {', '.join(f'{c} = ?' for c in WRITTEN)} WHERE id = ?"


def seed(url: str, responses: int, sentences: list[str]) -> None:
    from sqlalchemy import text

    from vocloop.extensions import db

    if database_kind(url) == "postgresql":
        for statement in SEED_SQL.strip().split(";\n"):
            db.session.execute(text(statement), {"responses": responses, "sentences": sentences,
                                                 "count": len(sentences)})
    else:
        from benchmarks import small_seed

        small_seed.seed_answers(responses, comments=sentences, with_items=False)
    db.session.commit()
    vacuum(url)


def vacuum(url: str, full: bool = False) -> None:
    """What autovacuum keeps up in production. Before the floor, `full`: the table rewritten compact, as
    the run found it (pages full, so no update of either fits beside its old row on the same page)."""
    from sqlalchemy import text

    from vocloop.extensions import db

    postgres = database_kind(url) == "postgresql"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(("VACUUM FULL ANALYZE responses" if full else "VACUUM ANALYZE") if postgres
                                else "VACUUM" if full else "ANALYZE"))


def backend_pids(connection) -> tuple[int, ...]:
    """The PostgreSQL backend serving this connection (its CPU is part of the work); none on SQLite."""
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        return ()
    return (connection.execute(text("SELECT pg_backend_pid()")).scalar(),)


def floor_read_and_write(url: str, batch: int) -> tuple[float, float, float | None]:
    """Seconds to read the run's rows bare, batch by batch, and seconds to write the run's own values
    back to them in one plain statement (executemany on SQLite) and one commit per batch; and the CPU
    seconds of both (this process and the backend)."""
    from vocloop.extensions import db

    postgres = database_kind(url) == "postgresql"
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        values = cursor.execute(f"SELECT id, {', '.join(WRITTEN)} FROM responses ORDER BY id").fetchall()
        if postgres:  # JSON columns come back as Python lists; the update sends them as JSON text
            values = [(*row[:6], *(json.dumps(v) for v in row[6:9]), *row[9:]) for row in values]
        backend = (cursor.execute("SELECT pg_backend_pid()").fetchone()[0],) if postgres else ()
        raw.commit()
        read = 0.0
        mark = 0
        cpu = cpu_seconds(*backend)
        while True:
            started = time.perf_counter()
            rows = cursor.execute(READ_SQL.format(mark=mark, batch=batch)).fetchall()
            read += time.perf_counter() - started
            if not rows:
                break
            mark = rows[-1][0]
        raw.commit()
        started = time.perf_counter()
        for start in range(0, len(values), batch):
            chunk = values[start:start + batch]
            if postgres:
                cursor.execute(UPDATE_PG, [list(column) for column in zip(*chunk, strict=True)])
            else:
                cursor.executemany(UPDATE_SQLITE, [(*row[1:], row[0]) for row in chunk])
            raw.commit()
        return read, time.perf_counter() - started, spent(cpu, cpu_seconds(*backend))
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("VOCLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    sentences = [line.rstrip("\r\n").split("\t", 2)[2] for line in SENTENCES.open(encoding="utf-8") if line.strip()]
    reset_database(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import text
    from textblob import TextBlob

    from vocloop import create_app
    from vocloop.classify import reclassify
    from vocloop.classify.learning import analyzer_in_use
    from vocloop.extensions import db

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": args.database_url, "REDIS_URL": None})
    with app.app_context():
        upgrade()
        keep_migrated(args.database_url)
        seed(args.database_url, args.responses, sentences)
        comments = [sentences[i % len(sentences)] for i in range(1, args.responses + 1)]

        started = time.perf_counter()
        for comment in comments:
            TextBlob(comment).sentiment  # noqa: B018 - the bare call is what is timed
        bare_per_s = len(comments) / (time.perf_counter() - started)

        analyzer = analyzer_in_use()
        analyzer.analyze(comments[0])  # its lexicons and tables load on first use, as in a worker's first batch
        started, cpu = time.perf_counter(), cpu_seconds()
        for comment in comments:
            analyzer.analyze(comment)
        analyzer_seconds, analyzer_cpu = time.perf_counter() - started, spent(cpu, cpu_seconds())

        run, _ = reclassify.start_run(None)
        backend = backend_pids(db.session.connection())
        started, cpu = time.perf_counter(), cpu_seconds(*backend)
        finished = reclassify.run_batches(run.id)
        run_seconds, run_cpu = time.perf_counter() - started, spent(cpu, cpu_seconds(*backend))
        if backend_pids(db.session.connection()) != backend:
            run_cpu = None  # another connection did part of the work: its CPU was not counted
        assert finished.status == "finished" and finished.done == args.responses, (finished.status, finished.done)
        written = db.session.scalar(text("SELECT count(*) FROM responses WHERE classifier IS NOT NULL"))
        assert written == args.responses, written
        db.session.remove()
        vacuum(args.database_url, full=True)
        read_seconds, write_seconds, read_write_cpu = floor_read_and_write(args.database_url,
                                                                           reclassify.BATCH_SIZE)

    floor_seconds = analyzer_seconds + read_seconds + write_seconds
    floor_cpu = None if None in (analyzer_cpu, read_write_cpu) else analyzer_cpu + read_write_cpu
    report({
        "responses": args.responses,
        "database": database_kind(args.database_url),
        "classified_with_db_write_per_s": round(args.responses / run_seconds),
        "run_seconds": round(run_seconds, 2),
        "floor_analyzer_seconds": round(analyzer_seconds, 2),
        "floor_read_seconds": round(read_seconds, 2),
        "floor_write_seconds": round(write_seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "classify_ratio_to_floor": round(floor_seconds / run_seconds, 3),
        "run_cpu_seconds": None if run_cpu is None else round(run_cpu, 2),
        "floor_cpu_seconds": None if floor_cpu is None else round(floor_cpu, 2),
        "cpu_ratio_to_floor": None if None in (run_cpu, floor_cpu) else round(floor_cpu / run_cpu, 3),
        "analyzer_alone_per_s": round(args.responses / analyzer_seconds),
        "bare_textblob_sentiment_per_s": round(bare_per_s),
        "ratio_with_db_write_to_bare_textblob": round(args.responses / run_seconds / bare_per_s, 2),
        "ratio_analyzer_to_bare_textblob": round(args.responses / analyzer_seconds / bare_per_s, 2),
        "classifier": analyzer.version,
    })


if __name__ == "__main__":
    main()
