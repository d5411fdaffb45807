"""Closing-message templates as leads and admins keep them: one write path for the Templates page and
/api/v1/closing-templates, and the example a template gives for a sample customer, so a lead sees the
words an owner will start from before any item uses them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from vocloop.classify.models import Topic
from vocloop.errors import Invalid, NotFound
from vocloop.extensions import db
from vocloop.items.closing import MAX_TEMPLATE, PLACEHOLDERS, fill_placeholders
from vocloop.items.models import ClosingTemplate
from vocloop.surveys.models import Survey

MAX_NAME = 120
UNSET = object()

# What each placeholder becomes, in the words the page uses to explain it.
PLACEHOLDER_HELP = {
    "first_name": "the customer's first name (their whole name if no first name is known; if neither, “there” in "
                  "English, “Hi there,”, and left out in other languages, “Hallo,”)",
    "name": "the customer's whole name (if unknown, “there” in English, left out in other languages)",
    "owner_name": "the name of the owner who sends the message",
    "survey_title": "the survey's title as customers saw it (“our survey” if it has none)",
    "survey_name": "the same as {survey_title}; kept for templates written before surveys had titles",
    "score": "the score the customer gave, on the survey's own scale",
}
assert set(PLACEHOLDER_HELP) == set(PLACEHOLDERS)

# The sample customer of the example: a low score on each scale, the kind of answer that opens a loop.
SAMPLE_SCORE = {"nps": 4, "csat": 2, "ces": 2}


@dataclass(frozen=True)
class Sample:
    """Who the example is written to, said on the page beside it."""

    first_name: str = "Maria"
    name: str = "Maria Lopez"


def all_templates() -> list[ClosingTemplate]:
    return list(db.session.scalars(select(ClosingTemplate).order_by(ClosingTemplate.name, ClosingTemplate.id)))


def get_template(template_id: int) -> ClosingTemplate:
    template = db.session.get(ClosingTemplate, template_id)
    if template is None:
        raise NotFound("No such closing template.")
    return template


def topic_names() -> list[str]:
    return list(db.session.scalars(select(Topic.name).order_by(Topic.position, Topic.name)))


class TemplateRefused(Invalid):
    """Every problem of a template at once, by field, so a form can show each beside its field."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(" ".join(problems.values()))
        self.problems = problems


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise Invalid("Write the message: a template needs a body.")
    if len(body) > MAX_TEMPLATE:
        raise Invalid(f"The message is {len(body):,} characters long; a template holds at most {MAX_TEMPLATE:,}.")
    unknown = set(re.findall(r"\{(\w+)\}", body)) - set(PLACEHOLDERS)
    if unknown:
        raise Invalid(f"Unknown placeholder(s): {', '.join('{' + name + '}' for name in sorted(unknown))}; use "
                      + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS) + ".")
    return body


def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the template a name owners will recognise in the picker.")
    if len(name) > MAX_NAME:
        raise Invalid(f"A template's name is at most {MAX_NAME} characters.")
    return name


def _check_survey(survey_id: int | None) -> int | None:
    if survey_id is not None and db.session.get(Survey, survey_id) is None:
        raise NotFound("No such survey.")
    return survey_id


def _check_topic(topic: str | None, keep: str | None = None) -> str | None:
    """A topic the taxonomy has (or the one the template already names, even if since renamed)."""
    topic = " ".join((topic or "").lower().split()) or None
    if topic is None or topic == keep:
        return topic
    known = topic_names()
    if topic not in known:
        raise Invalid(f"No topic is called “{topic}”: choose one of " + ", ".join(known)
                      + ", or leave it blank for every topic.")
    return topic


def _checked(template: ClosingTemplate | None, given: dict) -> dict:
    """The given fields cleaned, or TemplateRefused naming each bad one (an unknown survey is a 404)."""
    checks = {"name": _check_name, "body": _check_body, "survey_id": _check_survey,
              "topic": lambda topic: _check_topic(topic, keep=template.topic if template else None)}
    cleaned, problems = {}, {}
    for field, value in given.items():
        try:
            cleaned[field] = checks[field](value)
        except Invalid as exc:
            problems[field] = exc.detail
    if problems:
        raise TemplateRefused(problems)
    return cleaned


def create_template(*, name: str, body: str, survey_id: int | None = None, topic: str | None = None) -> ClosingTemplate:
    template = ClosingTemplate(**_checked(None, {"name": name, "body": body, "survey_id": survey_id, "topic": topic}))
    db.session.add(template)
    db.session.commit()
    return template


def update_template(template: ClosingTemplate, *, name=UNSET, body=UNSET, survey_id=UNSET,
                    topic=UNSET) -> ClosingTemplate:
    """Change only what is given; everything is checked before anything changes."""
    given = {"name": name, "body": body, "survey_id": survey_id, "topic": topic}
    for field, value in _checked(template, {f: v for f, v in given.items() if v is not UNSET}).items():
        setattr(template, field, value)
    db.session.commit()
    return template


def delete_template(template: ClosingTemplate) -> None:
    """Drafts already filled from it keep their text: a template is only a starting point."""
    db.session.delete(template)
    db.session.commit()


def sample_values(survey: Survey | None, owner_name: str, sample: Sample = Sample()) -> dict[str, str]:
    """The placeholders for the sample customer: the template's survey, else the first survey customers
    could have answered, so {survey_title} and {score} read as they would."""
    if survey is None:
        survey = db.session.scalar(select(Survey).order_by(Survey.active.desc(), Survey.id).limit(1))
    title = (survey.title if survey else None) or "our survey"
    return {"first_name": sample.first_name, "name": sample.name, "owner_name": owner_name,
            "survey_title": title, "survey_name": title, "score": str(SAMPLE_SCORE[survey.kind] if survey else 4)}


def example(body: str, survey: Survey | None, owner_name: str) -> str:
    """The body as the sample customer would read it (placeholders that are not ours stay as typed)."""
    return fill_placeholders(body, sample_values(survey, owner_name))
