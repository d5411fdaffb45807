"""Outbound webhooks: events of the loop posted, signed, to URLs that admins register."""
