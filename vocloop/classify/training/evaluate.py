"""Classifying free text outside the loop: one line at a time for scripts, or a labeled file to measure.

The measure is the one the issue tracker and the README quote: labels from the human mean rating
(above 0.5 positive, below -0.5 negative), macro-F1 over the three labels, Pearson r of polarity.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vocloop.classify.base import SentimentAnalyzer
from vocloop.classify.phrases import urgency_flags
from vocloop.classify.sentiment_model import LABELS
from vocloop.classify.topics import Taxonomy, topic_matches
from vocloop.classify.training.train import Scores, load_labeled, score


def classify_lines(lines: Iterable[str], analyzer: SentimentAnalyzer, taxonomy: Taxonomy) -> Iterator[dict]:
    """One result per input line (blank lines too, so output lines match input lines)."""
    for line in lines:
        text = line.rstrip("\r\n")
        sentiment = analyzer.analyze(text) if text.strip() else None
        matches = topic_matches(text, taxonomy)
        yield {
            "label": sentiment.label if sentiment else "neutral",
            "polarity": round(sentiment.polarity, 4) if sentiment else 0.0,
            "subjectivity": round(sentiment.subjectivity, 4) if sentiment else 0.0,
            "confidence": round(sentiment.confidence, 4) if sentiment else 1.0,
            "topics": [match.topic for match in matches],
            "topic_matches": [match.to_json() for match in matches],
            "urgency_flags": urgency_flags(text),
            "classifier": analyzer.version,
        }


@dataclass(frozen=True)
class Evaluation:
    lines: int
    left_out: int  # lines the model was trained on: scoring them would flatter it
    scores: Scores


def evaluate_file(path: str, analyzer: SentimentAnalyzer) -> Evaluation:
    """Figures over the file's lines, leaving out any the analyzer's model was trained on."""
    every = load_labeled(path)
    seen = getattr(analyzer, "was_trained_on", None)
    examples = [example for example in every if seen is None or not seen(example.text)]
    if not examples:
        raise ValueError(f"{path}: no labeled lines the classifier was not trained on")
    predictions = [analyzer.analyze(example.text) for example in examples]
    return Evaluation(len(every), len(every) - len(examples), score([example.label for example in examples],
                                [LABELS.index(p.label) for p in predictions],
                                [example.rating for example in examples], [p.polarity for p in predictions]))
