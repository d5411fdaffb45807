"""Deciding who owns an item: the first matching rule that yields an active user, else the fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from vocloop.accounts.models import Team, User
from vocloop.contacts.models import Account
from vocloop.db import utcnow
from vocloop.errors import Invalid, NotFound
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.outbound import service as webhooks
from vocloop.routing.decide import (
    NoOwnerAvailable,
    Person,
    RoutingState,
    RuleSpec,
    TeamState,
    decide,
    simulate,
)
from vocloop.routing.models import ACTIONS, TEAM_STRATEGIES, RoutingRule
from vocloop.routing.rules import RoutingFacts, condition_errors, matching_rules
from vocloop.surveys.kinds import get_kind

log = logging.getLogger(__name__)
DRY_RUN_LIMIT = 5000

__all__ = ["Assignment", "NoOwnerAvailable", "create_rule", "dry_run", "fallback_owner", "route"]


@dataclass(frozen=True)
class Assignment:
    owner: User
    team: Team | None
    rule: RoutingRule | None
    reason: str


def specs_of(rules: list[RoutingRule]) -> list[RuleSpec]:
    return [RuleSpec(id=r.id, name=r.name, position=r.position, conditions=r.conditions or {}, action=r.action,
                     user_id=r.user_id, team_id=r.team_id, team_strategy=r.team_strategy, enabled=r.enabled)
            for r in rules]


def snapshot(account_ids: set[int] | None = None) -> RoutingState:
    """Who can take items right now, read from the database."""
    people = {u.id: Person(u.id, u.name, u.active, u.away_until, u.delegate_id)
              for u in db.session.scalars(select(User))}
    teams = {t.id: TeamState(t.id, t.name, [m.id for m in t.members], t.last_assigned_user_id)
             for t in db.session.scalars(select(Team).options(selectinload(Team.members)))}
    accounts = select(Account.id, Account.owner_id)
    if account_ids is not None:
        accounts = accounts.where(Account.id.in_(account_ids))
    open_counts = dict(db.session.execute(
        select(FeedbackItem.owner_id, func.count()).where(FeedbackItem.status != "closed")
        .group_by(FeedbackItem.owner_id)).all())
    try:
        fallback_id = fallback_owner().id
    except NoOwnerAvailable:
        fallback_id = None
    return RoutingState(people=people, teams=teams, account_owners=dict(db.session.execute(accounts).all()),
                        open_counts=open_counts, fallback_id=fallback_id, now=utcnow())


def route(facts: RoutingFacts) -> Assignment:
    """Decide the owner and record the team rotation, in the caller's transaction."""
    rules = specs_of(list(db.session.scalars(select(RoutingRule).where(RoutingRule.enabled.is_(True)))))
    team_ids = sorted({rule.team_id for rule in matching_rules(rules, facts) if rule.action == "team"})
    if team_ids:  # two workers routing to one team take turns, so the rotation stays fair
        db.session.scalars(select(Team).where(Team.id.in_(team_ids)).order_by(Team.id).with_for_update()
                           .execution_options(populate_existing=True)).all()
    state = snapshot({facts.account_id} if facts.account_id else set())
    decision = decide(rules, facts, state)
    # A concurrent deactivation holds the user's row until it has handed their items over; the
    # shared lock waits for it and then sees the user inactive, so we decide again.
    for _ in range(5):
        still_active = db.session.scalar(select(User.active).where(User.id == decision.owner_id)
                                         .with_for_update(read=True).execution_options(populate_existing=True))
        if still_active:
            break
        state.people[decision.owner_id].active = False
        decision = decide(rules, facts, state)
    team = db.session.get(Team, decision.team_id) if decision.team_id else None
    if team is not None:  # a team rule chose (it always names its pick): the rotation moves on from it
        team.last_assigned_user_id = decision.rotation_pick
    rule = db.session.get(RoutingRule, decision.rule_id) if decision.rule_id else None
    return Assignment(db.session.get(User, decision.owner_id), team, rule, decision.reason)


def dry_run(proposed: list[RuleSpec], days: int = 30, samples: int = 20) -> dict:
    """How the last `days` of items would be routed by the proposed rules, against the current ones,
    both replayed from today's state: counts per owner and the items that would move."""
    since = utcnow() - timedelta(days=days)
    items = list(db.session.scalars(select(FeedbackItem).where(FeedbackItem.created_at >= since)
                                    .order_by(FeedbackItem.created_at, FeedbackItem.id).limit(DRY_RUN_LIMIT)))
    facts = [facts_of(item) for item in items]
    state = snapshot()
    current_rules = specs_of(list(db.session.scalars(select(RoutingRule).where(RoutingRule.enabled.is_(True)))))
    now_decisions = simulate(current_rules, facts, state)
    new_decisions = simulate(proposed, facts, state)
    names = {person.id: person.name for person in state.people.values()}

    def counts(decisions):
        tally: dict[str, int] = {}
        for decision in decisions:
            tally[names[decision.owner_id]] = tally.get(names[decision.owner_id], 0) + 1
        return dict(sorted(tally.items()))

    moved = [(item, old, new) for item, old, new in zip(items, now_decisions, new_decisions, strict=True)
             if _target(old) != _target(new)]
    return {"days": days, "items": len(items), "changed": len(moved), "current": counts(now_decisions),
            "proposed": counts(new_decisions),
            "samples": [{"item_id": item.id, "current_owner": names[old.owner_id],
                         "proposed_owner": names[new.owner_id], "proposed_reason": new.reason}
                        for item, old, new in moved[:samples]]}


