"""The three survey kinds: their scales, standard wording and how a score reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyKind:
    code: str
    low: int
    high: int
    question: str
    comment_prompt: str
    low_label: str
    high_label: str
    # Scores at or below this need attention (detractor, dissatisfied, high effort).
    negative_max: int
    # Scores at or above this are positive (promoter, satisfied, low effort).
    positive_min: int
    # Suggested follow-up questions by band, offered when a survey is set up.
    followups: tuple[tuple[str, str], ...] = ()

    @property
    def scores(self) -> range:
        return range(self.low, self.high + 1)

    def band(self, score: int) -> str:
        """negative, neutral or positive: the reading of a score that routing and metrics share."""
        if score <= self.negative_max:
            return "negative"
        if score >= self.positive_min:
            return "positive"
        return "neutral"

    def normalized(self, score: int) -> float:
        """The score mapped onto -1..1, so it can be weighed against a comment's polarity."""
        middle = (self.low + self.high) / 2
        return (score - middle) / ((self.high - self.low) / 2)


KINDS = {
    "nps": SurveyKind("nps", 0, 10, "How likely are you to recommend {company} to a friend or colleague?",
                      "What is the main reason for your score?", "Not at all likely", "Extremely likely",
                      negative_max=6, positive_min=9,
                      followups=(("negative", "What is the one thing we should fix first?"),
                                 ("neutral", "What would make it a 10?"),
                                 ("positive", "What do you value most?"))),
    "csat": SurveyKind("csat", 1, 5, "How satisfied are you with {company}?",
                       "What could we have done better?", "Very dissatisfied", "Very satisfied",
                       negative_max=2, positive_min=4,
                       followups=(("negative", "What went wrong?"), ("neutral", "What would have made it better?"))),
    "ces": SurveyKind("ces", 1, 7, "{company} made it easy for me to handle my issue.",
                      "What made it easy or hard?", "Strongly disagree", "Strongly agree",
                      negative_max=3, positive_min=5,
                      followups=(("negative", "What made it hard?"),)),
}


def get_kind(code: str) -> SurveyKind:
    return KINDS[code]
