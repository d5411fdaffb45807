"""Who may see and act on which item: checked on the object, never on the role alone."""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from vocloop.accounts.models import Team, User, team_members
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem


def team_ids_of(user: User) -> set[int]:
    return {team.id for team in user.teams}


def led_team_ids(user: User) -> set[int]:
    return set(db.session.scalars(select(Team.id).where(Team.lead_id == user.id)))


def visible_items_filter(user: User):
    """A WHERE clause: admins see everything; others their own items, their teams' items, and the
    teamless items of their teammates. A teammate's item of another team stays that team's: sharing
    one member must not open a team's items to another team's lead."""
    if user.role == "admin":
        return FeedbackItem.id.is_not(None)
    # Ids resolved here rather than as a subquery: plain IN lists let PostgreSQL combine indexes. One
    # statement: the teams the user is in or leads, each with its members (a led team may have none).
    in_team = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    rows = db.session.execute(select(Team.id, team_members.c.user_id)
                              .outerjoin(team_members, team_members.c.team_id == Team.id)
                              .where(or_(Team.id.in_(in_team), Team.lead_id == user.id))).all()
    team_ids = {team_id for team_id, _ in rows}
    people = {person for _, person in rows if person is not None}
    return or_(FeedbackItem.owner_id == user.id, FeedbackItem.team_id.in_(team_ids),
               and_(FeedbackItem.team_id.is_(None), FeedbackItem.owner_id.in_(people)))


def team_after_hand_over(team_id: int | None, new_owner: User) -> int | None:
    """The team an item belongs to once `new_owner` has it: its own team if they are in it, else
    theirs (the one they lead first), so the team it left stops seeing it. Someone in no team (an
    admin the item is escalated to) takes it within its team."""
    teams = sorted(new_owner.teams, key=lambda team: (team.lead_id != new_owner.id, team.id))
    if not teams or team_id in {team.id for team in teams}:
        return team_id
    return teams[0].id


def can_view(user: User, item: FeedbackItem) -> bool:
    return db.session.scalar(select(FeedbackItem.id).where(
        FeedbackItem.id == item.id, visible_items_filter(user))) is not None


def can_reassign(user: User, item: FeedbackItem) -> bool:
    """Owners hand over their own items; leads and admins any item they can see."""
    return can_view(user, item) and (user.role in ("lead", "admin") or item.owner_id == user.id)


def hand_over_targets_filter(user: User):
    """Owners hand over to teammates, or up to a lead or admin; leads and admins to anyone."""
    if user.role != "owner":
        return User.id.is_not(None)
    teammates = select(team_members.c.user_id).where(team_members.c.team_id.in_(team_ids_of(user)))
    return or_(User.id.in_(teammates), User.role != "owner")


def can_hand_over_to(user: User, new_owner: User) -> bool:
    return new_owner.active and db.session.scalar(select(User.id).where(
        User.id == new_owner.id, hand_over_targets_filter(user))) is not None


def can_work(user: User, item: FeedbackItem) -> bool:
    """Notes, status and the closing message: the owner, their team's lead, and admins."""
    return can_view(user, item) and (user.role in ("lead", "admin") or item.owner_id == user.id)
