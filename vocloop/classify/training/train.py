"""Training and measuring the sentiment model, in plain Python so the build needs no numeric stack.

    pip download --no-deps --no-binary :all: -d /tmp/vader vaderSentiment==3.3.2   # the source distribution
    python -m vocloop.classify.training.train tests/data/amazonReviewSnippets_GroundTruth.txt \
        --vader-sdist /tmp/vader/vaderSentiment-3.3.2.tar.gz --out vocloop/classify/sentiment_model.json
    python -m vocloop.classify.training.train LABELED.tsv [--vader-sdist ...] --cv 10   # cross-validated figures

LABELED.tsv holds `id<TAB>mean human rating (-4..4)<TAB>text` per line (the Hutto & Gilbert ground
truth format). Labels follow the human reading: above 0.5 positive, below -0.5 negative, else neutral.
`--vader-sdist` adds the paper's other ground-truth sets that vaderSentiment's source distribution
ships (tweets, movie review snippets, NYT editorial snippets; MIT License, Copyright (c) 2016 C.J.
Hutto), read from the archive at build time. Every set keeps the same third out of the model (a hash
of its id), so each can still be measured on lines the model never saw.
Cross-validation is stratified and seeded, so the figures in the docs can be reproduced exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import random
import sys
import tarfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from vocloop.classify.features import DENSE_FEATURES, Evidence, lexicon, read
from vocloop.classify.sentiment_model import LABELS, LinearModel, gram_value, softmax, text_key

HUMAN_THRESHOLD = 0.5
# The other ground-truth sets in vaderSentiment's source distribution (the Amazon one is tests/data's copy).
VADER_SETS = {"tweets": "tweets_GroundTruth.txt", "movie": "movieReviewSnippets_GroundTruth.txt",
              "nyt": "nytEditorialSnippets_GroundTruth.txt"}
VADER_ARCHIVE = "additional_resources/hutto_ICWSM_2014.tar.gz"
# Weaker than fit's default on n-grams: with four sets (17,000 lines) the words have evidence enough.
SHIPPED_GRAM_L2 = 2e-2


@dataclass(frozen=True)
class Example:
    id: str
    rating: float
    text: str

    @property
    def label(self) -> int:
        return 2 if self.rating > HUMAN_THRESHOLD else 0 if self.rating < -HUMAN_THRESHOLD else 1


def load_labeled(path: str) -> list[Example]:
    """Rows of id, rating, text; a malformed row stops with its line number, never silently."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        return parse_labeled(handle, path)


def parse_labeled(lines: Iterable[str], path: str) -> list[Example]:
    examples = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        try:
            if len(parts) != 3:
                raise ValueError("expected 3 tab-separated fields: id, rating, text")
            examples.append(Example(id=parts[0], rating=float(parts[1]), text=parts[2]))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return examples


def load_vader_sets(sdist: str) -> dict[str, list[Example]]:
    """The tweets, movie and editorial ground truth, read inside vaderSentiment's sdist (no unpacking).

    Their ids repeat across files (1, 2, ...), so each gets its set's name in front ("tweets:1"):
    the held-out third is then chosen per set, and differs from the Amazon ids' own.
    """
    sets: dict[str, list[Example]] = {}
    with tarfile.open(sdist) as outer:
        inner_member = next((m for m in outer.getmembers() if m.name.endswith(VADER_ARCHIVE)), None)
        if inner_member is None:
            raise ValueError(f"{sdist}: no {VADER_ARCHIVE} inside (is it vaderSentiment's source distribution?)")
        with tarfile.open(fileobj=outer.extractfile(inner_member)) as inner:
            files = {PurePosixPath(m.name).name: m for m in inner.getmembers() if m.isfile()}
            for name, file_name in VADER_SETS.items():
                raw = inner.extractfile(files[file_name]).read().decode("utf-8", errors="replace")
                examples = parse_labeled(io.StringIO(raw, newline=""), f"{sdist}!{file_name}")
                sets[name] = [replace(example, id=f"{name}:{example.id}") for example in examples]
    return sets


def is_held_out(example: Example, every: int) -> bool:
    """A fixed, content-based share of the lines (1 in `every`) that the shipped model never sees."""
    return every > 0 and int(hashlib.sha256(example.id.encode()).hexdigest(), 16) % every == 0


