"""Themes figure: with no labels, how well do the themes found recover people's categories?

Data: the restaurant sentences of SemEval-2014 (../shared/data/themes, read in place, 3,038 lines,
each with one or more human aspect categories: food, service, price, ambience, misc). A sentence's
category is its first one. Side by side on the same lines and the same number of themes:
vocloop's theme discovery (vocloop.themes.discover) and the anchor, TF-IDF + NMF over all words
(plain Python, scikit-learn is not a dependency: stop words removed, words in 3 or more sentences and
fewer than half, sublinear tf, smoothed idf, l2 rows, multiplicative updates, 60 iterations; a
sentence's theme is its largest weight). Comments with no theme form one group of their own in the
scores. Figures: normalized mutual information (arithmetic mean) and each theme's purity (the share of
its sentences in its commonest category).

    python benchmarks/themes.py [--max 5,8] [--data PATH] [--speed 100000]
    python benchmarks/themes.py --database 100000 [--database-url URL]

`--speed N` also times discovery over N comments in memory, twice: the sentences repeated (discovery
counts a comment said many times once, so this is the easy case) and N distinct comments, each two
of the sentences drawn at random (a fixed seed).

`--database N` is the job as a lead starts it (issue #21's goal: 100,000 comments on PostgreSQL in
under 60 s): N answered comments seeded in the database (each two of the sentences, N distinct-ish
pairs, answered over twelve weeks, with sentiment labels), then the theme-discovery job timed end to
end: reading the period's comments, discovering, and writing the proposed themes with their sentiment
mix, trend and examples. It prints the seconds, the peak memory the job added to the process, and
discovery alone over the same comments in memory beside it (what the database part costs).

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import DEFAULT_DATABASE_URL, keep_migrated, reset_database  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "themes" / "restaurants_aspect_categories.tsv"
_TOKEN = re.compile(r"[a-z][a-z']+")
STOP = frozenset("the a an and or but of to in on for with at by from is are was were be been it this that these "
                 "those i we you they he she my our your their me us them not no so as if then than there here "
                 "very just all any some can could would should will do does did have has had its it's i'm".split())


def nmi(truth: list, found: list) -> float:
    n = len(truth)
    a, b, ab = Counter(truth), Counter(found), Counter(zip(truth, found, strict=True))
    mi = sum(c / n * math.log((c / n) / ((a[x] / n) * (b[y] / n))) for (x, y), c in ab.items())
    ha = -sum(c / n * math.log(c / n) for c in a.values())
    hb = -sum(c / n * math.log(c / n) for c in b.values())
    return 2 * mi / (ha + hb) if ha + hb else 0.0


def purities(truth: list, found: list, names: dict) -> list[dict]:
    groups: dict = {}
    for t, f in zip(truth, found, strict=True):
        groups.setdefault(f, Counter())[t] += 1
    return sorted(({"theme": names.get(f), "comments": sum(c.values()), "category": c.most_common(1)[0][0],
                    "purity": round(c.most_common(1)[0][1] / sum(c.values()), 3)} for f, c in groups.items()),
                  key=lambda row: -row["comments"])


def nmf_anchor(texts: list[str], k: int, iterations: int = 60, seed: int = 0) -> list[int]:
    docs = [[w for w in _TOKEN.findall(t.lower()) if w not in STOP] for t in texts]
    n = len(docs)
    df = Counter(w for d in docs for w in set(d))
    vocab = {w: i for i, w in enumerate(sorted(w for w, c in df.items() if 3 <= c < 0.5 * n))}
    size = len(vocab)
    rows = []
    for d in docs:
        counts = Counter(vocab[w] for w in d if w in vocab)
        row = {j: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[w])) + 1)
               for w, j in vocab.items() if (c := counts.get(j))} if counts else {}
        norm = math.sqrt(sum(v * v for v in row.values())) or 1.0
        rows.append({j: v / norm for j, v in row.items()})
    rng = random.Random(seed)
    w = [[rng.random() for _ in range(k)] for _ in range(n)]
    h = [[rng.random() for _ in range(size)] for _ in range(k)]
    eps = 1e-9
    for _ in range(iterations):
        wtx = [[0.0] * size for _ in range(k)]
        for r, row in enumerate(rows):
            for j, x in row.items():
                for a in range(k):
                    wtx[a][j] += w[r][a] * x
        wtw = [[sum(w[r][a] * w[r][b] for r in range(n)) for b in range(k)] for a in range(k)]
        for a in range(k):
            for j in range(size):
                h[a][j] *= wtx[a][j] / (sum(wtw[a][b] * h[b][j] for b in range(k)) + eps)
        hht = [[sum(h[a][j] * h[b][j] for j in range(size)) for b in range(k)] for a in range(k)]
        for r, row in enumerate(rows):
            numerator = [sum(x * h[a][j] for j, x in row.items()) for a in range(k)]
            w[r] = [w[r][a] * numerator[a] / (sum(w[r][b] * hht[b][a] for b in range(k)) + eps) for a in range(k)]
    return [max(range(k), key=w[r].__getitem__) if rows[r] else -1 for r in range(n)]


SEED_SQL = """
INSERT INTO surveys (id, name, kind, question, comment_prompt, subject, intro, quarantine_days, link_expiry_days,
                     active, created_at)
  VALUES (1, 'NPS', 'nps', 'q', 'c', 's', '', 90, 30, true, now());
