"""Unsubscribe links. Each email a customer gets without asking (a survey, its reminder, an announcement)
carries its own: a random secret stored only as a hash (an invitation's survey link, or the announcement
recipient's own), at /s/<token>/unsubscribe and in the RFC 8058 headers (surveys.service's
unsubscribe_headers). All of them lead to the same page and do the same thing: the contact gets no more
surveys and no more announcements (replies to feedback they gave still reach them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from vocloop.announcements.models import AnnouncementRecipient
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.errors import NotFound
from vocloop.extensions import db
from vocloop.i18n import reading_language
from vocloop.items.models import FeedbackItem
from vocloop.responses.service import LINK_NOT_VALID, link_hash
from vocloop.surveys.models import Invitation, Survey, behind_link


@dataclass
class Subscriber:
    """Who an unsubscribe link belongs to, the survey whose brand their page wears, and their language."""

    contact: Contact
    survey: Survey | None
    language: str


def subscriber(token: str) -> Subscriber:
    """The person behind a link: a survey email's (works even once the survey link expired: the wish to
    stop must always be honoured) or an announcement's; NotFound for unknown or tampered tokens."""
    token_hash = link_hash(token)
    invitation = db.session.scalar(select(Invitation).options(joinedload(Invitation.survey),
                                                              joinedload(Invitation.contact))
                                   .where(behind_link(token_hash)))
    if invitation is not None:
        contact, survey = invitation.contact, invitation.survey
        return Subscriber(contact, survey, reading_language(contact.language, survey.language))
    recipient = db.session.scalar(select(AnnouncementRecipient).options(joinedload(AnnouncementRecipient.contact))
                                  .where(AnnouncementRecipient.unsubscribe_token_hash == token_hash))
    if recipient is None:
        raise NotFound(LINK_NOT_VALID)
    newest = db.session.get(FeedbackItem, recipient.item_ids[0]) if recipient.item_ids else None
    survey = newest.survey if newest is not None else None  # the brand the email wore
    return Subscriber(recipient.contact, survey, reading_language(recipient.contact.language, recipient.language))


def unsubscribe(token: str) -> Subscriber:
    """No more surveys or announcements to the link's contact (a second time changes nothing)."""
    found = subscriber(token)
    if found.contact.unsubscribed_at is None:
        found.contact.unsubscribed_at = utcnow()
        db.session.commit()
    return found


def resubscribe(token: str) -> Subscriber:
    """The link's contact gets surveys and announcements again: an unsubscribe by a slip of the finger is
    undone where it was made. A bounced or spam-reporting address stays suppressed: that is not theirs to
    lift from a link."""
    found = subscriber(token)
    if found.contact.unsubscribed_at is not None:
        found.contact.unsubscribed_at = None
        db.session.commit()
    return found
