"""What a subject word means, learned from the comments themselves: the words said around it.

"Waiter", "staff" and "server" rarely share a comment, but they share the words around them
("friendly", "rude", "attentive"); "sushi" and "pasta" share "fresh" and "delicious". A subject word's
vector is its positive pointwise mutual information with the content words of the comments it
appears in (feeling words included: here they are what ties a subject to its kind), context counts
smoothed to the power 0.75 (Levy, Goldberg and Dagan 2015), kept to its 200 strongest, plus the
word itself, so that a word seen in few comments still stands for something. Nothing is downloaded:
a new install's own comments teach it its own words.
"""

from __future__ import annotations

import math
from collections import Counter
from operator import mul

CONTEXT_SMOOTHING = 0.75
STRONGEST_CONTEXTS = 200  # more than most words have; the commonest are cut, a run stays within a minute


class WordSpace:
    """Unit-length sparse word vectors over numbered contexts; themes' centres are dense lists over them."""

    def __init__(self, rows: dict[str, dict[str, float]]):
        contexts: dict[str, int] = {}
        self.vectors: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {}
        for word, row in rows.items():
            norm = math.sqrt(sum(v * v for v in row.values()))
            ordered = sorted(row)
            self.vectors[word] = (tuple(contexts.setdefault(c, len(contexts)) for c in ordered),
                                  tuple(row[c] / norm for c in ordered))
        self.size = len(contexts)
        self._likeness: dict[tuple[str, str], float] = {}
        self._lookups: dict[str, dict[int, float]] = {}

    def similarity(self, word: str, centre: list[float]) -> float:
        keys, values = self.vectors[word]
        return sum(map(mul, values, map(centre.__getitem__, keys)))

    def likeness(self, a: str, b: str) -> float:
        """Cosine of two words (cached: the same pairs come back comment after comment)."""
        key = (a, b) if a < b else (b, a)
        if key not in self._likeness:
            if len(self.vectors[a][0]) > len(self.vectors[b][0]):
                a, b = b, a
            other = self._lookup(b)
            keys, values = self.vectors[a]
            self._likeness[key] = sum(v * other.get(k, 0.0) for k, v in zip(keys, values, strict=True))
        return self._likeness[key]

    def _lookup(self, word: str) -> dict[int, float]:
        if word not in self._lookups:
            self._lookups[word] = dict(zip(*self.vectors[word], strict=True))
        return self._lookups[word]

    def combine(self, weighted_words, normalised: bool = True) -> list[float]:
        """The weighted sum of the words' vectors, dense, unit length unless asked otherwise."""
        total = [0.0] * self.size
        for word, weight in weighted_words:
            keys, values = self.vectors[word]
            for k, v in zip(keys, values, strict=True):
                total[k] += weight * v
        if not normalised:
            return total
        norm = math.sqrt(sum(v * v for v in total))
        return [v / norm for v in total] if norm else total

    def length(self, weighted_words) -> float:
        """The length of the weighted sum of the words' vectors, from their pairwise likeness."""
        words = list(weighted_words)
        total = sum(weight * weight for _, weight in words)
        for i, (a, weight_a) in enumerate(words):
            for b, weight_b in words[i + 1:]:
                total += 2 * weight_a * weight_b * self.likeness(a, b)
        return math.sqrt(total)


def word_vectors(subjects: list[list[str]], contexts: list[list[str]], vocabulary: set[str],
                 min_df: int) -> WordSpace:
    """One vector per vocabulary word, from the comments' subject words and context words."""
    context_df = Counter(word for words in contexts for word in set(words))
    kept = {word for word, count in context_df.items() if count >= min_df}
    pairs: Counter = Counter()
    for words, around in zip(subjects, contexts, strict=True):
        present = [word for word in set(words) if word in vocabulary]
        if not present:
            continue
        neighbours = {word for word in around if word in kept}
        for word in present:
            pairs.update((word, other) for other in neighbours if other != word)
    word_total: Counter = Counter()
    context_total: Counter = Counter()
    for (word, other), count in pairs.items():
        word_total[word] += count
        context_total[other] += count
    smoothed = {other: count ** CONTEXT_SMOOTHING for other, count in context_total.items()}
    scale = sum(smoothed.values())
    rows: dict[str, dict[str, float]] = {word: {} for word in vocabulary}
    for (word, other), count in pairs.items():
        pmi = math.log(count * scale / (word_total[word] * smoothed[other]))
        if pmi > 0:
            rows[word][other] = pmi
    for word, row in rows.items():
        strongest = dict(sorted(row.items(), key=lambda kv: (-kv[1], kv[0]))[:STRONGEST_CONTEXTS])
        strongest["=" + word] = max(strongest.values(), default=1.0)  # the word itself, as strong as its best
        rows[word] = strongest
    return WordSpace(rows)
