"""Read-side queries for the inbox and the API: what a user may see, filtered and ordered."""

from __future__ import annotations

from sqlalchemy import func, select

from vocloop.accounts.models import User
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.permissions import hand_over_targets_filter, visible_items_filter

TABS = ("mine", "team", "overdue", "waiting", "closed")


def _tab_filter(user: User, tab: str):
    if tab == "mine":
        return (FeedbackItem.owner_id == user.id, FeedbackItem.status != "closed")
    if tab == "team":
        return (FeedbackItem.status != "closed",)
    if tab == "overdue":
        return (FeedbackItem.status != "closed", FeedbackItem.close_due_at < utcnow())
    if tab == "waiting":
        return (FeedbackItem.status == "waiting",)
    if tab == "closed":
        return (FeedbackItem.status == "closed",)
    raise ValueError(f"tab must be one of {', '.join(TABS)}")


def inbox_items(user: User, tab: str = "mine", limit: int = 100, after_id: int | None = None,
                status: str | None = None, owner_id: int | None = None) -> list[FeedbackItem]:
    """Open items by SLA due time (most urgent first); closed ones newest first."""
    query = _filtered(select(FeedbackItem).where(visible_items_filter(user), *_tab_filter(user, tab)),
                      status, owner_id, after_id)
    order = (FeedbackItem.closed_at.desc(), FeedbackItem.id.desc()) if tab == "closed" \
        else (FeedbackItem.close_due_at, FeedbackItem.id)
    return list(db.session.scalars(query.order_by(*order).limit(limit)))


def tab_counts(user: User) -> dict[str, int]:
    counts = {}
    for tab in TABS:
        counts[tab] = db.session.scalar(select(func.count()).select_from(FeedbackItem)
                                        .where(visible_items_filter(user), *_tab_filter(user, tab)))
    return counts


def assignable_users(user: User) -> list[User]:
    """Who this user may hand an item to: any active user for leads and admins, teammates for owners."""
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if user.role == "owner":
        query = query.where(hand_over_targets_filter(user))
    return list(db.session.scalars(query))


def item_page(user: User, *, status: str | None = None, owner_id: int | None = None,
              after_id: int | None = None, limit: int = 50) -> list[FeedbackItem]:
    """Visible items in id order, for cursor pagination in the API."""
    query = _filtered(select(FeedbackItem).where(visible_items_filter(user)), status, owner_id, after_id)
    return list(db.session.scalars(query.order_by(FeedbackItem.id).limit(limit)))


def _filtered(query, status: str | None, owner_id: int | None, after_id: int | None):
    if status:
        query = query.where(FeedbackItem.status == status)
    if owner_id:
        query = query.where(FeedbackItem.owner_id == owner_id)
    if after_id:
        query = query.where(FeedbackItem.id > after_id)
    return query
