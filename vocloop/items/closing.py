"""Writing the closing message: templates with placeholders, drafts, and a preview that is the
exact email the customer will receive."""

from __future__ import annotations

import re

from flask import render_template
from sqlalchemy import or_, select

from vocloop.accounts.models import User
from vocloop.errors import Invalid, NotFound
from vocloop.extensions import db
from vocloop.items.models import ClosingTemplate, FeedbackItem
from vocloop.items.verdict_links import verdict_urls
from vocloop.surveys.models import Survey

PLACEHOLDER = re.compile(r"\{(first_name|name|owner_name|survey_name|score)\}")
MAX_TEMPLATE = 10_000


def render_closing(item: FeedbackItem, owner: User, body: str) -> dict[str, str]:
    """Subject, HTML and text of the closing email exactly as sent (close_with_message uses this)."""
    context = dict(body=body, paragraphs=[p.strip() for p in body.split("\n\n") if p.strip()], owner=owner,
                   survey=item.survey, subject=f"Re: {item.survey.subject}", verdict=verdict_urls(item.id))
    return {"subject": context["subject"], "html": render_template("email/closing.html", **context),
            "text": render_template("email/closing.txt", **context)}


def templates_for(item: FeedbackItem) -> list[ClosingTemplate]:
    """Templates that fit this item: its survey or any, its topics or any; the most specific first."""
    topics = item.response.topics or []
    candidates = db.session.scalars(select(ClosingTemplate).where(
        or_(ClosingTemplate.survey_id.is_(None), ClosingTemplate.survey_id == item.survey_id),
        or_(ClosingTemplate.topic.is_(None), ClosingTemplate.topic.in_(topics))))
    return sorted(candidates, key=lambda t: (t.survey_id is None, t.topic is None, t.name.lower()))


def fill(template: ClosingTemplate, item: FeedbackItem, owner: User) -> str:
    """The template with its placeholders filled in for this customer (plain text, escaped later)."""
    name = item.contact.name or ""
    values = {"first_name": name.split(" ")[0] if name else "there", "name": name or "there",
              "owner_name": owner.name, "survey_name": item.survey.name, "score": str(item.response.score)}
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template.body)


def save_draft(item: FeedbackItem, body: str) -> None:
    item.closing_draft = body[:MAX_TEMPLATE] or None
    db.session.commit()


def create_template(*, name: str, body: str, survey_id: int | None = None, topic: str | None = None) -> ClosingTemplate:
    name, body = (name or "").strip(), (body or "").strip()
    if not name or not body or len(body) > MAX_TEMPLATE:
        raise Invalid(f"A template needs a name and a body of at most {MAX_TEMPLATE} characters.")
    unknown = set(re.findall(r"\{(\w+)\}", body)) - {"first_name", "name", "owner_name", "survey_name", "score"}
    if unknown:
        raise Invalid(f"Unknown placeholder(s): {', '.join(sorted(unknown))}; use {{first_name}}, {{name}}, "
                      "{owner_name}, {survey_name}, {score}.")
    if survey_id is not None and db.session.get(Survey, survey_id) is None:
        raise NotFound("No such survey.")
    template = ClosingTemplate(name=name, body=body, survey_id=survey_id, topic=(topic or "").strip() or None)
    db.session.add(template)
    db.session.commit()
    return template
