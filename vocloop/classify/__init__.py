"""Sentiment, topics, urgency and priority behind one interface; see base.py for the protocol."""

from vocloop.classify.analyzers import TextBlobAnalyzer, VocloopAnalyzer
from vocloop.classify.base import get_analyzer, register, registered

register("textblob", TextBlobAnalyzer)
register("vocloop", VocloopAnalyzer)

__all__ = ["get_analyzer", "register", "registered"]
