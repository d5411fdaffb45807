"""Emails to customers (survey, reminder, closing message, hand-over): rendered in the customer's
language, branded with the company profile, with the footer every one of them carries."""

from __future__ import annotations

from typing import Any

from flask import render_template

from vocloop.company import service as company
from vocloop.i18n import in_language, translate


def render(name: str, *, subject: str, language: str, survey: Any = None, why: str | None = None,
           unsubscribe_url: str | None = None, preheader: str | None = None,
           profile: company.Profile | None = None, **context: Any) -> dict[str, str]:
    """Subject, HTML and text of `email/<name>.html|txt`; `why` tells the customer why they get it."""
    with in_language(language) as lang:
        values = dict(context, subject=subject, lang=lang, survey=survey,
                      brand=company.brand(survey, profile), why=why() if callable(why) else why,
                      unsubscribe_url=unsubscribe_url, preheader=preheader)
        return {"subject": subject, "html": render_template(f"email/{name}.html", **values),
                "text": render_template(f"email/{name}.txt", **values)}


def greeting(contact: Any, language: str) -> str:
    """"Hi Liam," by the first name they gave, else their whole name; "Hello," if we know neither."""
    return greeter(language)(contact)


def greeter(language: str):
    """greeting() in this language, its words looked up once (for a send to thousands)."""
    by_name, neutral = translate("Hi {name},", language), translate("Hello,", language)

    def greet(contact: Any) -> str:
        name = contact.greeting_name
        return by_name.format(name=name) if name else neutral
    return greet
