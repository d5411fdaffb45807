"""Which contacts have a loop still open (DESIGN.md promise 4: don't ask without acting).

A loop is open while its item is, and also between closing it with a message and the mail provider
accepting that message: until then the customer has heard nothing, so a new survey would ask
without having acted. A refused or bounced closing message reopens the item itself."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, or_, select

from vocloop.db import among
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.mail.models import Message

# A closing message in these states has not reached the provider yet (mail/models.py).
AWAITING_PROVIDER = ("pending",)
# Emails that close loops: an item's closing message, and an announcement (which may close several).
CLOSING_KINDS = ("closing", "announcement")


def open_loop_of(contact_id: ColumnElement) -> ColumnElement:
    """A WHERE clause: the contact in `contact_id` has an open item or a closing message on its way."""
    return or_(
        exists().where(FeedbackItem.contact_id == contact_id, FeedbackItem.status != "closed"),
        exists().where(Message.contact_id == contact_id, Message.kind.in_(CLOSING_KINDS),
                       Message.status.in_(AWAITING_PROVIDER)))


def contacts_with_open_loop(contact_ids: Iterable[int]) -> set[int]:
    """The ones of these contacts that have a loop open; two indexed queries."""
    ids = list(contact_ids)
    if not ids:
        return set()
    open_items = select(FeedbackItem.contact_id).where(among(db.session, FeedbackItem.contact_id, ids),
                                                       FeedbackItem.status != "closed")
    closing = select(Message.contact_id).where(among(db.session, Message.contact_id, ids),
                                               Message.kind.in_(CLOSING_KINDS),
                                               Message.status.in_(AWAITING_PROVIDER))
    return set(db.session.scalars(open_items.distinct())) | set(db.session.scalars(closing.distinct()))
