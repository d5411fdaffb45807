"""Topics by keyword: a default taxonomy and a matcher tolerant of simple word endings."""

from __future__ import annotations

import re

DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "pricing": ["price", "pricing", "expensive", "cheap", "cost", "plan", "discount"],
    "billing": ["bill", "billing", "invoice", "charge", "refund", "payment", "overcharged"],
    "support": ["support", "agent", "ticket", "help desk", "response time", "waiting", "reply"],
    "product quality": ["quality", "reliable", "unreliable", "broken", "outage", "downtime"],
    "bugs": ["bug", "crash", "error", "glitch", "freeze", "not working"],
    "delivery": ["delivery", "shipping", "shipped", "arrive", "late", "package", "courier"],
    "onboarding": ["onboarding", "setup", "set up", "getting started", "training", "migration"],
    "usability": ["easy", "intuitive", "confusing", "hard to use", "interface", "ui", "ux"],
    "documentation": ["documentation", "docs", "guide", "tutorial", "manual", "help article"],
    "staff": ["staff", "friendly", "rude", "helpful", "team", "manager", "representative"],
}

_WORD = re.compile(r"[a-z0-9']+")
_SUFFIXES = ("ing", "ed", "es", "s", "ly", "e")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> list[str]:
    return [_stem(word) for word in _WORD.findall(text.lower())]


def match_topics(text: str, taxonomy: dict[str, list[str]] | None = None) -> list[str]:
    """Topics whose keyword or phrase occurs in the text, compared stem by stem, in taxonomy order."""
    taxonomy = DEFAULT_TAXONOMY if taxonomy is None else taxonomy
    words = _stems(text)
    if not words:
        return []
    padded = " " + " ".join(words) + " "
    found = []
    for topic, phrases in taxonomy.items():
        if any(f" {' '.join(_stems(phrase))} " in padded for phrase in phrases if phrase.strip()):
            found.append(topic)
    return found
