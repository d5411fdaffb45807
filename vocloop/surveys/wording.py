"""A survey's words as each customer reads them.

A survey keeps its wording once, in its own language. Where a text is still its kind's standard
wording (the question, the comment prompt, the subject, the suggested follow-ups), a customer who
reads another language we ship gets that standard wording in their own, as they already get the
greeting, the scale's labels and the footer around it: a German customer of an English survey read
a German email around an English question. Wording a person wrote stays as written, since nobody
translated it. The company's name is read from the text itself (a survey may name another company
than the profile's, and the profile may have been renamed since). Pure: no database, no settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from vocloop.i18n import N_, translate
from vocloop.surveys.kinds import get_kind

SUBJECTS = (N_("A quick question from {company}"), N_("A quick question for you"))


@dataclass(frozen=True)
class Wording:
    subject: str
    question: str
    comment_prompt: str
    followups: dict[str, str]
    kind: str

    def followup(self, score: int | None) -> str | None:
        """The follow-up question for this score's band, if the survey asks one."""
        return followup_for(self.kind, self.followups, score)


def followup_for(kind: str, followups: dict[str, str], score: int | None) -> str | None:
    if score is None:
        return None
    return followups.get(get_kind(kind).band(score)) or None


def standard_subject(company: str | None, language: str) -> str:
    return translate(SUBJECTS[0], language, company=company) if company else translate(SUBJECTS[1], language)


@cache
def _pattern(template: str, language: str) -> re.Pattern:
    """The standard text in this language, with whatever company it names."""
    return re.compile(re.escape(translate(template, language)).replace(re.escape("{company}"), "(?P<company>.+)"))


def _in_language(text: str, templates: tuple[str, ...], source: str, target: str) -> str:
    """The text in `target` if it is one of these standard texts as written in `source`; else as it is."""
    for template in templates:
        if match := _pattern(template, source).fullmatch(text):
            return translate(template, target, **match.groupdict())
    return text


def wording(survey: Any, language: str) -> Wording:
    """The survey's words for a customer reading `language` (a Survey, or a row with its columns)."""
    source, kind = survey.language or "en", get_kind(survey.kind)
    if language == source:
        return Wording(survey.subject, survey.question, survey.comment_prompt, dict(survey.followups or {}),
                       survey.kind)
    return Wording(subject=_in_language(survey.subject, SUBJECTS, source, language),
                   question=_in_language(survey.question, (kind.question, kind.question_without_company), source,
                                         language),
                   comment_prompt=_in_language(survey.comment_prompt, (kind.comment_prompt,), source, language),
                   followups=followups(survey, language), kind=survey.kind)


def followups(survey: Any, language: str) -> dict[str, str]:
    """The survey's follow-up questions by band, the suggested ones in `language` (a row with the
    survey's kind, language and followups is enough)."""
    stored, source = dict(survey.followups or {}), survey.language or "en"
    if language == source:
        return stored
    suggested = dict(get_kind(survey.kind).followups)
    return {band: _in_language(text, (suggested[band],), source, language) if band in suggested else text
            for band, text in stored.items()}
