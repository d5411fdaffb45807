from dataclasses import dataclass, field

from vocloop.routing.rules import (
    RoutingFacts,
    condition_errors,
    least_loaded,
    matching_rules,
    next_round_robin,
    rule_matches,
)


@dataclass
class Rule:
    id: int
    position: int
    conditions: dict = field(default_factory=dict)
    enabled: bool = True


FACTS = RoutingFacts(survey_id=1, score=3, band="negative", sentiment="negative", priority="P2",
                     account_id=7, topics=("billing", "support"))


def test_empty_conditions_match_everything():
    assert rule_matches({}, FACTS)


def test_each_condition_narrows_the_match():
    assert rule_matches({"score_min": 0, "score_max": 6, "bands": ["negative"], "survey_ids": [1]}, FACTS)
    assert not rule_matches({"score_min": 4}, FACTS)
    assert not rule_matches({"score_max": 2}, FACTS)
    assert not rule_matches({"sentiments": ["positive"]}, FACTS)
    assert not rule_matches({"survey_ids": [2]}, FACTS)
    assert not rule_matches({"account_ids": [8]}, FACTS)
    assert not rule_matches({"priorities": ["P1"]}, FACTS)


def test_topics_match_when_any_topic_is_shared():
    assert rule_matches({"topics": ["pricing", "billing"]}, FACTS)
    assert not rule_matches({"topics": ["delivery"]}, FACTS)


def test_rules_are_tried_by_position_then_age_and_disabled_ones_skipped():
    rules = [Rule(1, 50), Rule(2, 10, {"bands": ["positive"]}), Rule(3, 10), Rule(4, 5, enabled=False)]
    assert [rule.id for rule in matching_rules(rules, FACTS)] == [3, 1]


def test_round_robin_cycles_through_members_and_survives_a_departed_member():
    assert next_round_robin([3, 1, 2], None) == 1
    assert next_round_robin([1, 2, 3], 1) == 2
    assert next_round_robin([1, 2, 3], 3) == 1
    assert next_round_robin([1, 3], 2) == 3
    assert next_round_robin([], 2) is None


def test_least_loaded_prefers_fewest_open_items_then_lowest_id():
    assert least_loaded({5: 3, 2: 1, 9: 1}) == 2
    assert least_loaded({}) is None


def test_condition_errors_explain_what_is_wrong():
    assert condition_errors({"score_min": 0, "topics": ["billing"]}) == []
    errors = condition_errors({"colour": "red", "score_min": "low", "sentiments": ["angry"], "survey_ids": "1"})
    assert "unknown condition 'colour'" in errors
    assert "score_min must be an integer" in errors
    assert any(error.startswith("sentiments must be") for error in errors)
    assert "survey_ids must be a list of integers" in errors
    assert condition_errors(["not", "a", "dict"]) == ["conditions must be an object"]


def test_urgency_language_and_contact_attributes_can_be_matched():
    facts = RoutingFacts(survey_id=1, score=3, band="negative", sentiment="negative", priority="P1", urgent=True,
                         attributes={"language": "de", "plan": "enterprise"})
    assert rule_matches({"urgent": True, "languages": ["de", "fr"]}, facts)
    assert not rule_matches({"urgent": False}, facts)
    assert not rule_matches({"languages": ["en"]}, facts)
    assert rule_matches({"attributes": {"plan": ["growth", "enterprise"]}}, facts)
    assert not rule_matches({"attributes": {"plan": "starter"}}, facts)
    assert not rule_matches({"attributes": {"region": "emea"}}, facts)
    assert condition_errors({"urgent": "yes", "languages": "de", "attributes": ["plan"]}) == [
        "languages must be a list of strings", "urgent must be true or false",
        "attributes must be an object of attribute name to value (or list of values)"]


def test_a_rules_conditions_read_as_words():
    from vocloop.routing.describe import describe_conditions

    assert describe_conditions({}, {}, {}) == "everything"
    assert describe_conditions({"account_ids": [1]}, {}, {1: "Northwind Traders"}) == \
        "the account is Northwind Traders"
    assert describe_conditions({"topics": ["billing", "pricing"], "sentiments": ["negative"], "score_min": 0,
                                "score_max": 6, "survey_ids": [3], "urgent": True}, {3: "Quarterly NPS"}, {}) == (
        "the survey is Quarterly NPS and the score is 0–6 and the words are negative and a topic is billing or "
        "pricing and the comment has urgent language")
    assert describe_conditions({"attributes": {"plan": ["pro", "enterprise"]}, "languages": ["de"]}, {}, {}) == \
        "the contact's language is de and plan is pro or enterprise"


def test_a_score_band_includes_both_of_its_ends():
    # The rule form and its description say "the score is 0–6": a 6 and a 0 belong to the band.
    band = {"score_min": 0, "score_max": 6}
    for score, inside in ((0, True), (6, True), (7, False)):
        facts = RoutingFacts(survey_id=1, score=score, band="negative", sentiment="negative", priority="P2")
        assert rule_matches(band, facts) is inside, score
    passives = {"score_min": 7, "score_max": 8}
    for score, inside in ((6, False), (7, True), (8, True), (9, False)):
        facts = RoutingFacts(survey_id=1, score=score, band="neutral", sentiment="neutral", priority="P3")
        assert rule_matches(passives, facts) is inside, score


def test_a_rule_for_a_language_takes_its_regional_variants():
    # A rule for German speakers also takes a contact whose language is Swiss German (de-CH),
    # but not one whose language is unknown.
    swiss = RoutingFacts(survey_id=1, score=3, band="negative", sentiment="negative", priority="P2",
                         contact_language="de-CH")
    assert rule_matches({"languages": ["de"]}, swiss)
    assert rule_matches({"languages": ["de-CH"]}, swiss)
    assert not rule_matches({"languages": ["fr"]}, swiss)
    unknown = RoutingFacts(survey_id=1, score=3, band="negative", sentiment="negative", priority="P2")
    assert not rule_matches({"languages": ["de"]}, unknown)


def test_each_mistyped_condition_is_named_with_what_it_accepts():
    # A lead who saves a rule through the API with a wrong value in any condition is told which
    # condition is wrong and what it takes, never left with a rule that silently matches nothing.
    cases = {
        "score_max": ("high", "score_max must be an integer"),
        "bands": (["purple"], "bands must be a list of negative, neutral, positive"),
        "priorities": (["P9"], "priorities must be a list of P1, P2, P3, P4"),
        "sentiments": (["angry"], "sentiments must be a list of negative, neutral, positive"),
        "account_ids": ([4, "Northwind"], "account_ids must be a list of integers"),
        "survey_ids": ("1", "survey_ids must be a list of integers"),
        "topics": ([3], "topics must be a list of strings"),
        "languages": ("de", "languages must be a list of strings"),
    }
    for key, (value, error) in cases.items():
        assert condition_errors({key: value}) == [error], key
    assert condition_errors({"score_max": True}) == ["score_max must be an integer"]
