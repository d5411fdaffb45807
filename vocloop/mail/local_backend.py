"""The embedded default: mail stays in the outbox table, readable at /dev/outbox."""

from vocloop.mail.base import OutgoingEmail


class LocalOutboxBackend:
    name = "local"

    def send(self, email: OutgoingEmail) -> str:
        return f"local-{email.message_id}"
