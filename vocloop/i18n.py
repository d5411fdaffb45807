"""The translation layer of what customers read (survey, reminder, closing and hand-over emails,
the answer, thanks, verdict and error pages).

Strings are written in English in templates as `_("...")` and in Python as `translate("...")` (or
marked with `N_("...")` where they are translated later): English needs no catalog. Another
language is one JSON file, `vocloop/locales/<code>.json`, mapping each English string to its
translation; tests/unit/test_catalogs.py fails when a catalog lacks a string or its placeholders
differ, and a missing entry at run time falls back to English rather than showing a blank.
The language is the contact's where they have one we ship, else the survey's; pages that know
neither (a bad link) follow the browser's Accept-Language. Placeholders are `{name}`
(str.format), filled after translation. Dates, numbers and durations are written by Babel in the
same language.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

from babel.dates import format_date as babel_date
from babel.dates import format_timedelta
from babel.numbers import format_decimal
from flask import Flask, g, has_request_context, request

log = logging.getLogger(__name__)
LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "en"


def N_(text: str) -> str:  # noqa: N802 (gettext's name for "mark for translation")
    """Marks a string for the catalogs where it is translated later (a survey kind's labels)."""
    return text


@cache
def catalog(language: str) -> dict[str, str]:
    if language == DEFAULT_LANGUAGE or not language.replace("-", "").isalnum():
        return {}
    path = LOCALES / f"{language}.json"
    if not path.exists():
        log.warning("no catalog for language %r: English is used", language)
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def available_languages() -> tuple[str, ...]:
    return (DEFAULT_LANGUAGE, *sorted(path.stem for path in LOCALES.glob("*.json")))


def supported(language: str | None) -> str | None:
    """The shipped language a tag asks for ("de-AT", "DE" -> "de"), or None."""
    if not language:
        return None
    tag = language.strip().replace("_", "-").lower()
    for candidate in (tag, tag.split("-")[0]):
        if candidate in available_languages():
            return candidate
    return None


def language_for(contact=None, survey=None) -> str:
    """The contact's language where we ship it, else the survey's: one survey may reach people who
    read different languages, and each reads their own."""
    return reading_language(getattr(contact, "language", None), getattr(survey, "language", None))


def reading_language(contact_language: str | None, survey_language: str | None) -> str:
    """language_for, from the two columns alone (a statement that read no objects)."""
    return supported(contact_language) or supported(survey_language) or DEFAULT_LANGUAGE


def browser_language() -> str:
    """For pages that know no contact (a mistyped link, too many requests): the browser's choice."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return request.accept_languages.best_match(available_languages()) or DEFAULT_LANGUAGE


def current_language() -> str:
    return g.get("language") or DEFAULT_LANGUAGE


def translate(text: str, language: str | None = None, **values) -> str:
    translated = catalog(language or current_language()).get(text) or text
    return translated.format(**values) if values else translated


def use_language(language: str | None) -> None:
    """The language of this request's (or this rendering's) customer-facing text."""
    g.language = supported(language) or DEFAULT_LANGUAGE


@contextmanager
def in_language(language: str | None) -> Iterator[str]:
    """Render something in this language, then go back to the request's (an email to a German
    customer queued from an English page)."""
    previous = g.get("language")
    use_language(language)
    try:
        yield g.language
    finally:
        g.language = previous or DEFAULT_LANGUAGE


def format_day(value: date | datetime, language: str | None = None) -> str:
    """"3 December 2026", "3. Dezember 2026", "3 de diciembre de 2026"."""
    return babel_date(value, format="long", locale=language or current_language())


def format_number(value: float | int, language: str | None = None) -> str:
    return format_decimal(value, locale=language or current_language())


def format_duration(value: timedelta, language: str | None = None) -> str:
    """A wait or a promise in words: "5 hours", "3 Tage", "40 secondes" (rounded as people say it)."""
    return format_timedelta(value, threshold=2, locale=language or current_language())


def init_app(app: Flask) -> None:
    # Jinja escapes what _() returns like any other value: placeholders may hold customer text.
    app.jinja_env.globals["_"] = translate
    app.jinja_env.globals["language_for"] = language_for
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["duration"] = format_duration
