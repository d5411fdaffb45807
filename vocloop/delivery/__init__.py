"""What becomes of the emails we send and of those customers send back: the endpoints SendGrid calls
(webhooks.py), its delivery events (events.py), customer replies through Inbound Parse (inbound.py),
and what each outcome means for invitations, contacts, items and announcements (outcomes.py)."""
