"""The sentiment interface: one small protocol, and a registry chosen by the CLASSIFIER setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Sentiment:
    polarity: float  # -1 (negative) .. 1 (positive)
    subjectivity: float  # 0 (factual) .. 1 (opinion)
    label: str  # positive | neutral | negative, the text alone
    confidence: float  # 0..1, how sure the analyzer is of `label`
    has_opinion: bool  # False when the text says nothing the analyzer can weigh


class SentimentAnalyzer(Protocol):
    name: str
    version: str  # stored with every response it labels, so a later model can be told apart

    def analyze(self, text: str) -> Sentiment: ...


_REGISTRY: dict[str, Callable[[], SentimentAnalyzer]] = {}
_INSTANCES: dict[str, SentimentAnalyzer] = {}


def register(name: str, factory: Callable[[], SentimentAnalyzer]) -> None:
    _REGISTRY[name] = factory


def registered() -> list[str]:
    return sorted(_REGISTRY)


def get_analyzer(name: str) -> SentimentAnalyzer:
    if name not in _REGISTRY:
        raise LookupError(f"unknown CLASSIFIER {name!r}; registered: {', '.join(registered())}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY[name]()
    return _INSTANCES[name]
