"""The one small interface every mail backend speaks, and the errors the relay reacts to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: int
    idempotency_key: str
    to_email: str
    to_name: str
    from_email: str
    from_name: str
    subject: str
    html: str
    text: str
    custom_args: dict[str, str] = field(default_factory=dict)


class TransientMailError(Exception):
    """Try again later (429, 5xx, timeout); retry_after in seconds when the provider said so."""

    def __init__(self, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.retry_after = retry_after


class PermanentMailError(Exception):
    """The provider refused the email for good (4xx other than 429); retrying cannot help."""


class MailBackend(Protocol):
    name: str

    def send(self, email: OutgoingEmail) -> str:
        """Hand the email to the provider; return the provider's message id."""
        ...
