"""Adapting the sentiment model to a team's own labels, and measuring the adaptation honestly.

The install's model starts from the shipped one and learns only how the team's comments differ: its
weights are the shipped weights plus a correction pulled towards zero (an L2 prior on the shipped
weights), so a few hundred labels move it where they agree and leave the rest of what it knew in place.
The team's words enter as new n-gram weights. Plain Python, like train.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from vocloop.classify.features import Evidence
from vocloop.classify.sentiment_model import LABELS, LinearModel, gram_value
from vocloop.classify.training.train import descend, kept_grams, score, stratified_folds

EPOCHS = 6
PRIOR_L2 = 3e-3  # how strongly the shipped weights hold
GRAM_L2 = 2e-2
RATE = 0.3
FOLDS = 5


def adapt(base: LinearModel, evidence: list[Evidence], labels: list[int], *, version: str,
          epochs: int = EPOCHS, seed: int = 7) -> LinearModel:
    """The base model moved towards the labelled comments by AdaGrad, classes weighted to count equally."""
    width = len(base.means)
    dense = [list(row) for row in base.dense_weights]
    prior_dense = [list(row) for row in base.dense_weights]
    grams = {gram: list(weights) for gram, weights in base.ngram_weights.items()}
    counts = Counter(gram for e in evidence for gram in set(e.ngrams))
    for gram in counts:
        grams.setdefault(gram, [0.0, 0.0, 0.0])
    bias = list(base.bias)
    per_label = Counter(labels)
    class_weight = [len(labels) / (3 * per_label[k]) if per_label[k] else 0.0 for k in range(3)]
    rows = [([(j, (e.dense[j] - base.means[j]) / base.scales[j]) for j in range(width)], e.ngrams,
             gram_value(e.ngrams), label) for e, label in zip(evidence, labels, strict=True)]
    descend(rows, bias, dense, grams, class_weight, prior_bias=base.bias, prior_dense=prior_dense,
            prior_grams=base.ngram_weights, rate=RATE, l2=PRIOR_L2, gram_l2=GRAM_L2, epochs=epochs, seed=seed)
    kept = kept_grams(grams)
    return LinearModel(version=version, means=base.means, scales=base.scales,
                       dense_weights=[[round(w, 6) for w in row] for row in dense], ngram_weights=kept,
                       bias=[round(b, 6) for b in bias], training_keys=[])


def macro_f1(model: LinearModel, evidence: list[Evidence], labels: list[int]) -> float:
    predicted = [LABELS.index(model.predict(e).label) for e in evidence]
    return score(labels, predicted, [0.0] * len(labels), [0.0] * len(labels)).macro_f1


@dataclass(frozen=True)
class Measure:
    before: float  # the base model on every labelled comment (it saw none of them)
    after: float  # cross-validated: each comment predicted by a model adapted without it
    folds: int


def cross_validate(base: LinearModel, evidence: list[Evidence], labels: list[int], folds: int = FOLDS,
                   epochs: int = EPOCHS) -> Measure:
    """Macro-F1 before (the base model) and after (adapted on the other folds), on the same comments."""
    folds = max(2, min(folds, min(Counter(labels).values(), default=0) or 2))
    predicted = [0] * len(labels)
    for held_out in stratified_folds(labels, folds):
        held = set(held_out)
        train = [i for i in range(len(labels)) if i not in held]
        model = adapt(base, [evidence[i] for i in train], [labels[i] for i in train], version="cv", epochs=epochs)
        for i in held_out:
            predicted[i] = LABELS.index(model.predict(evidence[i]).label)
    after = score(labels, predicted, [0.0] * len(labels), [0.0] * len(labels)).macro_f1
    return Measure(before=macro_f1(base, evidence, labels), after=after, folds=folds)
