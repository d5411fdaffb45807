"""Learning figure: does the install's model learn a domain the shipped model never saw from N labels?

The domain is restaurant reviews (SemEval-2014 sentences in ../shared/data/themes, read in place; the
shipped model was trained on product reviews). A sentence's label is its aspects' polarity when they
all agree (positive, negative or neutral); the others (conflict, mixed) are left out. With the same
seeded split every time, the first N sentences of a fixed pool of 1,000 go through the product's own
path on a fresh SQLite database: written as a CSV, `flask corrections import`, `flask retrain`; then
the model in use classifies every sentence outside the pool. Side by side on the same held-out lines:
the shipped model without the labels, and the anchor, TF-IDF + logistic regression trained on the N
alone (plain Python: scikit-learn is not a dependency; unigrams and bigrams, sublinear tf, smoothed
idf, l2 rows; multinomial L2 logistic regression, C = 1, classes balanced).

    python benchmarks/learning.py [--sizes 500,1000] [--speed 10000] [--data PATH]

`--speed N` also times `retrain` on N corrections (product-review and restaurant sentences, repeated
with a counter to reach N). The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "themes" / "restaurants_aspect_categories.tsv"
REVIEWS = ROOT / "tests" / "data" / "amazonReviewSnippets_GroundTruth.txt"
LABELS = ("negative", "neutral", "positive")
POOL = 1000
SEED = 21


def load(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        polarities = set(parts[2].split(","))
        if len(polarities) == 1 and (label := polarities.pop()) in LABELS:
            rows.append((parts[3], label))
    random.Random(SEED).shuffle(rows)
    return rows


def macro_f1(truth: list[str], predicted: list[str]) -> float:
    f1s = []
    for label in LABELS:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / 3


# -- the anchor: TF-IDF + logistic regression on the N labels alone ------------------------------

_TOKEN = re.compile(r"[a-z0-9']+")


def _grams(text: str) -> list[str]:
    words = _TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def anchor(train: list[tuple[str, str]], test: list[tuple[str, str]], c: float = 1.0, epochs: int = 40) -> float:
    df = Counter(g for text, _ in train for g in set(_grams(text)))
    idf = {g: math.log((1 + len(train)) / (1 + k)) + 1 for g, k in df.items()}

    def vector(text):
        counts = Counter(g for g in _grams(text) if g in idf)
        v = {g: (1 + math.log(k)) * idf[g] for g, k in counts.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {g: x / norm for g, x in v.items()}

    xs, ys = [vector(t) for t, _ in train], [LABELS.index(label) for _, label in train]
    per = Counter(ys)
    weight = [len(ys) / (3 * per[k]) if per[k] else 0.0 for k in range(3)]
    decay = 1 / (c * len(xs))
    w: dict[str, list[float]] = {}
    bias = [0.0, 0.0, 0.0]
    squared: dict[str, list[float]] = {}
    order = list(range(len(xs)))
    rng = random.Random(0)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            x, y = xs[i], ys[i]
            scores = list(bias)
            for g, v in x.items():
                if g in w:
                    scores = [s + wk * v for s, wk in zip(scores, w[g], strict=True)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            error = [weight[y] * (e / total - (k == y)) for k, e in enumerate(exps)]
            for key, row, value, l2 in [("\0", bias, 1.0, 0.0)] + [(g, w.setdefault(g, [0.0] * 3), v, decay)
                                                                      for g, v in x.items()]:
                history = squared.setdefault(key, [1e-8] * 3)
                for k in range(3):
                    gradient = error[k] * value + l2 * row[k]
                    history[k] += gradient * gradient
                    row[k] -= 0.5 * gradient / math.sqrt(history[k])

    def predict(text):
        scores = list(bias)
        for g, v in vector(text).items():
            if g in w:
                scores = [s + wk * v for s, wk in zip(scores, w[g], strict=True)]
        return LABELS[max(range(3), key=scores.__getitem__)]

    return macro_f1([label for _, label in test], [predict(text) for text, _ in test])


# -- the product's path ---------------------------------------------------------------------------

def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def fresh_app(directory: str, name: str):
    from vocloop import create_app
    from vocloop.extensions import db

    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": f"sqlite:///{directory}/{name}.db",
                      "REDIS_URL": None})
    with app.app_context():
        db.create_all()
    return app


def learn(directory: str, train: list[tuple[str, str]], test: list[tuple[str, str]]) -> dict:
    app = fresh_app(directory, f"learn{len(train)}")
    runner = app.test_cli_runner()
    csv_path = Path(directory) / f"labels{len(train)}.csv"
    write_csv(csv_path, train)
    imported = runner.invoke(args=["corrections", "import", str(csv_path)])
    assert imported.exit_code == 0, imported.output
    started = time.perf_counter()
    result = runner.invoke(args=["retrain"])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    with app.app_context():
        from vocloop.classify.learning import analyzer_in_use

        analyzer = analyzer_in_use()
        predicted = [analyzer.analyze(text).label for text, _ in test]
    return {"macro_f1": round(macro_f1([label for _, label in test], predicted), 4),
            "cv_before": figures["macro_f1_before"], "cv_after": figures["macro_f1_after"],
            "in_use": figures["in_use"], "retrain_seconds": round(seconds, 1)}


def speed(directory: str, size: int, restaurants: list[tuple[str, str]]) -> dict:
    sys.path.insert(0, str(ROOT))
    from vocloop.classify.training.train import load_labeled

    reviews = [(e.text, LABELS[e.label]) for e in load_labeled(str(REVIEWS))]
    source = reviews + restaurants
    rows = [(f"{text} ({i // len(source)})" if i >= len(source) else text, label)
            for i, (text, label) in enumerate(source[i % len(source)] for i in range(size))]
    app = fresh_app(directory, "speed")
    csv_path = Path(directory) / "speed.csv"
    write_csv(csv_path, rows)
    runner = app.test_cli_runner()
    runner.invoke(args=["corrections", "import", str(csv_path)])
    started = time.perf_counter()
    result = runner.invoke(args=["retrain"])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    return {"corrections": size, "retrain_seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,1000")
    parser.add_argument("--speed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    rows = load(args.data)
    pool, test = rows[:POOL], rows[POOL:]
    truth = [label for _, label in test]
    from vocloop.classify import get_analyzer

    shipped = get_analyzer("vocloop")
    figures: dict = {"domain": "restaurants (SemEval-2014), unanimous sentences", "held_out": len(test),
                     "shipped": round(macro_f1(truth, [shipped.analyze(t).label for t, _ in test]), 4)}
    print(f"held out {len(test)} sentences; shipped model {shipped.version}: macro-F1 {figures['shipped']}")
    with tempfile.TemporaryDirectory() as directory:
        for size in (int(s) for s in args.sizes.split(",")):
            learned = learn(directory, pool[:size], test)
            base = round(anchor(pool[:size], test), 4)
            figures[f"n{size}"] = {"retrained": learned, "anchor_tfidf_lr": base}
            print(f"N={size}: retrained {learned['macro_f1']} (cv on the labels {learned['cv_before']} -> "
                  f"{learned['cv_after']}, {learned['retrain_seconds']} s), anchor TF-IDF+LR {base}, "
                  f"shipped {figures['shipped']}")
        if args.speed:
            figures["speed"] = speed(directory, args.speed, rows)
            print(f"retrain on {args.speed} corrections: {figures['speed']['retrain_seconds']} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
