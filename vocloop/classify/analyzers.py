"""Analyzers behind the interface: plain TextBlob, and vocloop's default built on top of it.

`textblob` is TextBlob's pattern analyzer as it ships (its lexicon is inside the package; no NLTK
corpora). `vocloop` reads the same lexicon beside VADER's, with negation, contrast, intensifiers,
emoji and customer phrases, and weighs the evidence with a small trained model (see sentiment_model.py and
docs in the README, "How comments are classified").
"""

from textblob.en.sentiments import PatternAnalyzer

from vocloop.classify.base import Sentiment
from vocloop.classify.features import scan
from vocloop.classify.sentiment_model import LinearModel, shipped_model, text_key


class TextBlobAnalyzer:
    name = "textblob"
    version = "textblob-0.20-pattern"

    def __init__(self) -> None:
        self._analyzer = PatternAnalyzer()

    def analyze(self, text: str) -> Sentiment:
        result = self._analyzer.analyze(text)
        polarity = float(result.polarity)
        label = "positive" if polarity > 0 else "negative" if polarity < 0 else "neutral"
        return Sentiment(polarity=polarity, subjectivity=float(result.subjectivity), label=label,
                         confidence=min(1.0, 0.5 + abs(polarity) / 2),
                         has_opinion=bool(polarity or result.subjectivity))


class VocloopAnalyzer:
    name = "vocloop"

    def __init__(self, model: LinearModel | None = None) -> None:
        """The shipped model, or one this install retrained from it (classify.learning)."""
        self._model = model or shipped_model()
        self.version = self._model.version
        self._training_keys = frozenset(self._model.training_keys)

    def was_trained_on(self, text: str) -> bool:
        """True for a line of the model's training data: evaluations leave those out."""
        return text_key(text) in self._training_keys

    def analyze(self, text: str) -> Sentiment:
        dense, words, subjectivity, _ = scan(text)
        prediction = self._model.predict_words(dense, words)
        return Sentiment(polarity=prediction.polarity, subjectivity=subjectivity,
                         label=prediction.label, confidence=prediction.confidence,
                         has_opinion=bool(words))
