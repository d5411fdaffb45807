"""Who owns an item, decided purely from rules, facts and a snapshot of the people available.

The live path (routing/service.py) takes the snapshot from the database and applies the decision;
the dry run applies the same function to a copy of the snapshot, item after item, so its
prediction is exactly what the live rules would do from the same starting point.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vocloop.routing.rules import RoutingFacts, least_loaded, matching_rules, next_round_robin


class NoOwnerAvailable(RuntimeError):
    """No rule and no fallback yields an active user: the response waits, and an admin must act."""


@dataclass
class Person:
    id: int
    name: str
    active: bool = True
    away_until: datetime | None = None
    delegate_id: int | None = None


@dataclass
class TeamState:
    id: int
    name: str
    member_ids: list[int] = field(default_factory=list)
    last_assigned_user_id: int | None = None


@dataclass
class RoutingState:
    people: dict[int, Person]
    teams: dict[int, TeamState]
    account_owners: dict[int, int | None]
    open_counts: dict[int, int]
    fallback_id: int | None
    now: datetime

    def copy(self) -> RoutingState:
        return copy.deepcopy(self)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as routing reads it: a saved RoutingRule, or a proposed one in a dry run."""

    id: int
    name: str
    position: int
    conditions: dict[str, Any]
    action: str
    user_id: int | None = None
    team_id: int | None = None
    team_strategy: str = "round_robin"
    enabled: bool = True


@dataclass(frozen=True)
class Decision:
    owner_id: int
    team_id: int | None
    rule_id: int | None
    reason: str
    # The team member the rotation picked, before an out-of-office delegation (None: no rotation).
    rotation_pick: int | None = None


def decide(rules: list[RuleSpec], facts: RoutingFacts, state: RoutingState) -> Decision:
    """First matching rule that yields an active person, else the fallback; away owners delegate."""
    for rule in matching_rules(rules, facts):
        decision = _resolve(rule, facts, state)
        if decision is not None:
            return _delegate_if_away(decision, state)
    fallback = state.people.get(state.fallback_id) if state.fallback_id else None
    if fallback is None or not fallback.active:
        raise NoOwnerAvailable("no routing rule matched and there is no active fallback owner or admin")
    return _delegate_if_away(Decision(fallback.id, None, None, "fallback owner"), state)


def apply(decision: Decision, state: RoutingState) -> None:
    """What routing one item changes in the snapshot: the rotation and the owner's load."""
    if decision.rotation_pick is not None and decision.team_id in state.teams:
        state.teams[decision.team_id].last_assigned_user_id = decision.rotation_pick
    state.open_counts[decision.owner_id] = state.open_counts.get(decision.owner_id, 0) + 1


def simulate(rules: list[RuleSpec], facts_list: list[RoutingFacts], state: RoutingState) -> list[Decision]:
    """Route these one after another on a copy of the snapshot; the live state is untouched."""
    working = state.copy()
    decisions = []
    for facts in facts_list:
        decision = decide(rules, facts, working)
        apply(decision, working)
        decisions.append(decision)
    return decisions


def _active(state: RoutingState, person_id: int | None) -> Person | None:
    person = state.people.get(person_id) if person_id else None
    return person if person is not None and person.active else None


def _resolve(rule: RuleSpec, facts: RoutingFacts, state: RoutingState) -> Decision | None:
    if rule.action == "user":
        person = _active(state, rule.user_id)
        return Decision(person.id, None, rule.id, f"rule “{rule.name}”") if person else None
    if rule.action == "account_owner":
        person = _active(state, state.account_owners.get(facts.account_id)) if facts.account_id else None
        return Decision(person.id, None, rule.id, f"rule “{rule.name}”: account owner") if person else None
    team = state.teams.get(rule.team_id)
    if team is None:
        return None
    members = [member for member in team.member_ids if _active(state, member)]
    if rule.team_strategy == "least_loaded":
        pick = least_loaded({member: state.open_counts.get(member, 0) for member in members})
    else:
        pick = next_round_robin(members, team.last_assigned_user_id)
    if pick is None:
        return None
    return Decision(pick, team.id, rule.id, f"rule “{rule.name}”: team {team.name}", rotation_pick=pick)


def _delegate_if_away(decision: Decision, state: RoutingState) -> Decision:
    owner = state.people[decision.owner_id]
    if owner.away_until is None or owner.away_until <= state.now:
        return decision
    delegate = _active(state, owner.delegate_id)
    if delegate is None or (delegate.away_until and delegate.away_until > state.now):
        return decision  # nobody to delegate to: the owner keeps it and sees it on return
    return Decision(delegate.id, decision.team_id, decision.rule_id,
                    f"{decision.reason}; delegated by {owner.name}, away until {owner.away_until:%Y-%m-%d}",
                    decision.rotation_pick)
