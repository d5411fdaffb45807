"""Renaming and deleting a team, checked against what still points at it: routing rules that send
items to the team (or notify it) would silently fall through, and open items would lose their team,
so those refuse the delete with the reason; closed items only keep their owner."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from vocloop.accounts.models import Team
from vocloop.accounts.service import set_team_lead
from vocloop.errors import Conflict, Invalid
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.routing.models import RoutingRule

_UNSET = object()


def change_team(team: Team, *, name: str | None = None, lead_id=_UNSET) -> Team:
    """Rename the team and/or choose its lead (None: no lead)."""
    if name is not None:
        name = name.strip()
        if not name or len(name) > 120:
            raise Invalid("A team needs a name of 1 to 120 characters.")
        if db.session.scalar(select(Team.id).where(Team.name == name, Team.id != team.id)) is not None:
            raise Conflict(f"A team named {name!r} already exists.")
        team.name = name
    if lead_id is not _UNSET:
        set_team_lead(team, lead_id)
    db.session.commit()
    return team


def what_points_at(team: Team) -> dict:
    """The rules naming the team, and its open and closed items: what deleting it would touch."""
    rules = list(db.session.scalars(select(RoutingRule.name).where(
        or_(RoutingRule.team_id == team.id, RoutingRule.notify_team_id == team.id)).order_by(RoutingRule.position)))
    counts = dict(db.session.execute(select(FeedbackItem.status, func.count())
                                     .where(FeedbackItem.team_id == team.id).group_by(FeedbackItem.status)).all())
    closed = counts.pop("closed", 0)
    return {"rules": rules, "open_items": sum(counts.values()), "closed_items": closed}


def delete_team(team: Team) -> int:
    """Delete the team; its closed items keep their owner but no team. The number of those items.
    Refused while a rule or an open item still needs the team. The team's row is locked first, so that
    an item routed or a rule saved meanwhile waits for the outcome; should one still get in between the
    check and the delete, the database's foreign keys refuse it and so does this (never a 500, and an
    open item never silently loses its team)."""
    db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
    pointing = what_points_at(team)
    if pointing["rules"]:
        names = ", ".join(f"“{name}”" for name in pointing["rules"])
        raise Conflict(f"{team.name} is still used by the routing rule(s) {names}: change or delete them first.")
    if pointing["open_items"]:
        raise Conflict(_STILL_OPEN.format(team=team.name, count=pointing["open_items"]))
    name = team.name
    detached = db.session.execute(update(FeedbackItem).where(FeedbackItem.team_id == team.id,
                                                             FeedbackItem.status == "closed")
                                  .values(team_id=None)).rowcount
    try:
        db.session.delete(team)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"{name} was given new work while it was being deleted: nothing was deleted. "
                       "Look at what still needs the team and try again.") from None
    return detached


_STILL_OPEN = ("{team} still has {count} open item(s): close them, or take its members out of the team "
               "(their items are handed over), then delete it.")
