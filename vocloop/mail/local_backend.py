"""The embedded default: mail stays in the outbox table, readable at /dev/outbox."""

from vocloop.mail.base import Envelope


class LocalOutboxBackend:
    name = "local"
    # "Sending" is only the row's status change, committed with it: a crash cannot send twice.
    transactional = True

    def send(self, envelope: Envelope) -> str:
        return f"local-{envelope.recipients[0].message_id}"
