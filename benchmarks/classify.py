"""Classification figure: answered responses classified per second by one worker, database write included.

Seeds N answered responses on PostgreSQL whose comments are real review sentences (tests/data), then
times one re-classification run over all of them in this one process, the way a worker runs it
(read a batch, classify, write sentiment, topics, urgency and version back, commit), and in the same
run the bare `TextBlob(text).sentiment` and vocloop's analyzer alone over the same comments.

    python benchmarks/classify.py [--responses 50000] [--database-url URL]

The last line printed is one JSON object of the figures. Goal: >= 5,000 responses/s per worker.
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

from benchmarks.dispatch import reset_database  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get(
        "VOCLOOP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vocloop_bench"))
    args = parser.parse_args()
    sentences = [line.rstrip("\r\n").split("\t", 2)[2] for line in SENTENCES.open(encoding="utf-8") if line.strip()]
    reset_database(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import text
    from textblob import TextBlob

    from vocloop import create_app
    from vocloop.classify import get_analyzer, reclassify
    from vocloop.extensions import db

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": args.database_url, "REDIS_URL": None})
    with app.app_context():
        upgrade()
        for statement in SEED_SQL.strip().split(";\n"):
            db.session.execute(text(statement), {"responses": args.responses, "sentences": sentences,
                                                 "count": len(sentences)})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        comments = [sentences[i % len(sentences)] for i in range(1, args.responses + 1)]

        started = time.perf_counter()
        for comment in comments:
            TextBlob(comment).sentiment  # noqa: B018 - the bare call is what is timed
        bare_per_s = len(comments) / (time.perf_counter() - started)

        analyzer = get_analyzer(app.config["CLASSIFIER"])
        started = time.perf_counter()
        for comment in comments:
            analyzer.analyze(comment)
        analyzer_per_s = len(comments) / (time.perf_counter() - started)

        run, _ = reclassify.start_run(None)
        started = time.perf_counter()
        finished = reclassify.run_batches(run.id)
        run_seconds = time.perf_counter() - started
        assert finished.status == "finished" and finished.done == args.responses, (finished.status, finished.done)
        written = db.session.scalar(text("SELECT count(*) FROM responses WHERE classifier IS NOT NULL"))
        assert written == args.responses, written

    figures = {
        "responses": args.responses,
        "classified_with_db_write_per_s": round(args.responses / run_seconds),
        "run_seconds": round(run_seconds, 2),
        "analyzer_alone_per_s": round(analyzer_per_s),
        "bare_textblob_sentiment_per_s": round(bare_per_s),
        "ratio_with_db_write_to_bare_textblob": round(args.responses / run_seconds / bare_per_s, 2),
        "ratio_analyzer_to_bare_textblob": round(analyzer_per_s / bare_per_s, 2),
        "classifier": analyzer.version,
    }
    for key, value in figures.items():
        print(f"{key:40} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
