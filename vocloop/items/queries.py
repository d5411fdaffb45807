"""Read-side queries for the inbox and the API: what a user may see, filtered and ordered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from sqlalchemy import String, cast, func, or_, select, tuple_
from sqlalchemy.orm import aliased

from vocloop.accounts.models import Team, User
from vocloop.contacts.models import Account, Contact
from vocloop.db import escape_like, utcnow
from vocloop.extensions import db
from vocloop.items import sla_clock
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.permissions import hand_over_targets_filter, visible_items_filter
from vocloop.responses.models import Response
from vocloop.surveys.models import Survey
from vocloop.values import OPEN_STATUSES

TABS = ("mine", "team", "overdue", "waiting", "closed")
# Tab counts stop here ("1000+"): an exact count of a huge closed tab would cost more than the page.
COUNT_CAP = 1000


def _tab_filter(user: User, tab: str):
    """status IN (...) rather than != 'closed', so the (status, close_due_at) index serves it."""
    is_open = FeedbackItem.status.in_(OPEN_STATUSES)
    if tab == "mine":
        return (FeedbackItem.owner_id == user.id, is_open)
    if tab == "team":
        return (is_open,)
    if tab == "overdue":
        return (is_open, sla_clock.overdue(utcnow()))
    if tab == "waiting":
        return (FeedbackItem.status == "waiting",)
    if tab == "closed":
        return (FeedbackItem.status == "closed",)
    raise ValueError(f"tab must be one of {', '.join(TABS)}")


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    priority: str | None = None
    sentiment: str | None = None
    topic: str | None = None
    survey_id: int | None = None
    owner_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    search: str | None = None

    def where(self) -> list:
        conditions = []
        if self.status:
            conditions.append(FeedbackItem.status == self.status)
        if self.priority:
            conditions.append(FeedbackItem.priority == self.priority)
        if self.survey_id:
            conditions.append(FeedbackItem.survey_id == self.survey_id)
        if self.owner_id:
            conditions.append(FeedbackItem.owner_id == self.owner_id)
        if self.created_from:
            conditions.append(FeedbackItem.created_at >= datetime.combine(self.created_from, time(), UTC))
        if self.created_to:
            end = datetime.combine(self.created_to + timedelta(days=1), time(), UTC)
            conditions.append(FeedbackItem.created_at < end)
        if self.sentiment or self.topic:
            response = select(Response.id).where(Response.id == FeedbackItem.response_id)
            if self.sentiment:
                response = response.where(Response.sentiment_label == self.sentiment)
            if self.topic:  # topics are a JSON list: match the quoted name in its text, on both databases
                response = response.where(cast(Response.topics, String).like(f'%"{escape_like(self.topic)}"%',
                                                                             escape="\\"))
            conditions.append(response.exists())
        if self.search:
            pattern = f"%{escape_like(self.search)}%"
            in_comment = select(Response.id).where(Response.id == FeedbackItem.response_id,
                                                   Response.comment.ilike(pattern, escape="\\")).exists()
            in_notes = select(ItemEvent.id).where(ItemEvent.item_id == FeedbackItem.id, ItemEvent.kind == "note",
                                                  ItemEvent.body.ilike(pattern, escape="\\")).exists()
            in_contact = select(Contact.id).outerjoin(Account, Account.id == Contact.account_id).where(
                Contact.id == FeedbackItem.contact_id,
                or_(Contact.name.ilike(pattern, escape="\\"), Contact.email.ilike(pattern, escape="\\"),
                    Account.name.ilike(pattern, escape="\\"))).exists()
            number = self.search.removeprefix("#")
            by_number = (FeedbackItem.id == int(number),) if number.isdigit() and len(number) < 10 else ()
            conditions.append(or_(*by_number, in_comment, in_notes, in_contact))
        return conditions


@cache
def _inbox_list():
    """The list's statement before its conditions, built once, at the first page (labelling aliased
    columns cost about 3 ms of CPU a page): the item with its customer, account, answer, survey and
    owner joined, only the columns the list shows. Aliases, so the filters' EXISTS subqueries on
    answers and customers stay correlated to the item only."""
    contact, account, response = aliased(Contact), aliased(Account), aliased(Response)
    owner, survey = aliased(User), aliased(Survey)
    return (select(FeedbackItem.id, FeedbackItem.priority, FeedbackItem.status, FeedbackItem.close_due_at,
                   FeedbackItem.closed_at, FeedbackItem.loop_closed_at, FeedbackItem.sla_paused_at,
                   contact.name.label("contact_name"), contact.email.label("contact_email"),
                   account.name.label("account_name"), response.score, response.sentiment_label,
                   response.sentiment_mismatch, response.comment, survey.kind.label("survey_kind"),
                   owner.name.label("owner_name"))
            .join(contact, contact.id == FeedbackItem.contact_id)
            .outerjoin(account, account.id == contact.account_id)
            .join(response, response.id == FeedbackItem.response_id)
            .join(survey, survey.id == FeedbackItem.survey_id)
            .join(owner, owner.id == FeedbackItem.owner_id))


def inbox_items(user: User, tab: str = "mine", limit: int = 50, after: tuple | None = None,
                filters: InboxFilters | None = None, visible=None) -> list:
    """One page of a tab, keyset-paginated: open items by closing-message due time (most urgent
    first), closed ones newest first. `after` is the (sort value, id) of the previous page's last row.
    `visible`: the user's visibility clause when the caller has it already (it costs two queries).

    Plain rows of what the list shows (_inbox_list's columns), not objects: building 50 items, each with
    four related objects and every JSON column decoded, cost the page more than its SQL."""
    filters = filters or InboxFilters()
    visible = visible_items_filter(user) if visible is None else visible
    query = _inbox_list().where(visible, *_tab_filter(user, tab), *filters.where())
    if tab == "closed":
        if after:
            query = query.where(tuple_(FeedbackItem.closed_at, FeedbackItem.id) < tuple_(*after))
        query = query.order_by(FeedbackItem.closed_at.desc(), FeedbackItem.id.desc())
    else:
        if after:
            query = query.where(tuple_(FeedbackItem.close_due_at, FeedbackItem.id) > tuple_(*after))
        query = query.order_by(FeedbackItem.close_due_at, FeedbackItem.id)
    return list(db.session.execute(query.limit(limit)))


def page_key(item: FeedbackItem, tab: str) -> str:
    """The cursor of the next page: the last row's sort value and id."""
    value = item.closed_at if tab == "closed" else item.close_due_at
    return f"{value.isoformat()}~{item.id}"


def parse_page_key(key: str | None) -> tuple | None:
    if not key or "~" not in key:
        return None
    value, _, item_id = key.rpartition("~")
    try:
        return datetime.fromisoformat(value), int(item_id)
    except ValueError:
        return None


def tab_counts(user: User, visible=None) -> dict[str, int]:
    """Items per tab, counted up to COUNT_CAP (a value of COUNT_CAP means "at least that many"), in
    one statement: five round trips, each compiled by the ORM, cost the page more than the counting."""
    visible = visible_items_filter(user) if visible is None else visible
    counts = [select(func.count()).select_from(
        select(FeedbackItem.id).where(visible, *_tab_filter(user, tab)).limit(COUNT_CAP).subquery())
        .scalar_subquery().label(tab) for tab in TABS]
    return dict(zip(TABS, db.session.execute(select(*counts)).one(), strict=True))


def assignable_users(user: User) -> list:
    """Who this user may hand an item to: any active user for leads and admins, teammates for owners.
    Rows of id, name and email (what the choosers show), by name."""
    query = select(User.id, User.name, User.email).where(User.active.is_(True)).order_by(User.name)
    if user.role == "owner":
        query = query.where(hand_over_targets_filter(user))
    return list(db.session.execute(query))


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


EXPORT_BATCH = 1000
ITEM_EXPORT_COLUMNS = ("id", "status", "priority", "owner", "team", "survey", "contact_email", "account", "score",
                       "comment", "sentiment", "topics", "created_at", "first_action_at", "close_due_at",
                       "loop_closed_at", "closed_at", "close_reason", "customer_verdict", "sla_breached_at",
                       "reopen_count")


def export_items(user: User, *, status: str | None = None, owner_id: int | None = None,
                 created_from: datetime | None = None, created_to: datetime | None = None) -> Iterator[dict]:
    """Every item the user may see (with the API's filters), in id order, a batch at a time; plain rows,
    not objects, so a long export does not fill the session."""
    visible = visible_items_filter(user)
    times = ("created_at", "first_action_at", "close_due_at", "loop_closed_at", "closed_at", "sla_breached_at")
    columns = [FeedbackItem.id, FeedbackItem.status, FeedbackItem.priority, User.name.label("owner"),
               Team.name.label("team"), Survey.name.label("survey"), Contact.email.label("contact_email"),
               Account.name.label("account"), Response.score, Response.comment,
               FeedbackItem.sentiment_label.label("sentiment"), FeedbackItem.topics, FeedbackItem.close_reason,
               FeedbackItem.customer_verdict, FeedbackItem.reopen_count,
               *[getattr(FeedbackItem, name) for name in times]]
    after = 0
    while True:
        query = _filtered(select(*columns)
                          .join(User, User.id == FeedbackItem.owner_id).outerjoin(Team, Team.id == FeedbackItem.team_id)
                          .join(Survey, Survey.id == FeedbackItem.survey_id)
                          .join(Contact, Contact.id == FeedbackItem.contact_id)
                          .outerjoin(Account, Account.id == Contact.account_id)
                          .join(Response, Response.id == FeedbackItem.response_id)
                          .where(visible), status, owner_id, after)
        if created_from is not None:
            query = query.where(FeedbackItem.created_at >= created_from)
        if created_to is not None:
            query = query.where(FeedbackItem.created_at < created_to)
        rows = db.session.execute(query.order_by(FeedbackItem.id).limit(EXPORT_BATCH)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield {**row, **{name: row[name].isoformat() if row[name] else None for name in times}}
        after = rows[-1]["id"]
