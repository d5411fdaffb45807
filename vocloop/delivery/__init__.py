"""What becomes of the emails we send and of those customers send back: SendGrid's delivery events
(events.py), customer replies through Inbound Parse (inbound.py), and what each outcome means for
invitations, contacts, items and announcements (outcomes.py). The endpoints SendGrid calls are in
vocloop/mail/webhooks.py."""
