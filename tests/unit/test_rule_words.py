"""A rule's conditions as the Routing page says them (routing/describe.py): names instead of ids, every
condition joined with "and", a list of choices with "or"."""

from vocloop.routing.describe import describe_conditions

SURVEYS = {1: "Onboarding NPS", 2: "Support CSAT", 3: "Churn CES"}
ACCOUNTS = {7: "Northwind Traders", 8: "Contoso"}


def said(conditions):
    return describe_conditions(conditions, SURVEYS, ACCOUNTS)


def test_a_rule_without_conditions_takes_everything():
    assert said({}) == "everything"


def test_every_condition_is_said_in_words_joined_with_and():
    conditions = {"survey_ids": [1, 2, 3], "score_min": 0, "score_max": 6, "bands": ["negative", "neutral"],
                  "sentiments": ["negative"], "topics": ["billing", "bugs"], "urgent": True,
                  "priorities": ["P1", "P2"], "account_ids": [7, 8], "languages": ["en", "de"],
                  "attributes": {"plan": ["gold", "platinum"], "region": "eu"}}
    assert said(conditions) == (
        "the survey is Onboarding NPS, Support CSAT or Churn CES and the score is 0–6 and the score is negative or "
        "neutral for its scale and the words are negative and a topic is billing or bugs and the comment has "
        "urgent language and the priority is P1 or P2 and the account is Northwind Traders or Contoso and the "
        "contact's language is en or de and plan is gold or platinum and region is eu")


def test_a_score_is_said_as_a_range_a_single_score_or_one_bound():
    assert said({"score_min": 9, "score_max": 10}) == "the score is 9–10"
    assert said({"score_min": 10, "score_max": 10}) == "the score is 10"
    assert said({"score_min": 0, "score_max": 0}) == "the score is 0"  # zero is a score, not "no bound"
    assert said({"score_min": 0}) == "the score is at least 0"
    assert said({"score_max": 6}) == "the score is at most 6"


def test_no_urgent_language_and_a_survey_or_account_deleted_since_are_said_too():
    assert said({"urgent": False}) == "no urgent language"
    assert said({"survey_ids": [4], "account_ids": [9]}) == "the survey is #4 and the account is #9"
