"""The translation layer of what customers read (answer pages, survey and reminder emails).

Strings are written in English in the templates as `_("...")`, gettext style: English needs no
catalog. Another language is one JSON file, `vocloop/locales/<code>.json`, mapping each English
string to its translation; a missing entry falls back to English, so a half-done catalog never
shows a blank. The language is the survey's (`language`), so one survey speaks one language.
Placeholders are `{name}` (str.format), filled after translation.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

from flask import Flask, g

log = logging.getLogger(__name__)
LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "en"


@cache
def catalog(language: str) -> dict[str, str]:
    if language == DEFAULT_LANGUAGE or not language.replace("-", "").isalnum():
        return {}
    path = LOCALES / f"{language}.json"
    if not path.exists():
        log.warning("no catalog for language %r: English is used", language)
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def available_languages() -> list[str]:
    return [DEFAULT_LANGUAGE] + sorted(path.stem for path in LOCALES.glob("*.json"))


def translate(text: str, language: str | None = None, **values) -> str:
    language = language or g.get("language") or DEFAULT_LANGUAGE
    translated = catalog(language).get(text) or text
    return translated.format(**values) if values else translated


def use_language(language: str | None) -> None:
    """The language of this request's (or this rendering's) customer-facing text."""
    g.language = language or DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    # Jinja escapes what _() returns like any other value: placeholders may hold customer text.
    app.jinja_env.globals["_"] = translate
