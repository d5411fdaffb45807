"""Outbound mail: an outbox table, a relay that drains it, and pluggable backends."""

from flask import current_app

from vocloop.mail.base import MailBackend
from vocloop.mail.local_backend import LocalOutboxBackend
from vocloop.mail.sendgrid_backend import SendGridBackend


def get_backend() -> MailBackend:
    """SendGrid when an API key is set, otherwise the local outbox."""
    config = current_app.config
    backend = current_app.extensions.get("vocloop.mail_backend")
    if backend is None:
        if config.get("SENDGRID_API_KEY"):
            backend = SendGridBackend(config["SENDGRID_API_KEY"], config.get("SENDGRID_API_HOST"),
                                      config.get("SENDGRID_TIMEOUT_SECONDS", 10))
        else:
            backend = LocalOutboxBackend()
        current_app.extensions["vocloop.mail_backend"] = backend
    return backend