def _target(decision) -> tuple[str, int]:
    """Where a decision sends an item: its team, or else its person. A team's rotation picks members
    in turn, so an unchanged team rule replayed over fewer items picks others: that is no move."""
    return ("team", decision.team_id) if decision.team_id is not None else ("person", decision.owner_id)


def facts_of(item: FeedbackItem) -> RoutingFacts:
    """The facts an existing item was (or would be) routed on, from its stored classification."""
    response = item.response
    return RoutingFacts(survey_id=item.survey_id, score=response.score,
                        band=get_kind(item.survey.kind).band(response.score),
                        sentiment=response.sentiment_label or "neutral", priority=item.priority,
                        account_id=item.contact.account_id, topics=tuple(response.topics or ()),
                        urgent=response.urgent, attributes=item.contact.attributes or {},
                        contact_language=item.contact.language)


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
                team_id: int | None = None, team_strategy: str = "round_robin", position: int = 100,
                enabled: bool = True, notify_user_id: int | None = None, notify_team_id: int | None = None,
                notify_slack_url: str | None = None) -> RoutingRule:
    rule = RoutingRule(**_checked_rule(dict(
        name=name, action=action, conditions=conditions or {}, user_id=user_id, team_id=team_id,
        team_strategy=team_strategy, position=position, enabled=enabled, notify_user_id=notify_user_id,
        notify_team_id=notify_team_id, notify_slack_url=notify_slack_url or None)))
    db.session.add(rule)
    db.session.commit()
    return rule


def update_rule(rule: RoutingRule, **changes) -> RoutingRule:
    """Apply changes and check the whole rule again, as create_rule does."""
    merged = {key: getattr(rule, key) for key in RULE_FIELDS}
    merged.update(changes)
    for key, value in _checked_rule(merged).items():
        setattr(rule, key, value)
    db.session.commit()
    return rule


def delete_rule(rule: RoutingRule) -> str:
    """Delete the rule; its name, for the confirmation. Items it routed keep their owner."""
    name = rule.name
    db.session.delete(rule)
    db.session.commit()
    return name


def move_rule(rule_id: int, direction: str) -> None:
    """Swap the rule with the one above ("up") or below; positions become 10, 20, 30 ... in the new
    order, so later inserts by position land where a lead expects. At either end, nothing moves."""
    rules = list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)))
    index = next((i for i, rule in enumerate(rules) if rule.id == rule_id), None)
    if index is None:
        raise NotFound("No such routing rule.")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
        for position, rule in enumerate(rules, start=1):
            rule.position = position * 10
        db.session.commit()


RULE_FIELDS = ("name", "action", "conditions", "user_id", "team_id", "team_strategy", "position", "enabled",
               "notify_user_id", "notify_team_id", "notify_slack_url")


def check_slack_url(url: str | None) -> str | None:
    """None, or the problem with this webhook URL (its address included, as delivery will check it)."""
    if not url:
        return None
    parsed = urlparse(url)
    production = current_app.config["VOCLOOP_ENV"] == "production"
    if parsed.scheme != "https" and (production or parsed.scheme != "http") or not parsed.netloc:
        return "notify_slack_url must be an https:// Slack incoming-webhook URL"
    if parsed.username or parsed.password:
        return "notify_slack_url must not carry credentials"
    if problem := webhooks.destination_problem(url):
        return f"notify_slack_url is refused: {problem}"
    return None


def _checked_rule(fields: dict) -> dict:
    """The rule's fields, validated, with the target that does not apply to its action cleared."""
    problems = condition_errors(fields["conditions"] or {})
    if fields["action"] not in ACTIONS:
        problems.append(f"action must be one of {', '.join(ACTIONS)}")
    if fields["team_strategy"] not in TEAM_STRATEGIES:
        problems.append(f"team_strategy must be one of {', '.join(TEAM_STRATEGIES)}")
    if slack_problem := check_slack_url(fields.get("notify_slack_url")):
        problems.append(slack_problem)
    if problems:
        raise Invalid("; ".join(problems))
    if fields["action"] == "user" and db.session.get(User, fields["user_id"] or 0) is None:
        raise NotFound("action 'user' needs user_id of an existing user")
    if fields["action"] == "team" and db.session.get(Team, fields["team_id"] or 0) is None:
        raise NotFound("action 'team' needs team_id of an existing team")
    for name, model, what in (("notify_user_id", User, "user"), ("notify_team_id", Team, "team")):
        value = fields.get(name)
        if value is None:
            continue
        if value < 1:  # 0 once slipped past a truthiness test to the foreign key: a 500
            raise Invalid(f"{name} must be the id of an existing {what}, or null for none")
        if db.session.get(model, value) is None:
            raise NotFound(f"{name} is not an existing {what}")
    return {**fields, "user_id": fields["user_id"] if fields["action"] == "user" else None,
            "team_id": fields["team_id"] if fields["action"] == "team" else None}
