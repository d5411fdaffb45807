"""The sentiment model: a multinomial logistic regression over lexicon evidence and n-grams.

Its weights are trained once, at build time, by `vocloop.classify.training.train` from sentences rated
by people (reviews, tweets, movie and editorial snippets), and ship as `sentiment_model.json`;
classifying needs nothing but this file and the lexicons in the installed packages. Polarity is
P(positive) - P(negative), confidence is the probability of the chosen label.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

from vocloop.classify.features import DENSE_FEATURES, Evidence

LABELS = ("negative", "neutral", "positive")
MODEL_FILE = "sentiment_model.json"


@dataclass(frozen=True)
class Prediction:
    label: str
    polarity: float
    confidence: float
    probabilities: tuple[float, float, float]


@dataclass
class LinearModel:
    version: str
    means: list[float]
    scales: list[float]
    dense_weights: list[list[float]]  # per dense feature: one weight per label
    ngram_weights: dict[str, list[float]]
    bias: list[float]
    # Hashes of the lines it was trained on, so that an evaluation can leave them out (train.text_key).
    training_keys: list[str] = field(default_factory=list)

    def predict(self, evidence: Evidence) -> Prediction:
        scores = list(self.bias)
        for value, mean, scale, weights in zip(evidence.dense, self.means, self.scales, self.dense_weights,
                                               strict=True):
            x = (value - mean) / scale
            if x:
                scores[0] += weights[0] * x
                scores[1] += weights[1] * x
                scores[2] += weights[2] * x
        x = gram_value(evidence.ngrams)
        for gram in evidence.ngrams:
            weights = self.ngram_weights.get(gram)
            if weights is not None:
                scores[0] += weights[0] * x
                scores[1] += weights[1] * x
                scores[2] += weights[2] * x
        return _prediction(scores)

    def predict_words(self, dense: list[float], words: list[str]) -> Prediction:
        """`predict` on the words the n-grams are made of (features.scan), the same sums in the same order
        (the same figures to the last bit) without spelling each n-gram out and looking its string up:
        classifying answers in bulk spent a third of the analyzer there."""
        dense_rows, by_word = self._tables
        s0, s1, s2 = self.bias
        for value, (mean, scale, w0, w1, w2) in zip(dense, dense_rows, strict=True):
            x = (value - mean) / scale
            if x:
                s0 += w0 * x
                s1 += w1 * x
                s2 += w2 * x
        if words:
            x = 1 / math.sqrt(2 * len(words) - 1)  # gram_value: a text of n words has 2n - 1 n-grams
            entry_of = by_word.get
            pairs = []  # the word pairs' weights, added after every word's own: the order of predict's sums
            following = None
            for word in words:  # one lookup a word gives its weights and the pairs it starts
                if following is not None:
                    weights = following.get(word)
                    if weights is not None:
                        pairs.append(weights)
                entry = entry_of(word)
                if entry is None:
                    following = None
                    continue
                weights, following = entry
                if weights is not None:
                    w0, w1, w2 = weights
                    s0 += w0 * x
                    s1 += w1 * x
                    s2 += w2 * x
            for w0, w1, w2 in pairs:
                s0 += w0 * x
                s1 += w1 * x
                s2 += w2 * x
        return _prediction([s0, s1, s2])

    @cached_property
    def _tables(self) -> tuple[list[tuple[float, ...]],
                               dict[str, tuple[tuple[float, ...] | None, dict[str, tuple[float, ...]] | None]]]:
        """What predict_words reads, built on first use (a model's weights do not change once it is made):
        per dense feature its mean, scale and three weights; per word, its own n-gram weights ("w:word")
        and those of the pairs it starts, by their second word ("b:first second")."""
        dense_rows = [(mean, scale, *weights)
                      for mean, scale, weights in zip(self.means, self.scales, self.dense_weights, strict=True)]
        unigrams: dict[str, tuple[float, ...]] = {}
        bigrams: dict[str, dict[str, tuple[float, ...]]] = {}
        for gram, weights in self.ngram_weights.items():
            if gram.startswith("w:"):
                unigrams[gram[2:]] = tuple(weights)
            elif gram.startswith("b:"):
                first, _, second = gram[2:].partition(" ")
                bigrams.setdefault(first, {})[second] = tuple(weights)
        return dense_rows, {word: (unigrams.get(word), bigrams.get(word)) for word in unigrams.keys() | bigrams.keys()}

    def to_json(self) -> dict:
        return {"version": self.version, "labels": LABELS, "dense_features": DENSE_FEATURES,
                "means": self.means, "scales": self.scales, "dense_weights": self.dense_weights,
                "bias": self.bias, "ngram_weights": self.ngram_weights, "training_keys": self.training_keys}

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        if tuple(data["dense_features"]) != DENSE_FEATURES or tuple(data["labels"]) != LABELS:
            raise ValueError("sentiment model was trained on other features; "
                             "retrain it (vocloop.classify.training.train)")
        return cls(version=data["version"], means=data["means"], scales=data["scales"],
                   dense_weights=data["dense_weights"], ngram_weights=data["ngram_weights"], bias=data["bias"],
                   training_keys=data.get("training_keys", []))


def text_key(text: str) -> str:
    """How the model remembers a training line without storing it: a short hash of its words."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:12]


def gram_value(ngrams: list[str]) -> float:
    """Each n-gram of a text weighs 1/sqrt(n): long texts cannot win on word count alone."""
    return 1 / math.sqrt(len(ngrams)) if ngrams else 0.0


def _prediction(scores: list[float]) -> Prediction:
    probabilities = softmax(scores)
    best = max(range(3), key=probabilities.__getitem__)
    return Prediction(label=LABELS[best], polarity=probabilities[2] - probabilities[0],
                      confidence=probabilities[best], probabilities=tuple(probabilities))


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


@cache
def shipped_model() -> LinearModel:
    text = (resources.files("vocloop.classify") / MODEL_FILE).read_text(encoding="utf-8")
    return LinearModel.from_json(json.loads(text))