def fit(evidence: list[Evidence], labels: list[int], *, version: str, l2: float = 1e-4, gram_l2: float = 7e-2,
        epochs: int = 12, min_count: int = 2, seed: int = 7) -> LinearModel:
    """Multinomial logistic regression by AdaGrad, classes weighted to count equally (macro-F1).

    An n-gram gets a weight when `min_count` lines have it. A word pair that starts with a negation
    ("not bad", "don't like") gets none: the rules read negation already (features.read), and such a
    pair, seen in a handful of lines, learns those lines' mood instead ("not bad" is in four movie and
    editorial lines rated negative for what else they say: "not bad, but not all that good").
    """
    width = len(DENSE_FEATURES)
    means = [sum(e.dense[j] for e in evidence) / len(evidence) for j in range(width)]
    spreads = [math.sqrt(sum((e.dense[j] - means[j]) ** 2 for e in evidence) / len(evidence)) for j in range(width)]
    scales = [spread if spread >= 1e-4 else 1.0 for spread in spreads]  # a constant feature stays unscaled
    counts = Counter(gram for e in evidence for gram in set(e.ngrams))
    negations = lexicon().negations
    vocabulary = {gram for gram, count in counts.items() if count >= min_count and not negated_pair(gram, negations)}
    per_label = Counter(labels)
    class_weight = [len(labels) / (3 * per_label[k]) if per_label[k] else 0.0 for k in range(3)]

    dense = [[0.0, 0.0, 0.0] for _ in range(width)]
    grams: dict[str, list[float]] = {gram: [0.0, 0.0, 0.0] for gram in vocabulary}
    bias = [0.0, 0.0, 0.0]
    rows = [([(j, (e.dense[j] - means[j]) / scales[j]) for j in range(width)],
             [g for g in e.ngrams if g in vocabulary], gram_value(e.ngrams), label)
            for e, label in zip(evidence, labels, strict=True)]
    zeros = [0.0, 0.0, 0.0]
    descend(rows, bias, dense, grams, class_weight, prior_bias=zeros, prior_dense=[zeros] * width, prior_grams={},
            rate=0.5, l2=l2, gram_l2=gram_l2, epochs=epochs, seed=seed)
    kept = kept_grams(grams)
    return LinearModel(version=version, means=[round(m, 6) for m in means], scales=[round(s, 6) for s in scales],
                       dense_weights=[[round(w, 6) for w in row] for row in dense], ngram_weights=kept,
                       bias=[round(b, 6) for b in bias])


Row = tuple[list[tuple[int, float]], list[str], float, int]  # scaled dense features, n-grams, their value, label


def descend(rows: list[Row], bias: list[float], dense: list[list[float]], grams: dict[str, list[float]],
            class_weight: list[float], *, prior_bias: list[float], prior_dense: list[list[float]],
            prior_grams: dict[str, list[float]], rate: float, l2: float, gram_l2: float, epochs: int,
            seed: int) -> None:
    """AdaGrad on the class-weighted log loss, the weights changed in place: each row a step, in an order
    shuffled per epoch (seeded), each weight pulled towards its prior by L2 (the bias not at all). The
    prior is zero when training from scratch (fit) and the shipped weights when adapting them (adapt)."""
    history: dict[str, list[float]] = {}  # AdaGrad's squared gradients per weight row
    zero = (0.0, 0.0, 0.0)

    def step(weights: list[float], prior, key: str, gradient: list[float], decay: float) -> None:
        squared = history.setdefault(key, [1e-8, 1e-8, 1e-8])
        for k in range(3):
            g = gradient[k] + decay * (weights[k] - prior[k])
            squared[k] += g * g
            weights[k] -= rate * g / math.sqrt(squared[k])

    order = list(range(len(rows)))
    rng = random.Random(seed)
    for _epoch in range(epochs):
        rng.shuffle(order)
        for index in order:
            features, row_grams, gram_x, label = rows[index]
            scores = list(bias)
            for j, x in features:
                w = dense[j]
                scores[0] += w[0] * x
                scores[1] += w[1] * x
                scores[2] += w[2] * x
            for gram in row_grams:
                w = grams[gram]
                scores[0] += w[0] * gram_x
                scores[1] += w[1] * gram_x
                scores[2] += w[2] * gram_x
            probabilities = softmax(scores)
            error = [class_weight[label] * (probabilities[k] - (1.0 if k == label else 0.0)) for k in range(3)]
            step(bias, prior_bias, "\0bias", error, 0.0)
            for j, x in features:
                if x:
                    step(dense[j], prior_dense[j], f"\0{j}", [e * x for e in error], l2)
            for gram in row_grams:
                step(grams[gram], prior_grams.get(gram, zero), gram, [e * gram_x for e in error], gram_l2)


def kept_grams(grams: dict[str, list[float]]) -> dict[str, list[float]]:
    """The n-gram weights worth shipping (any class at 0.005 or more), rounded, in a stable order."""
    return {gram: [round(w, 5) for w in weights] for gram, weights in sorted(grams.items())
            if max(abs(w) for w in weights) >= 0.005}


