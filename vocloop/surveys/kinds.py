"""The three survey kinds: their scales, standard wording and how a score reads."""

from __future__ import annotations

from dataclasses import dataclass

from vocloop.i18n import N_, translate


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
    # The standard question where no company name is known.
    question_without_company: str = ""

    def standard_question(self, company: str | None, language: str) -> str:
        """The kind's standard question in this language, naming the company if we know its name."""
        if company:
            return translate(self.question, language, company=company)
        return translate(self.question_without_company, language)

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
    "nps": SurveyKind("nps", 0, 10, N_("How likely are you to recommend {company} to a friend or colleague?"),
                      N_("What is the main reason for your score?"), N_("Not at all likely"), N_("Extremely likely"),
                      negative_max=6, positive_min=9,
                      followups=(("negative", N_("What is the one thing we should fix first?")),
                                 ("neutral", N_("What would make it a 10?")),
                                 ("positive", N_("What do you value most?"))),
                      question_without_company=N_("How likely are you to recommend us to a friend or colleague?")),
    "csat": SurveyKind("csat", 1, 5, N_("How satisfied are you with {company}?"),
                       N_("What could we have done better?"), N_("Very dissatisfied"), N_("Very satisfied"),
                       negative_max=2, positive_min=4,
                       followups=(("negative", N_("What went wrong?")),
                                  ("neutral", N_("What would have made it better?"))),
                       question_without_company=N_("How satisfied are you with us?")),
    "ces": SurveyKind("ces", 1, 7, N_("{company} made it easy for me to handle my issue."),
                      N_("What made it easy or hard?"), N_("Strongly disagree"), N_("Strongly agree"),
                      negative_max=3, positive_min=5,
                      followups=(("negative", N_("What made it hard?")),),
                      question_without_company=N_("It was easy for me to handle my issue.")),
}


def get_kind(code: str) -> SurveyKind:
    return KINDS[code]
