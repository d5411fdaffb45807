"""Keeping every open item owned when people change (promise 1): deactivation, leaving a team,
time off. Items are handed over by the rules again, else to the team lead, else to the fallback
owner; when nobody can take over, the change is refused rather than leaving items unowned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from vocloop.accounts.models import Team, User
from vocloop.accounts.service import check_member_change
from vocloop.errors import Conflict, Invalid
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.items.permissions import team_after_hand_over
from vocloop.outbound import service as webhooks
from vocloop.routing.decide import NoOwnerAvailable
from vocloop.routing.service import facts_of, fallback_owner, route


def deactivate_user(user: User, actor: User | None) -> int:
    """Sign-in off, and every open item handed over; the number handed over. Never the acting
    admin themself, nor the last active admin: nobody could then manage people or settings."""
    if actor is not None and actor.id == user.id:
        raise Conflict("You cannot deactivate yourself; another admin can.")
    _lock_for_hand_over(user)
    db.session.refresh(user)
    if not user.active:
        return 0
    if user.role == "admin" and db.session.scalar(select(User.id).where(
            User.role == "admin", User.active.is_(True), User.id != user.id).limit(1)) is None:
        db.session.rollback()
        raise Conflict(f"{user.name} is the last active admin: invite another admin first, or nobody could "
                       "manage people and settings.")
    user.active = False
    db.session.flush()
    moved = _hand_over(user, actor, f"{user.name} was deactivated.")
    db.session.commit()
    return moved


def remove_from_team(user: User, team: Team, actor: User | None) -> int:
    if actor is not None:
        check_member_change(actor, team, user)
    _lock_for_hand_over(user)
    if user not in team.members:
        raise Invalid(f"{user.name} is not in {team.name}.")
    team.members.remove(user)
    if team.lead_id == user.id:
        team.lead_id = None
    db.session.flush()
    moved = _hand_over(user, actor, f"{user.name} left {team.name}.", team=team)
    db.session.commit()
    return moved


def _lock_for_hand_over(user: User) -> None:
    """Routing share-locks the owner it picked after locking the teams it rotates through; holding
    the user's row exclusively until the hand-over commits means no item reaches them meanwhile.
    Locks are taken in routing's order (teams by id, then the user), so the two cannot deadlock."""
    db.session.execute(select(Team.id).order_by(Team.id).with_for_update()).all()
    # Every active admin too (the leaving one among them), in id order: two admins deactivating each
    # other at once take turns, so the second sees that the first left and keeps the last admin.
    db.session.execute(select(User.id).where(or_(User.id == user.id, and_(
        User.role == "admin", User.active.is_(True)))).order_by(User.id).with_for_update()).all()


def set_away(user: User, until: datetime | None, delegate_id: int | None) -> None:
    """Out of office until `until`: new items routed to this user go to the delegate meanwhile."""
    if until is not None and delegate_id is None:
        raise Invalid("Being away needs a delegate who takes new items meanwhile.")
    if delegate_id is not None:
        delegate = db.session.get(User, delegate_id)
        if delegate is None or not delegate.active or delegate.id == user.id:
            raise Invalid("The delegate must be another active user.")
    user.away_until, user.delegate_id = until, delegate_id
    db.session.commit()


def _hand_over(user: User, actor: User | None, reason: str, team: Team | None = None) -> int:
    query = select(FeedbackItem).where(FeedbackItem.owner_id == user.id, FeedbackItem.status != "closed")
    if team is not None:
        query = query.where(FeedbackItem.team_id == team.id)
    items = list(db.session.scalars(query.order_by(FeedbackItem.id)))
    for item in items:
        try:
            assignment = route(facts_of(item))
            new_owner, new_team, how = assignment.owner, assignment.team, assignment.reason
            if new_owner.id == user.id:  # still active (left a team) and a rule points at them again
                new_owner, new_team, how = _lead_or_fallback(item, user)
        except NoOwnerAvailable:
            db.session.rollback()
            raise Conflict(f"Nobody could take over item #{item.id}: add an active admin or a routing rule "
                           "first.") from None
        item.owner_id = new_owner.id
        item.team_id = new_team.id if new_team else team_after_hand_over(item.team_id, new_owner)
        db.session.add(ItemEvent(item_id=item.id, kind="reassigned", actor_id=actor.id if actor else None,
                                 body=f"{reason} Handed over to {new_owner.name} ({how}).",
                                 data={"from_owner_id": user.id, "to_owner_id": new_owner.id}))
        webhooks.emit("item.assigned", {**webhooks.item_data(item), "previous_owner_id": user.id,
                                        "handover_note": reason})
    return len(items)


def _lead_or_fallback(item: FeedbackItem, leaving: User):
    team = db.session.get(Team, item.team_id) if item.team_id else None
    if team is not None and team.lead is not None and team.lead.active and team.lead.id != leaving.id:
        return team.lead, team, "team lead"
    fallback = fallback_owner()
    if fallback.id == leaving.id:
        raise NoOwnerAvailable("the fallback owner is the person leaving")
    return fallback, None, "fallback owner"


