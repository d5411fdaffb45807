"""Matching a topic taxonomy's keywords: phrases as phrases, words as words, with the phrase that matched.

A keyword matches the words it is made of and their regular inflections only ("invoice" matches
"invoices", "ship" matches "shipped", "help desk" matches "help desks"); it never matches another word
that happens to share a stem (the old stemmer read "the plane was filthy" as *pricing*, "plane" and
"plan" both becoming "plan"). A taxonomy is compiled once into a lookup from word form to keyword, so
classifying many answers does no per-keyword work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_VOWELS = frozenset("aeiou")
MAX_PHRASE_SHOWN = 80


@dataclass(frozen=True)
class TopicMatch:
    """A topic of a comment and why: the taxonomy keyword, and the words of the comment it matched."""

    topic: str
    keyword: str
    phrase: str

    def to_json(self) -> dict[str, str]:
        return {"topic": self.topic, "keyword": self.keyword, "phrase": self.phrase}


def word_forms(word: str) -> frozenset[str]:
    """The word and its regular inflections: plural / third person, past, -ing (doubling as in "planned")."""
    forms = {word}
    if not word.isalpha() or len(word) < 2:
        return frozenset(forms)
    last = word[-1]
    consonant_y = last == "y" and word[-2] not in _VOWELS
    if word.endswith(("s", "x", "z", "ch", "sh", "o")):
        forms.add(word + "es")
    elif consonant_y:
        forms.add(word[:-1] + "ies")
    else:
        forms.add(word + "s")
    if consonant_y:
        forms.update((word[:-1] + "ied", word + "ing"))
    elif last == "e" and not word.endswith("ee"):
        forms.update((word + "d", word[:-1] + "ing"))
    else:
        forms.update((word + "ed", word + "ing"))
        if len(word) >= 3 and last not in _VOWELS and last not in "wxy" and word[-2] in _VOWELS \
                and word[-3] not in _VOWELS:
            forms.update((word + last + "ed", word + last + "ing"))
    return frozenset(forms)


def words_of(text: str) -> list[str]:
    return [match.group() for match in _WORD.finditer(text.lower())]


@dataclass(frozen=True)
class Taxonomy:
    """The keywords of every topic, indexed by the forms of their first word."""

    names: tuple[str, ...]
    # first-word form -> (topic index, keyword, forms of each following word)
    index: dict[str, tuple[tuple[int, str, tuple[frozenset[str], ...]], ...]]

    @classmethod
    def compile(cls, taxonomy: dict[str, list[str]]) -> Taxonomy:
        index: dict[str, list[tuple[int, str, tuple[frozenset[str], ...]]]] = {}
        for position, keywords in enumerate(taxonomy.values()):
            for keyword in keywords:
                words = [word[:-2] if word.endswith("'s") else word for word in words_of(keyword)]
                if not words:
                    continue
                rest = tuple(word_forms(word) for word in words[1:])
                for form in word_forms(words[0]):
                    index.setdefault(form, []).append((position, keyword, rest))
        return cls(tuple(taxonomy), {form: tuple(entries) for form, entries in index.items()})

    def find(self, text: str) -> list[TopicMatch]:
        """Topics whose keyword occurs in the text, in taxonomy order, each with its first match."""
        lowered = text.lower()
        words = _WORD.findall(lowered)
        index = self.index
        possessive = "'s" in lowered
        if index.keys().isdisjoint(words) and not (
                possessive and any(word.endswith("'s") and word[:-2] in index for word in words)):
            return []  # no word can start a keyword: most comments, at a third of the cost of placing words
        if possessive:
            words = [word[:-2] if word.endswith("'s") else word for word in words]  # a possessive 's dropped
        last = len(words) - 1
        spans: list[tuple[int, int]] = []  # where each word stands, looked up once a keyword matched
        found: dict[int, TopicMatch] = {}
        for i, word in enumerate(words):
            entries = index.get(word)
            if entries is None:
                continue
            for position, keyword, rest in entries:
                if position in found:
                    continue
                end = i + len(rest)
                if rest and (end > last or any(words[i + 1 + k] not in forms for k, forms in enumerate(rest))):
                    continue
                spans = spans or [match.span() for match in _WORD.finditer(lowered)]
                shown = text if len(text) == len(lowered) else lowered  # offsets hold in either
                phrase = " ".join(shown[spans[i][0]:spans[end][1]].split())[:MAX_PHRASE_SHOWN]
                found[position] = TopicMatch(self.names[position], keyword, phrase)
        return [found[position] for position in sorted(found)]


def find_topics(text: str, taxonomy: Taxonomy) -> list[TopicMatch]:
    return taxonomy.find(text) if text else []
