import pytest

from vocloop import create_app
from vocloop.classify.service import classify, decide_priority, score_polarity
from vocloop.classify.topics import match_topics
from vocloop.surveys.kinds import KINDS

NPS, CSAT, CES = KINDS["nps"], KINDS["csat"], KINDS["ces"]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    app = create_app({"VOCLOOP_ENV": "testing",
                      "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('c') / 'x.db'}"})
    with app.app_context():
        yield


@pytest.mark.parametrize("kind, score, band", [
    (NPS, 0, "negative"), (NPS, 6, "negative"), (NPS, 7, "neutral"), (NPS, 8, "neutral"), (NPS, 9, "positive"),
    (CSAT, 2, "negative"), (CSAT, 3, "neutral"), (CSAT, 4, "positive"),
    (CES, 3, "negative"), (CES, 4, "neutral"), (CES, 5, "positive"),
])
def test_score_bands_follow_each_kind_convention(kind, score, band):
    assert kind.band(score) == band


def test_score_polarity_is_signed_by_band_and_deeper_at_the_extremes():
    assert score_polarity(NPS, 0) == pytest.approx(-1.0)
    assert -1.0 < score_polarity(NPS, 6) <= -0.3
    assert score_polarity(NPS, 8) == 0.0
    assert score_polarity(NPS, 10) == pytest.approx(1.0)


def test_a_low_score_with_a_neutral_comment_is_not_neutral(context):
    result = classify(NPS, 2, "I used it for the quarterly report.")
    assert result.label == "negative" and result.polarity < -0.1


def test_text_sentiment_is_read_from_the_comment(context):
    happy = classify(NPS, 8, "Great service, the team was wonderful and helpful!")
    angry = classify(NPS, 8, "Terrible experience, the worst support I have ever had.")
    assert happy.label == "positive" and angry.label == "negative"
    assert happy.classifier == "textblob" and 0 < happy.subjectivity <= 1


def test_urgent_churn_language_raises_priority(context):
    assert classify(NPS, 5, "We are cancelling our subscription next month.").priority == "P1"
    assert classify(NPS, 9, "Switching to a competitor would be silly, you are great.").priority == "P2"


def test_priority_ladder():
    assert decide_priority(NPS, 0, "negative", urgent=False) == "P1"
    assert decide_priority(NPS, 6, "neutral", urgent=False) == "P2"
    assert decide_priority(NPS, 7, "neutral", urgent=False) == "P3"
    assert decide_priority(NPS, 10, "negative", urgent=False) == "P3"
    assert decide_priority(NPS, 10, "positive", urgent=False) == "P4"


def test_topics_match_words_with_simple_endings_and_phrases():
    assert match_topics("I was charged twice and the invoices are wrong") == ["billing"]
    assert "onboarding" in match_topics("Getting started took ages")
    assert "bugs" in match_topics("The app crashes and freezes constantly")
    assert match_topics("") == []
    assert match_topics("Lovely weather") == []
