"""Routing rules as pure functions over a classified response: no I/O, no database.

conditions keys (all optional; a missing key matches anything):
  survey_ids: [int]       score_min / score_max: int (inclusive)
  sentiments: [str]       topics: [str] (any of them)
  account_ids: [int]      priorities: [str]       bands: [negative|neutral|positive]
  urgent: bool            languages: [str] (the contact's "language" attribute)
  attributes: {name: value or [values]} (the contact's attributes, all must match)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from vocloop.values import BANDS, PRIORITIES, SENTIMENTS

CONDITION_KEYS = {"survey_ids", "score_min", "score_max", "sentiments", "topics", "account_ids",
                  "priorities", "bands", "urgent", "languages", "attributes"}


@dataclass(frozen=True)
class RoutingFacts:
    survey_id: int
    score: int
    band: str
    sentiment: str
    priority: str
    account_id: int | None = None
    topics: tuple[str, ...] = field(default_factory=tuple)
    urgent: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    contact_language: str | None = None

    @property
    def language(self) -> str | None:
        """The contact's language (a "language" attribute before contacts had one)."""
        return self.contact_language or self.attributes.get("language")


class RuleLike(Protocol):
    id: int
    position: int
    enabled: bool
    conditions: dict[str, Any]


def rule_matches(conditions: dict[str, Any], facts: RoutingFacts) -> bool:
    if "survey_ids" in conditions and facts.survey_id not in conditions["survey_ids"]:
        return False
    if "score_min" in conditions and facts.score < conditions["score_min"]:
        return False
    if "score_max" in conditions and facts.score > conditions["score_max"]:
        return False
    if "sentiments" in conditions and facts.sentiment not in conditions["sentiments"]:
        return False
    if "bands" in conditions and facts.band not in conditions["bands"]:
        return False
    if "priorities" in conditions and facts.priority not in conditions["priorities"]:
        return False
    if "account_ids" in conditions and facts.account_id not in conditions["account_ids"]:
        return False
    if "topics" in conditions and not set(conditions["topics"]) & set(facts.topics):
        return False
    if "urgent" in conditions and facts.urgent != conditions["urgent"]:
        return False
    if "languages" in conditions and facts.language not in conditions["languages"] \
            and (facts.language or "").split("-")[0] not in conditions["languages"]:
        return False
    for name, wanted in (conditions.get("attributes") or {}).items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if facts.attributes.get(name) not in allowed:
            return False
    return True


def matching_rules(rules: Sequence[RuleLike], facts: RoutingFacts) -> list[RuleLike]:
    """Enabled rules that match, in the order they are tried: position, then age."""
    ordered = sorted((rule for rule in rules if rule.enabled), key=lambda rule: (rule.position, rule.id))
    return [rule for rule in ordered if rule_matches(rule.conditions or {}, facts)]


def next_round_robin(member_ids: Sequence[int], last_assigned_id: int | None) -> int | None:
    """The member after the last one assigned, wrapping around; the first if the last is gone."""
    members = sorted(member_ids)
    if not members:
        return None
    if last_assigned_id is None:
        return members[0]
    for member_id in members:
        if member_id > last_assigned_id:
            return member_id
    return members[0]


def least_loaded(open_counts: dict[int, int]) -> int | None:
    """The member with the fewest open items; ties go to the lowest id, so the result is stable."""
    if not open_counts:
        return None
    return min(open_counts, key=lambda member_id: (open_counts[member_id], member_id))


def condition_errors(conditions: Any) -> list[str]:
    """Human-readable problems with a conditions dict, empty when it is valid."""
    if not isinstance(conditions, dict):
        return ["conditions must be an object"]
    errors = [f"unknown condition {key!r}" for key in conditions if key not in CONDITION_KEYS]
    for key in ("score_min", "score_max"):
        if key in conditions and (not isinstance(conditions[key], int) or isinstance(conditions[key], bool)):
            errors.append(f"{key} must be an integer")
    for key, allowed in (("sentiments", SENTIMENTS), ("bands", BANDS), ("priorities", PRIORITIES)):
        if key in conditions:
            values = conditions[key]
            if not isinstance(values, list) or any(value not in allowed for value in values):
                errors.append(f"{key} must be a list of {', '.join(allowed)}")
    for key in ("survey_ids", "account_ids"):
        if key in conditions and (not isinstance(conditions[key], list)
                                  or not all(isinstance(v, int) for v in conditions[key])):
            errors.append(f"{key} must be a list of integers")
    for key in ("topics", "languages"):
        if key in conditions and (not isinstance(conditions[key], list)
                                  or not all(isinstance(v, str) for v in conditions[key])):
            errors.append(f"{key} must be a list of strings")
    if "urgent" in conditions and not isinstance(conditions["urgent"], bool):
        errors.append("urgent must be true or false")
    if "attributes" in conditions and not isinstance(conditions["attributes"], dict):
        errors.append("attributes must be an object of attribute name to value (or list of values)")
    return errors
