"""Writing the closing message: templates with placeholders, drafts, and a preview that is the
exact email the customer will receive."""

from __future__ import annotations

import re

from sqlalchemy import or_, select

from vocloop.accounts.models import User
from vocloop.extensions import db
from vocloop.i18n import language_for, translate
from vocloop.items.models import ClosingTemplate, FeedbackItem
from vocloop.items.verdict_links import verdict_urls
from vocloop.mail import customer as customer_email
from vocloop.surveys.models import Survey
from vocloop.surveys.wording import wording
from vocloop.text import normalized_lines, paragraphs

PLACEHOLDERS = ("first_name", "name", "owner_name", "survey_title", "survey_name", "score")
PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
# A customer without a name: English greets "Hi there,"; German, French and Spanish greet without a name
# ("Hallo,", "Bonjour,", "Hola,"), so there the placeholder is left out with the space before it.
NAMELESS = {"en": "there"}
MAX_TEMPLATE = 10_000


def render_closing(item: FeedbackItem, owner: User, body: str) -> dict[str, str]:
    """Subject, HTML and text of the closing email exactly as sent (close_with_message uses this), in
    the customer's language: the owner's words as they wrote them, paragraphs kept whatever line
    endings the form posted, signed with the owner's name unless their words already end with it
    (a template's {owner_name}, or the owner signing themselves)."""
    body = normalized_lines(body).strip()
    language = language_for(item.contact, item.survey)
    subject = wording(item.survey, language).subject
    return customer_email.render(
        "closing", subject=f"Re: {subject}", language=language,
        survey=item.survey, why=lambda: why_you_hear_from_us(item.survey), preheader=None,
        body=body, paragraphs=paragraphs(body), owner=owner, verdict=verdict_urls(item.id),
        signed=body.splitlines()[-1].strip() == owner.name.strip() if body else False)


def why_you_hear_from_us(survey: Survey) -> str:
    """The footer line of a reply to feedback: names the survey by its title only (never its internal name)."""
    if survey.title:
        return translate("You are receiving this because you answered our survey “{title}”.", title=survey.title)
    return translate("You are receiving this because you answered one of our surveys.")


def templates_for(item: FeedbackItem) -> list[ClosingTemplate]:
    """Templates that fit this item: its survey or any, its topics or any; the most specific first."""
    topics = item.response.topics or []
    candidates = db.session.scalars(select(ClosingTemplate).where(
        or_(ClosingTemplate.survey_id.is_(None), ClosingTemplate.survey_id == item.survey_id),
        or_(ClosingTemplate.topic.is_(None), ClosingTemplate.topic.in_(topics))))
    return sorted(candidates, key=lambda t: (t.survey_id is None, t.topic is None, t.name.lower()))


def fill(template: ClosingTemplate, item: FeedbackItem, owner: User) -> str:
    """The template with its placeholders filled in for this customer (plain text, escaped later)."""
    contact, survey = item.contact, item.survey
    # {survey_name} is kept for templates written before titles: it, too, gives what customers may see.
    language = language_for(contact, survey)
    title = survey.title or translate("our survey", language)
    nameless = NAMELESS.get(language, "")
    values = {"first_name": contact.greeting_name or nameless, "name": contact.name or nameless,
              "owner_name": owner.name, "survey_title": title, "survey_name": title,
              "score": str(item.response.score)}
    return fill_placeholders(template.body, values)


def fill_placeholders(body: str, values: dict[str, str]) -> str:
    """Each placeholder replaced by its value; one with no value is left out with the space before it,
    with the brackets around it, and with a comma it would double ("Hallo {first_name} ({name})," -> "Hallo,";
    "Danke, {name}, für" -> "Danke, für"), or at a line's start with the comma after it."""
    blank = "|".join(name for name, value in values.items() if value == "")
    if blank:
        body = re.sub(rf"[ \t]*\(\{{(?:{blank})\}}\)", "", body)
        body = re.sub(rf",[ \t]*\{{(?:{blank})\}}(?=,)", "", body)
        body = re.sub(rf"^[ \t]*\{{(?:{blank})\}},?[ \t]*", "", body, flags=re.MULTILINE)
        body = re.sub(rf"[ \t]*\{{(?:{blank})\}}", "", body)
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def save_draft(item: FeedbackItem, body: str) -> None:
    item.closing_draft = body[:MAX_TEMPLATE] or None
    db.session.commit()
