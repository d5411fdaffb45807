"""A rule's conditions in words, as a lead would say them ("the account is Northwind Traders and a
topic is billing"), instead of its stored keys ("account_ids: 1"). Pure: names come from the caller."""

from __future__ import annotations

from typing import Any


def _either(values) -> str:
    values = [str(value) for value in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def describe_conditions(conditions: dict[str, Any], surveys: dict[int, str], accounts: dict[int, str]) -> str:
    """'everything' when the rule has no condition."""
    said = []
    if conditions.get("survey_ids"):
        said.append(f"the survey is {_either(surveys.get(i, f'#{i}') for i in conditions['survey_ids'])}")
    low, high = conditions.get("score_min"), conditions.get("score_max")
    if low is not None and high is not None:
        said.append(f"the score is {low}–{high}" if low != high else f"the score is {low}")
    elif low is not None:
        said.append(f"the score is at least {low}")
    elif high is not None:
        said.append(f"the score is at most {high}")
    if conditions.get("bands"):
        said.append(f"the score is {_either(conditions['bands'])} for its scale")
    if conditions.get("sentiments"):
        said.append(f"the words are {_either(conditions['sentiments'])}")
    if conditions.get("topics"):
        said.append(f"a topic is {_either(conditions['topics'])}")
    if "urgent" in conditions:
        said.append("the comment has urgent language" if conditions["urgent"] else "no urgent language")
    if conditions.get("priorities"):
        said.append(f"the priority is {_either(conditions['priorities'])}")
    if conditions.get("account_ids"):
        said.append(f"the account is {_either(accounts.get(i, f'#{i}') for i in conditions['account_ids'])}")
    if conditions.get("languages"):
        said.append(f"the contact's language is {_either(conditions['languages'])}")
    for name, wanted in (conditions.get("attributes") or {}).items():
        said.append(f"{name} is {_either(wanted if isinstance(wanted, list) else [wanted])}")
    return " and ".join(said) if said else "everything"