def negated_pair(gram: str, negations: frozenset[str]) -> bool:
    if not gram.startswith("b:"):
        return False
    first = gram[2:].split(" ", 1)[0]
    return first in negations or first.endswith("n't")


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    pearson_r: float
    per_label_f1: dict[str, float]


def score(truth: list[int], predicted: list[int], ratings: list[float], polarities: list[float]) -> Scores:
    """Accuracy, macro-F1 over the three labels and Pearson r of polarity against the human rating."""
    f1s = {}
    for k, name in enumerate(LABELS):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == k and p == k)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != k and p == k)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == k and p != k)
        f1s[name] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    accuracy = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p) / len(truth)
    return Scores(accuracy=accuracy, macro_f1=sum(f1s.values()) / 3, pearson_r=pearson(ratings, polarities),
                  per_label_f1=f1s)


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    return cov / math.sqrt(var_x * var_y) if var_x and var_y else 0.0


def stratified_folds(labels: list[int], folds: int, seed: int = 0) -> list[list[int]]:
    rng = random.Random(seed)
    assignment: list[list[int]] = [[] for _ in range(folds)]
    for k in range(3):
        members = [i for i, label in enumerate(labels) if label == k]
        rng.shuffle(members)
        for position, index in enumerate(members):
            assignment[position % folds].append(index)
    return assignment


def cross_validate(examples: list[Example], folds: int = 10, extra: list[Example] = (), **fit_options) -> Scores:
    """Every line is predicted by a model that never saw it (`extra` lines join every fold's training)."""
    evidence = [read(example.text) for example in examples]
    labels = [example.label for example in examples]
    extra_evidence = [read(example.text) for example in extra]
    extra_labels = [example.label for example in extra]
    predicted = [0] * len(examples)
    polarity = [0.0] * len(examples)
    for held_out in stratified_folds(labels, folds):
        held = set(held_out)
        train = [i for i in range(len(examples)) if i not in held]
        model = fit([evidence[i] for i in train] + extra_evidence, [labels[i] for i in train] + extra_labels,
                    version="cv", **fit_options)
        for i in held_out:
            prediction = model.predict(evidence[i])
            predicted[i], polarity[i] = LABELS.index(prediction.label), prediction.polarity
    return score(labels, predicted, [e.rating for e in examples], polarity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labeled", help="tab-separated id, mean human rating, text")
    parser.add_argument("--cv", type=int, default=0, help="report k-fold cross-validated figures")
    parser.add_argument("--out", help="write the model trained on every line to this file")
    parser.add_argument("--version", default="vocloop-sentiment-1")
    parser.add_argument("--hold-out-every", type=int, default=3,
                        help="keep 1 line in N of each set out of the shipped model's training (0: train on all)")
    parser.add_argument("--vader-sdist", help="vaderSentiment's source distribution (.tar.gz): also train on "
                        "its tweets, movie and editorial ground truth, each set's held-out share kept out")
    parser.add_argument("--gram-l2", type=float, help="the n-grams' L2 penalty (default: fit's with one set, "
                        f"{SHIPPED_GRAM_L2} with the vaderSentiment sets)")
    args = parser.parse_args(argv)
    examples = load_labeled(args.labeled)
    others = [e for examples_of_set in (load_vader_sets(args.vader_sdist) if args.vader_sdist else {}).values()
              for e in examples_of_set if not is_held_out(e, args.hold_out_every)]
    gram_l2 = args.gram_l2 if args.gram_l2 is not None else SHIPPED_GRAM_L2 if others else None
    options = {} if gram_l2 is None else {"gram_l2": gram_l2}
    if args.cv:
        result = cross_validate(examples, folds=args.cv, extra=others, **options)
        print(json.dumps({"folds": args.cv, "lines": len(examples), "accuracy": round(result.accuracy, 4),
                          "macro_f1": round(result.macro_f1, 4), "pearson_r": round(result.pearson_r, 4),
                          "per_label_f1": {k: round(v, 4) for k, v in result.per_label_f1.items()}}))
    if args.out:
        training = [e for e in examples if not is_held_out(e, args.hold_out_every)] + others
        model = fit([read(e.text) for e in training], [e.label for e in training], version=args.version, **options)
        model.training_keys = sorted({text_key(e.text) for e in training})
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(model.to_json(), handle, separators=(",", ":"), sort_keys=True)
            handle.write("\n")
        print(f"wrote {args.out}: trained on {len(training)} lines ({len(training) - len(others)} of "
              f"{len(examples)} in {args.labeled}, {len(others)} from the vaderSentiment sets), "
              f"{len(model.ngram_weights)} n-gram weights", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
