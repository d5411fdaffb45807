"""How the staff pages say times and classifications: in the words an owner uses, with the exact
figure kept for who wants it (a tooltip, a folded detail)."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400), ("hour", 3600),
          ("minute", 60))


def relative(when: datetime, now: datetime) -> str:
    """'3 hours ago', 'in 2 days', 'just now': the largest whole unit."""
    seconds = (now - when).total_seconds()
    for name, size in _UNITS:
        count = int(abs(seconds) // size)
        if count >= 1:
            amount = f"{count} {name}{'s' if count > 1 else ''}"
            return f"{amount} ago" if seconds >= 0 else f"in {amount}"
    return "just now"


def exact(when: datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC"


def time_tag(when: datetime | None, now: datetime) -> Markup:
    """A <time> that reads relatively, with the exact UTC time on hover and for machines."""
    if when is None:
        return Markup("–")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        when.isoformat(), exact(when), escape(relative(when, now)))


def sentiment_words(label: str | None, polarity: float | None) -> str:
    """'strongly negative', 'negative', 'slightly positive', 'neutral' from the label and how far the
    polarity (-1..1) leans."""
    if not label:
        return "not classified yet"
    if label == "neutral" or polarity is None:
        return label
    strength = abs(polarity)
    return f"strongly {label}" if strength >= 0.6 else label if strength >= 0.25 else f"slightly {label}"


def confidence_words(confidence: float | None) -> str:
    if confidence is None:
        return ""
    return "the classifier is sure" if confidence >= 0.8 else "the classifier is fairly sure" \
        if confidence >= 0.6 else "the classifier is unsure: read the comment"


def score_text(score: int | None, kind_code: str) -> str:
    """'4/10 NPS', '4/5 CSAT', '5/7 CES': a bare '4' reads as unhappy on one scale and happy on another."""
    from vocloop.surveys.kinds import get_kind

    if score is None:
        return "no score"
    kind = get_kind(kind_code)
    return f"{score}/{kind.high} {kind_code.upper()}"


# What happened on an item, in the owner's words (the API's events keep the kinds as they are).
EVENT_TITLES = {
    "created": "opened", "assigned": "assigned", "reassigned": "reassigned", "note": "note", "status": "status",
    "message_sent": "closing message sent", "message_failed": "closing message failed",
    "message_bounced": "closing message bounced", "closed": "closed", "reopened": "reopened",
    "announcement": "announcement", "customer_replied": "customer replied",
    "customer_verified": "customer said resolved", "customer_not_resolved": "customer said not resolved",
    "escalated": "escalated", "sla_warning": "closing message due soon",
    "sla_first_action_missed": "first action missed its deadline",
    "sla_breached": "closing message missed its deadline", "sla_paused": "deadline paused",
    "sla_resumed": "deadline running again"}


def event_title(kind: str, data: dict | None) -> str:
    """An activity entry's title: 'closing message sent', or 'delivered after all' for the message
    SendGrid proved delivered after the relay gave up; a kind without words reads as its name."""
    if data and data.get("after_all"):
        return "delivered after all"
    return EVENT_TITLES.get(kind) or kind.replace("_", " ")