INSERT INTO contacts (id, email, name, attributes, created_at)
  SELECT c, 'c' || c || '@customer.example', 'Customer ' || c, '{}', now() FROM generate_series(1, :comments) c;
INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, created_at)
  SELECT i, 1, i, md5(i::text) || md5((i * 7)::text), 'delivered', now(), now() FROM generate_series(1, :comments) i;
INSERT INTO responses (id, invitation_id, survey_id, contact_id, score, comment, answered_at, completed_at,
                       processed_at, sentiment_label, topics, urgent, urgency_flags, sentiment_mismatch, status,
                       created_at)
  SELECT i, i, 1, i, i % 11,
         (CAST(:sentences AS text[]))[1 + (i::bigint * 7919) % :count] || ' '
           || (CAST(:sentences AS text[]))[1 + (i::bigint * 104729 + i / :count) % :count],
         now() - i * (:weeks * interval '1 week') / :comments, now(), now(),
         (ARRAY['negative', 'neutral', 'positive'])[1 + i % 3], '[]', false, '[]', false, 'counted', now()
  FROM generate_series(1, :comments) i;
"""


def database_speed(url: str, comments: int, texts: list[str]) -> dict:
    """The theme-discovery job over `comments` seeded answers, end to end; discovery in memory beside it."""
    import resource

    from flask_migrate import upgrade
    from sqlalchemy import text

    from vocloop import create_app
    from vocloop.extensions import db
    from vocloop.themes import service
    from vocloop.themes.discover import discover
    from vocloop.themes.models import ThemeRun

    reset_database(url)
    # the job reads every comment seeded (THEMES_MAX_COMMENTS caps it at 100,000 by default)
    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": None,
                      "THEMES_MAX_COMMENTS": max(comments, 100)})
    with app.app_context():
        upgrade()
        keep_migrated(url)
        started = time.perf_counter()
        for statement in SEED_SQL.strip().split(";\n"):
            db.session.execute(text(statement), {"comments": comments, "sentences": texts, "count": len(texts),
                                                 "weeks": 12})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
        seeded = time.perf_counter() - started
        distinct = db.session.scalar(text("SELECT count(DISTINCT comment) FROM responses"))
        run = ThemeRun(only_untagged=True)
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        db.session.remove()
        memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        run = service.run_discovery(run_id)
        seconds = time.perf_counter() - started
        peak_added_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before) / 1024
        assert run.status == "done", (run.status, run.error)
        found = [(theme.name, theme.comments) for theme in run.themes]
        in_run = run.comments
        stored = [row[0] for row in db.session.execute(
            text("SELECT comment FROM responses ORDER BY answered_at DESC, id DESC LIMIT :n"), {"n": in_run})]
        db.session.remove()
    started = time.perf_counter()
    discover(stored, max_themes=service.MAX_THEMES)
    in_memory = time.perf_counter() - started
    return {"comments_seeded": comments, "distinct_comments": distinct, "comments_in_run": in_run,
            "database": url.split(":", 1)[0], "seed_seconds": round(seeded, 1), "job_seconds": round(seconds, 1),
            "job_peak_memory_added_mb": round(peak_added_mb), "discovery_in_memory_seconds": round(in_memory, 1),
            "themes": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", default="5,8")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--speed", type=int, default=0)
    parser.add_argument("--database", type=int, default=0, metavar="N",
                        help="time the theme-discovery job over N comments seeded in the database")
    parser.add_argument("--database-url", default=os.environ.get("VOCLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    from vocloop.themes.discover import discover

    rows = [line.split("\t") for line in args.data.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if len(r) >= 4]
    texts, truth = [r[3] for r in rows], [r[1].split(",")[0] for r in rows]
    figures: dict = {"data": "restaurants (SemEval-2014)", "sentences": len(texts)}
    if args.database:
        figures["database_job"] = job = database_speed(args.database_url, args.database, texts)
        print(f"theme-discovery job over {job['comments_in_run']} of {job['comments_seeded']} comments in "
              f"{job['database']} ({job['distinct_comments']} distinct): {job['job_seconds']} s, peak memory "
              f"+{job['job_peak_memory_added_mb']} MB; in memory {job['discovery_in_memory_seconds']} s")
        args.max = ""
    for k in (int(value) for value in args.max.split(",") if value):
        started = time.perf_counter()
        themes, assignment = discover(texts, max_themes=k)
        seconds = time.perf_counter() - started
        found = [a if a is not None else -1 for a in assignment]
        names = {i: t.name for i, t in enumerate(themes)}
        anchor = nmf_anchor(texts, k)
        figures[f"k{k}"] = {"vocloop_nmi": round(nmi(truth, found), 4),
                            "anchor_tfidf_nmf_nmi": round(nmi(truth, anchor), 4),
                            "vocloop_seconds": round(seconds, 2), "vocloop_themes": purities(truth, found, names),
                            "vocloop_mean_purity": round(sum(p["purity"] for p in purities(truth, found, names))
                                                         / len(set(found)), 3),
                            "anchor_mean_purity": round(sum(p["purity"] for p in purities(truth, anchor, {}))
                                                        / len(set(anchor)), 3)}
        print(f"{k} themes: vocloop NMI {figures[f'k{k}']['vocloop_nmi']}, anchor TF-IDF+NMF NMI "
              f"{figures[f'k{k}']['anchor_tfidf_nmf_nmi']}; themes: "
              + ", ".join(f"{p['theme']} ({p['comments']}, {p['purity']:.0%} {p['category']})"
                          for p in figures[f"k{k}"]["vocloop_themes"]))
    if args.speed:
        many = [texts[i % len(texts)] for i in range(args.speed)]
        started = time.perf_counter()
        discover(many, max_themes=8)
        figures["speed"] = {"comments": args.speed, "seconds": round(time.perf_counter() - started, 1)}
        rng = random.Random(0)
        distinct = [f"{rng.choice(texts)} {rng.choice(texts)}" for _ in range(args.speed)]
        started = time.perf_counter()
        discover(distinct, max_themes=8)
        figures["speed"]["distinct_seconds"] = round(time.perf_counter() - started, 1)
        print(f"discovery over {args.speed} comments: {figures['speed']['seconds']} s (the sentences repeated), "
              f"{figures['speed']['distinct_seconds']} s ({len(set(distinct))} distinct ones), in memory")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
