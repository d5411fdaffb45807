"""Deciding who owns an item: the first matching rule that yields an active user, else the fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from vocloop.accounts.models import Team, User
from vocloop.contacts.models import Account
from vocloop.errors import Invalid, NotFound
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.routing.models import ACTIONS, TEAM_STRATEGIES, RoutingRule
from vocloop.routing.rules import RoutingFacts, condition_errors, least_loaded, matching_rules, next_round_robin

log = logging.getLogger(__name__)


class NoOwnerAvailable(RuntimeError):
    """No rule and no fallback yields an active user: the response waits, and an admin must act."""


@dataclass(frozen=True)
class Assignment:
    owner: User
    team: Team | None
    rule: RoutingRule | None
    reason: str


def route(facts: RoutingFacts) -> Assignment:
    rules = list(db.session.scalars(select(RoutingRule).where(RoutingRule.enabled.is_(True))))
    for rule in matching_rules(rules, facts):
        assignment = _resolve(rule, facts)
        if assignment is not None:
            return assignment
        log.warning("routing rule %s matched but yields no active user; trying the next", rule.id)
    return Assignment(owner=fallback_owner(), team=None, rule=None, reason="fallback owner")


def _resolve(rule: RoutingRule, facts: RoutingFacts) -> Assignment | None:
    if rule.action == "user":
        user = db.session.get(User, rule.user_id)
        return Assignment(user, None, rule, f"rule “{rule.name}”") if user and user.active else None
    if rule.action == "account_owner":
        account = db.session.get(Account, facts.account_id) if facts.account_id else None
        owner = account.owner if account else None
        return Assignment(owner, None, rule, f"rule “{rule.name}”: account owner") \
            if owner and owner.active else None
    team = db.session.get(Team, rule.team_id, with_for_update=True)
    member_id = pick_team_member(team, rule.team_strategy) if team else None
    if member_id is None:
        return None
    team.last_assigned_user_id = member_id
    return Assignment(db.session.get(User, member_id), team, rule, f"rule “{rule.name}”: team {team.name}")


def pick_team_member(team: Team, strategy: str) -> int | None:
    member_ids = [member.id for member in team.members if member.active]
    if strategy == "least_loaded":
        counts = dict.fromkeys(member_ids, 0)
        rows = db.session.execute(
            select(FeedbackItem.owner_id, func.count())
            .where(FeedbackItem.owner_id.in_(member_ids), FeedbackItem.status != "closed")
            .group_by(FeedbackItem.owner_id))
        counts.update({owner_id: count for owner_id, count in rows})
        return least_loaded(counts)
    return next_round_robin(member_ids, team.last_assigned_user_id)


def fallback_owner() -> User:
    email = current_app.config.get("FALLBACK_OWNER_EMAIL")
    if email:
        user = db.session.scalar(select(User).where(User.email == email.lower()))
        if user and user.active:
            return user
        log.error("FALLBACK_OWNER_EMAIL %s is not an active user; using the earliest admin", email)
    admin = db.session.scalar(select(User).where(User.role == "admin", User.active.is_(True))
                              .order_by(User.id).limit(1))
    if admin is None:
        raise NoOwnerAvailable("no routing rule matched and there is no active fallback owner or admin")
    return admin


def create_rule(*, name: str, action: str, conditions: dict | None = None, user_id: int | None = None,
                team_id: int | None = None, team_strategy: str = "round_robin",
                position: int = 100, enabled: bool = True) -> RoutingRule:
    conditions = conditions or {}
    problems = condition_errors(conditions)
    if action not in ACTIONS:
        problems.append(f"action must be one of {', '.join(ACTIONS)}")
    if team_strategy not in TEAM_STRATEGIES:
        problems.append(f"team_strategy must be one of {', '.join(TEAM_STRATEGIES)}")
    if problems:
        raise Invalid("; ".join(problems))
    if action == "user" and db.session.get(User, user_id or 0) is None:
        raise NotFound("action 'user' needs user_id of an existing user")
    if action == "team" and db.session.get(Team, team_id or 0) is None:
        raise NotFound("action 'team' needs team_id of an existing team")
    rule = RoutingRule(name=name, action=action, conditions=conditions, position=position, enabled=enabled,
                       user_id=user_id if action == "user" else None,
                       team_id=team_id if action == "team" else None, team_strategy=team_strategy)
    db.session.add(rule)
    db.session.commit()
    return rule
