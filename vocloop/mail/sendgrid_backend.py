"""SendGrid v3 Mail Send through the official client; SENDGRID_API_HOST points it elsewhere."""

from __future__ import annotations

import json
import time
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Content,
    From,
    Mail,
    ReplyTo,
    Subject,
    To,
)

from vocloop.mail.base import Envelope, PermanentMailError, TransientMailError

DEFAULT_HOST = "https://api.sendgrid.com"
MAX_PERSONALIZATIONS = 1000


class SendGridBackend:
    name = "sendgrid"
    transactional = False

    def __init__(self, api_key: str, host: str | None = None, timeout: float = 10):
        self._client = SendGridAPIClient(api_key=api_key, host=host or DEFAULT_HOST)
        self._client.client.timeout = timeout

    def send(self, envelope: Envelope) -> str:
        if not 1 <= len(envelope.recipients) <= MAX_PERSONALIZATIONS:
            raise ValueError(f"a request takes 1 to {MAX_PERSONALIZATIONS} recipients")
        try:
            response = self._client.send(build_mail(envelope))
        except HTTPError as exc:
            raise _classify_http_error(exc) from None
        except (URLError, TimeoutError, ConnectionError) as exc:
            raise TransientMailError(f"SendGrid unreachable: {exc}") from None
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        return message_id or ""


def build_mail(envelope: Envelope) -> dict:
    """The v3 mail/send body. The parts the request shares go through the client's helpers (its content
    check refuses a body carrying an API key); each recipient's personalization is written as the
    helpers write it, as a plain dict (their objects cost more per recipient than the rest of the relay)."""
    mail = Mail()
    mail.from_email = From(envelope.from_email, envelope.from_name or None)
    mail.subject = Subject(envelope.content.subject)
    if envelope.reply_to:
        mail.reply_to = ReplyTo(envelope.reply_to)
    mail.add_content(Content("text/plain", envelope.content.text))
    mail.add_content(Content("text/html", envelope.content.html))
    body = mail.get()
    body["personalizations"] = [_personalization(recipient) for recipient in envelope.recipients]
    return body


def _personalization(recipient) -> dict:
    """What Personalization().get() gives for a To, substitutions, custom args and headers (empty ones left out)."""
    to = {"name": recipient.name, "email": recipient.email} if recipient.name else To(recipient.email).get()
    personalization = {"to": [to]}
    for key, values in (("headers", recipient.headers), ("substitutions", recipient.substitutions),
                        ("custom_args", recipient.custom_args)):
        if values:
            personalization[key] = dict(values)
    return personalization


def _classify_http_error(exc: HTTPError) -> Exception:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    detail = f"SendGrid {exc.status_code}: {_provider_errors(body)}"
    if exc.status_code == 429:
        return TransientMailError(detail, retry_after=_seconds_until_reset(exc.headers))
    if exc.status_code >= 500:
        return TransientMailError(detail)
    return PermanentMailError(detail)


def _provider_errors(body: str) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return "; ".join(error.get("message", "") for error in errors) or body[:500]
    except (ValueError, AttributeError):
        return body[:500]


def _seconds_until_reset(headers) -> float | None:
    """SendGrid's X-RateLimit-Reset is a Unix time; some proxies send Retry-After seconds."""
    if not headers:
        return None
    reset = headers.get("X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return max(1.0, int(reset) - time.time())
    retry_after = headers.get("Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return max(1.0, float(retry_after))
    return None
