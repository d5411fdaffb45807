"""A routing rule as the browser form shows it, and back: every condition the engine supports
(routing/rules.py), with surveys and accounts picked by name and a bad entry reported with its field
instead of dropped, so the form comes back exactly as it was typed."""

from __future__ import annotations

from typing import Any

from vocloop.values import BANDS, PRIORITIES, SENTIMENTS

LIST_FIELDS = ("survey_ids", "account_ids", "bands", "sentiments", "priorities", "topics")
TEXT_FIELDS = ("name", "position", "score_min", "score_max", "languages", "attributes", "urgent", "action",
               "user_id", "team_id", "team_strategy", "notify_user_id", "notify_team_id", "notify_slack_url")
EMPTY = {"position": "100", "action": "team", "team_strategy": "round_robin", "enabled": "y"}


def values_of_rule(rule) -> dict[str, Any]:
    """The form's values for a saved rule (edit page)."""
    conditions = rule.conditions or {}
    attributes = "\n".join(f"{name} = {', '.join(map(str, wanted)) if isinstance(wanted, list) else wanted}"
                           for name, wanted in (conditions.get("attributes") or {}).items())
    urgent = {True: "yes", False: "no"}.get(conditions.get("urgent"), "")
    return {
        "name": rule.name, "position": str(rule.position), "enabled": "y" if rule.enabled else "",
        **{key: [str(value) for value in conditions.get(key, [])] for key in LIST_FIELDS},
        "score_min": _text(conditions.get("score_min")), "score_max": _text(conditions.get("score_max")),
        "languages": ", ".join(conditions.get("languages", [])), "attributes": attributes, "urgent": urgent,
        "action": rule.action, "user_id": _text(rule.user_id), "team_id": _text(rule.team_id),
        "team_strategy": rule.team_strategy, "notify_user_id": _text(rule.notify_user_id),
        "notify_team_id": _text(rule.notify_team_id), "notify_slack_url": rule.notify_slack_url or "",
    }


def values_of_form(form) -> dict[str, Any]:
    """The posted form, kept as typed so a refused rule comes back unchanged."""
    values: dict[str, Any] = {key: form.getlist(key) for key in LIST_FIELDS}
    values.update({key: form.get(key, "").strip() for key in TEXT_FIELDS})
    values["enabled"] = "" if form.get("paused") == "y" else "y"  # unticked boxes are not sent: on by default
    return values


def empty_values() -> dict[str, Any]:
    return {**{key: [] for key in LIST_FIELDS}, **{key: "" for key in TEXT_FIELDS}, **EMPTY}


def rule_of_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """create_rule/update_rule arguments, and problems by field name (empty when it reads well).
    Whether ids exist and the rule hangs together is left to the service, as for the API."""
    problems: dict[str, str] = {}
    conditions: dict[str, Any] = {}
    for key in ("survey_ids", "account_ids"):
        ids = [int(value) for value in values[key] if value.isdigit()]
        if ids:
            conditions[key] = ids
    for key, allowed in (("bands", BANDS), ("sentiments", SENTIMENTS), ("priorities", PRIORITIES)):
        chosen = [value for value in values[key] if value in allowed]
        if chosen:
            conditions[key] = chosen
    topics = [topic.strip() for topic in values["topics"] if topic.strip()]
    if topics:
        conditions["topics"] = topics
    for key, label in (("score_min", "The lowest score"), ("score_max", "The highest score")):
        number = _whole(values[key])
        if number is _BAD:
            problems[key] = f"{label} must be a whole number, like 6."
        elif number is not None:
            conditions[key] = number
    if "score_min" in conditions and "score_max" in conditions and conditions["score_min"] > conditions["score_max"]:
        problems["score_max"] = "The highest score must not be below the lowest."
    languages = [code.strip().lower() for code in values["languages"].replace(";", ",").split(",") if code.strip()]
    if any(not code.replace("-", "").isalpha() or len(code) > 10 for code in languages):
        problems["languages"] = "Languages are codes like en, de or pt-br, separated by commas."
    elif languages:
        conditions["languages"] = languages
    attributes, attribute_problem = _attributes(values["attributes"])
    if attribute_problem:
        problems["attributes"] = attribute_problem
    elif attributes:
        conditions["attributes"] = attributes
    if values["urgent"] in ("yes", "no"):
        conditions["urgent"] = values["urgent"] == "yes"
    if not values["name"]:
        problems["name"] = "Give the rule a name, so the inbox can say why an item came to someone."
    position = _whole(values["position"] or "100")
    if position is _BAD:
        problems["position"] = "The position must be a whole number; lower is tried first."
    target = {"user": "user_id", "team": "team_id"}.get(values["action"])
    if target and not values[target]:
        problems[target] = "Choose the person." if target == "user_id" else "Choose the team."
    rule = {"name": values["name"], "position": 100 if position is _BAD else position,
            "enabled": values["enabled"] == "y", "conditions": conditions, "action": values["action"],
            "user_id": _id(values["user_id"]), "team_id": _id(values["team_id"]),
            "team_strategy": values["team_strategy"] or "round_robin",
            "notify_user_id": _id(values["notify_user_id"]), "notify_team_id": _id(values["notify_team_id"]),
            "notify_slack_url": values["notify_slack_url"] or None}
    return rule, problems


_BAD = object()


def _whole(text: str):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return _BAD


def _id(text: str) -> int | None:
    return int(text) if text and text.isdigit() else None


def _text(value) -> str:
    return "" if value is None else str(value)


def _attributes(text: str) -> tuple[dict[str, Any], str | None]:
    """'plan = gold, platinum' per line: the contact's attribute must be one of the values."""
    attributes: dict[str, Any] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, sep, wanted = line.partition("=")
        values = [value.strip() for value in wanted.split(",") if value.strip()]
        if not sep or not name.strip() or not values:
            return {}, f"Write each contact attribute as name = value (or values, comma-separated): “{line.strip()}”."
        attributes[name.strip()] = values[0] if len(values) == 1 else values
    return attributes, None
