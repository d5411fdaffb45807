"""TextBlob's pattern lexicon, which ships inside the package (no NLTK corpora needed)."""

from textblob.en.sentiments import PatternAnalyzer

from vocloop.classify.base import Sentiment


class TextBlobAnalyzer:
    name = "textblob"

    def __init__(self) -> None:
        self._analyzer = PatternAnalyzer()

    def analyze(self, text: str) -> Sentiment:
        result = self._analyzer.analyze(text)
        return Sentiment(polarity=float(result.polarity), subjectivity=float(result.subjectivity))
