"""The one small interface every mail backend speaks, and the errors the relay reacts to.

A backend sends an Envelope: one content (which may hold substitution tags) to one or more
recipients, each with their own substitutions, headers and custom args. SendGrid turns that into
one request with a personalization per recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Content:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Recipient:
    message_id: int
    email: str
    name: str = ""
    substitutions: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Envelope:
    from_email: str
    from_name: str
    content: Content
    recipients: list[Recipient]
    reply_to: str | None = None


_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def single_line(value: str | None) -> str:
    """Header text (subject, names, header values) on one line: a name or subject carrying CR/LF
    could otherwise add headers of its own (Bcc: ...) wherever it ends up in raw MIME."""
    if value and value.isprintable() and "  " not in value and value[0] != " " and value[-1] != " ":
        return value  # the usual case, already one line: no control, separator or other space, none doubled
    return " ".join(_LINE_BREAKS.sub(" ", value or "").split())


class TransientMailError(Exception):
    """Try again later (429, 5xx, timeout); retry_after in seconds when the provider said so."""

    def __init__(self, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.retry_after = retry_after


class PermanentMailError(Exception):
    """The provider refused the request for good (4xx other than 429); retrying cannot help."""


class MailBackend(Protocol):
    name: str
    # Whether sending is the same database transaction as recording it (no ambiguity after a crash).
    transactional: bool

    def send(self, envelope: Envelope) -> str:
        """Hand the envelope to the provider; return the provider's id for the request."""
        ...


def apply_substitutions(text: str, substitutions: dict[str, str]) -> str:
    """What the provider does with substitution tags, for previews and the local outbox: one pass,
    so a value that happens to contain a tag is not substituted again."""
    if not substitutions:
        return text
    pattern = re.compile("|".join(re.escape(tag) for tag in sorted(substitutions, key=len, reverse=True)))
    return pattern.sub(lambda match: substitutions[match.group(0)], text)


def links_in_new_tab(html: str) -> str:
    """An email's HTML for a frame on a page: its links open in a new tab, as from a mail client (in a
    sandbox that allows no pop-ups, they then open nothing)."""
    return html.replace("<head>", '<head><base target="_blank">', 1)
