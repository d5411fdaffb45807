"""Theme discovery over a set of comments: what they are about, not how the customer felt about it.

A theme is a group of comments about the same kind of thing. What a comment is about is its subject
words: the words that say how someone felt ("great", "awful", "not bad") cut across every subject, so
they are left out (VADER's and TextBlob's lexicons, which vocloop already ships with), along with
function words and words TextBlob's tagging lexicon knows only as non-nouns. Words alone split a kind
of thing into as many themes as it has names (waiter, staff, server); so each subject word is a
vector of the words said around it in these same comments (themes/vectors.py), and a comment is the
TF-IDF-weighted sum of its subject words' vectors. Comments are grouped by spherical k-means, seeded
by the commonest subject words that mean different things (no randomness: the same input gives the
same themes). A theme is named by its most telling key phrase. A comment with no subject word
belongs to no theme.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from vocloop.classify.features import FUNCTION_WORDS, lexicon
from vocloop.themes.vectors import WordSpace, word_vectors

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
MAX_WORDS = 5_000  # the commonest subject words; rarer ones name no theme and keep a run within a minute
FIT_LIMIT = 10_000  # comments words and themes are learned from (evenly spread); then every comment is placed
ITERATIONS = 30
SETTLED = 0.01  # k-means stops when fewer than this share of the comments change theme
SEED_CANDIDATES = 50  # seeds are drawn from this many commonest subject words (five per theme at the least)
KEY_PHRASES = 5

Bag = tuple[tuple[str, float], ...]  # a comment's subject words and their TF-IDF weights, sorted


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


_NOT_CONTEXT = FUNCTION_WORDS | EXTRA_STOP


def _fold(word: str) -> str:
    """Plural -s and possessive 's folded: "dishes", "dish's" and "dish" are one subject."""
    if word.endswith("'s"):
        word = word[:-2]
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def subject_terms(text: str) -> list[str]:
    """The comment's subject words (plural -s folded) and the pairs of them that stand side by side."""
    stop = _stop_words()
    words = ["" if word in stop or len(word) < 3 else _fold(word) for word in _WORD.findall(text.lower())]
    terms = [w for w in words if w]
    terms += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a and b]
    return terms


def _context_words(text: str) -> list[str]:
    """Every content word of the comment, feeling words included: what a subject word is said with."""
    return [_fold(word) for word in _WORD.findall(text.lower()) if len(word) >= 3 and word not in _NOT_CONTEXT]


@dataclass
class Theme:
    name: str
    key_phrases: list[str]
    members: list[int]


