"""Sentiment and topics behind one interface; see base.py for the protocol."""

from vocloop.classify.base import get_analyzer, register
from vocloop.classify.textblob_analyzer import TextBlobAnalyzer

register("textblob", TextBlobAnalyzer)

__all__ = ["get_analyzer", "register"]
