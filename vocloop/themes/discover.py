"""Theme discovery over a set of comments: what they are about, not how the customer felt about it.

A theme is a group of comments sharing subject words. The words that say how someone felt ("great",
"awful", "not bad") are what TF-IDF topic models latch onto first, and they cut across every subject;
so they are left out here, using the sentiment lexicons vocloop already ships with (VADER's and
TextBlob's), along with function words. Comments are then TF-IDF vectors of their subject words and
word pairs, grouped by spherical k-means (cosine, k-means++ seeding, a fixed seed: the same input
gives the same themes). A theme is named by its most central key phrase. A comment with no subject
word belongs to no theme.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from vocloop.classify.features import FUNCTION_WORDS, lexicon

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
EXTRA_STOP = frozenset(
    "and or but of in on for with from as by about into over after before than then there here when where "
    "which who whom what why how not no nor can could will would shall should may might must one ones also "
    "get got go went come came make made take took say said see saw know knew think thought us our ours "
    "they them their theirs he him his she her hers its it's i'm i've i'd we're we've you're don't didn't "
    "doesn't isn't wasn't aren't weren't won't can't couldn't wouldn't shouldn't if because while until only "
    "more most much many some such other another every each both few lot lots thing things way time times "
    "place back still ever never always again well even just".split())
MIN_DF = 3
ITERATIONS = 25
RESTARTS = 5  # seeds tried; the run with the tightest themes wins (no labels involved)
RESTART_LIMIT = 20_000  # above this many comments one run: 100,000 comments stay within a minute
KEY_PHRASES = 5


@cache
def _not_nouns() -> frozenset[str]:
    """Words TextBlob's tagging lexicon (it ships inside the package) knows as anything but a noun."""
    from importlib import resources

    words = set()
    for line in (resources.files("textblob") / "en" / "en-lexicon.txt").read_text(encoding="utf-8").splitlines():
        word, _, tag = line.partition(" ")
        if tag and not tag.startswith("NN") and word.islower():
            words.add(word)
    return frozenset(words)


@cache
def _stop_words() -> frozenset[str]:
    lex = lexicon()
    feeling = {word for word, value in lex.valence.items() if value} | {
        word for word, (polarity, _) in lex.textblob.items() if polarity}
    return frozenset(FUNCTION_WORDS | EXTRA_STOP | feeling | set(lex.boosters) | lex.negations | _not_nouns())


def subject_terms(text: str) -> list[str]:
    """The comment's subject words (plural -s folded) and the pairs of them that stand side by side."""
    stop = _stop_words()
    words = []
    for word in _WORD.findall(text.lower()):
        if word in stop or len(word) < 3:
            words.append("")
            continue
        if word.endswith(("ches", "shes", "xes", "sses")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
            word = word[:-1]
        words.append(word)
    terms = [w for w in words if w]
    terms += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a and b]
    return terms


@dataclass
class Theme:
    name: str
    key_phrases: list[str]
    members: list[int]


def _normalise(vector: dict[int, float]) -> dict[int, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


def discover(texts: list[str], max_themes: int = 8, seed: int = 21) -> tuple[list[Theme], list[int | None]]:
    """Themes over the texts, and each text's theme index (None: no subject word, no theme)."""
    terms_of = [subject_terms(text) for text in texts]
    df = Counter(term for terms in terms_of for term in set(terms))
    min_df = min(MIN_DF, max(1, len(texts) // 50))  # a handful of comments: any shared word may name a theme
    vocabulary = {term: i for i, term in enumerate(sorted(t for t, count in df.items() if count >= min_df))}
    names = sorted(vocabulary, key=vocabulary.get)
    n = len(texts)
    idf = {vocabulary[t]: math.log((1 + n) / (1 + df[t])) + 1 for t in vocabulary}
    vectors: list[dict[int, float]] = []
    for terms in terms_of:
        counts = Counter(vocabulary[t] for t in terms if t in vocabulary)
        vectors.append(_normalise({k: (1 + math.log(c)) * idf[k] for k, c in counts.items()}))
    present = [i for i, v in enumerate(vectors) if v]
    k = max(1, min(max_themes, len(present)))
    if not present:
        return [], [None] * n
    restarts = RESTARTS if len(present) <= RESTART_LIMIT else 1
    best = max((_kmeans(vectors, present, k, random.Random(seed + r)) for r in range(restarts)),
               key=lambda run: run[0])
    _, centroids, assignment = best
    themes: list[Theme] = []
    taken: set[str] = set()
    for c, centroid in enumerate(centroids):
        members = [i for i, a in assignment.items() if a == c]
        top = [names[t] for t, _ in sorted(centroid.items(), key=lambda kv: -kv[1])[:KEY_PHRASES]]
        name = next((" / ".join(top[:j]) for j in range(1, len(top) + 1) if " / ".join(top[:j]) not in taken),
                    f"theme {c + 1}")
        taken.add(name)
        themes.append(Theme(name=name, key_phrases=top, members=sorted(members)))
    return themes, [assignment.get(i) for i in range(n)]


def _kmeans(vectors: list[dict[int, float]], present: list[int], k: int, rng: random.Random):
    """Spherical k-means from k-means++ seeds: (total similarity to the centroids, centroids, assignment)."""
    centroids = [vectors[rng.choice(present)]]
    distance = [1.0 - _dot(vectors[i], centroids[0]) for i in present]
    while len(centroids) < k:  # k-means++: far from the chosen ones, by probability
        total = sum(d * d for d in distance)
        if total <= 0:
            break
        pick, r = present[-1], rng.random() * total
        for i, d in zip(present, distance, strict=True):
            r -= d * d
            if r <= 0:
                pick = i
                break
        centroids.append(vectors[pick])
        distance = [min(d, 1.0 - _dot(vectors[i], centroids[-1])) for i, d in zip(present, distance, strict=True)]
    assignment: dict[int, int] = {}
    for _ in range(ITERATIONS):
        changed = False
        for i in present:
            best = max(range(len(centroids)), key=lambda c: _dot(vectors[i], centroids[c]))
            if assignment.get(i) != best:
                assignment[i], changed = best, True
        sums: list[Counter] = [Counter() for _ in centroids]
        for i, c in assignment.items():
            sums[c].update(vectors[i])
        centroids = [_normalise(dict(s)) if s else centroids[c] for c, s in enumerate(sums)]
        if not changed:
            break
    return sum(_dot(vectors[i], centroids[c]) for i, c in assignment.items()), centroids, assignment