def discover(texts: list[str], max_themes: int = 8,
             terms_of: list[list[str]] | None = None) -> tuple[list[Theme], list[int | None]]:
    """Themes over the texts, and each text's theme index (None: no subject word, no theme).

    `terms_of`: each text's subject_terms, when the caller has them already (the job ranks a theme's
    examples by them)."""
    n = len(texts)
    if terms_of is None:
        terms_of = [subject_terms(text) for text in texts]
    words_of = [[t for t in terms if " " not in t] for terms in terms_of]
    df = Counter(term for terms in terms_of for term in set(terms))
    min_df = min(MIN_DF, max(1, n // 50))  # a handful of comments: any shared word may name a theme
    common = sorted((w for w, count in df.items() if count >= min_df and " " not in w), key=lambda w: (-df[w], w))
    vocabulary = set(common[:MAX_WORDS])
    learn = _spread(range(n))  # words are learned from at most FIT_LIMIT comments: plenty to know them
    space = word_vectors([words_of[i] for i in learn], [_context_words(texts[i]) for i in learn], vocabulary, min_df)
    idf = {w: math.log((1 + n) / (1 + df[w])) + 1 for w in vocabulary}
    bags: list[Bag] = [tuple(sorted((w, (1 + math.log(c)) * idf[w]) for w, c in Counter(
        w for w in words if w in vocabulary).items())) for words in words_of]
    distinct = Counter(bag for bag in bags if bag)
    k = min(max_themes, len(vocabulary), len(distinct))
    if k == 0:
        return [], [None] * n
    centres = _cluster(distinct, space, k)
    theme_of = _place(distinct, space, centres)
    assignment = [theme_of[bag] if bag else None for bag in bags]
    return _themes(assignment, terms_of, df, min_df)


def _cluster(distinct: Counter, space: WordSpace, k: int) -> list[list[float]]:
    """Spherical k-means over the distinct comments, each weighted by how many times it was said."""
    bags = _spread(list(distinct))
    times = [distinct[bag] for bag in bags]
    lengths = [space.length(bag) for bag in bags]
    centres = _seeds(bags, times, space, k)
    assignment: list[int] = []
    for _ in range(ITERATIONS):
        placed = _place(bags, space, centres)
        new = [placed[bag] for bag in bags]
        moved = sum(a != b for a, b in zip(new, assignment, strict=False)) if assignment else len(new)
        assignment = new
        members: list[dict[str, float]] = [{} for _ in centres]
        for bag, count, length, c in zip(bags, times, lengths, assignment, strict=True):
            for word, weight in bag:
                members[c][word] = members[c].get(word, 0.0) + count * weight / length
        centres = [space.combine(m.items()) if m else centres[c] for c, m in enumerate(members)]
        if moved <= len(bags) * SETTLED:
            break
    return centres


def _spread(items):
    """At most FIT_LIMIT of the items, evenly spread over them (no randomness: the same input, the same themes)."""
    if len(items) <= FIT_LIMIT:
        return list(items)
    step = len(items) / FIT_LIMIT
    return [items[int(i * step)] for i in range(FIT_LIMIT)]


def _seeds(bags: list[Bag], times: list[int], space: WordSpace, k: int) -> list[list[float]]:
    """The commonest subject word, then each time the common word least like those already chosen."""
    mass: Counter = Counter()
    for bag, count in zip(bags, times, strict=True):
        for word, weight in bag:
            mass[word] += count * weight
    candidates = sorted(mass, key=lambda w: (-mass[w], w))[:max(SEED_CANDIDATES, 5 * k)]
    chosen = [candidates[0]]
    likeness = {w: space.likeness(w, chosen[0]) for w in candidates}
    while len(chosen) < min(k, len(candidates)):
        pick = max((w for w in candidates if w not in chosen), key=lambda w: (mass[w] * (1 - likeness[w]), w))
        chosen.append(pick)
        likeness = {w: max(likeness[w], space.likeness(w, pick)) for w in candidates}
    return [space.combine([(w, 1.0)]) for w in chosen]


def _place(bags, space: WordSpace, centres: list[list[float]]) -> dict[Bag, int]:
    """Each comment's nearest theme: the weighted sum of its words' similarities to the theme's centre."""
    similarity = {word: [space.similarity(word, c) for c in centres] for word in {w for bag in bags for w, _ in bag}}
    placed = {}
    for bag in bags:
        scores = [0.0] * len(centres)
        for word, weight in bag:
            scores = [s + weight * x for s, x in zip(scores, similarity[word], strict=True)]
        placed[bag] = scores.index(max(scores))
    return placed


def _themes(assignment: list[int | None], terms_of: list[list[str]], df: Counter,
            min_df: int) -> tuple[list[Theme], list[int | None]]:
    """Themes in order of size, each named by the phrase most said in it and least elsewhere."""
    sizes = Counter(a for a in assignment if a is not None)
    order = {c: i for i, (c, _) in enumerate(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))}
    assignment = [order[a] if a is not None else None for a in assignment]
    inside: list[Counter] = [Counter() for _ in order]
    for a, terms in zip(assignment, terms_of, strict=True):
        if a is not None:
            inside[a].update(t for t in set(terms) if df[t] >= min_df)
    themes: list[Theme] = []
    taken: set[str] = set()
    members: list[list[int]] = [[] for _ in order]
    for i, a in enumerate(assignment):
        if a is not None:
            members[a].append(i)
    for c, counts in enumerate(inside):
        top = sorted(counts, key=lambda t: (-counts[t] ** 2 / df[t], t))[:KEY_PHRASES]
        name = next((" / ".join(top[:j]) for j in range(1, len(top) + 1) if " / ".join(top[:j]) not in taken),
                    f"theme {c + 1}")
        taken.add(name)
        themes.append(Theme(name=name, key_phrases=top, members=members[c]))
    return themes, assignment
