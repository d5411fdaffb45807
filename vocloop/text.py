"""Customer text as it can be stored and shown."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from vocloop.errors import Invalid

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(text: str | None) -> str:
    """Tabs and line breaks kept; NUL (which PostgreSQL refuses) and the other control characters dropped."""
    return _CONTROL_CHARACTERS.sub("", text or "")


_LINE_ENDINGS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def normalized_lines(text: str | None) -> str:
    """Line endings as \\n whatever sent them: browsers post \\r\\n, old Macs \\r, some editors U+2028."""
    return _LINE_ENDINGS.sub("\n", text or "")


def paragraphs(text: str | None) -> list[list[str]]:
    """Paragraphs (split at blank lines), each as its lines: what an HTML email shows as <p> and <br>."""
    return [[line.rstrip() for line in block.strip().split("\n")]
            for block in _BLANK_LINES.split(normalized_lines(text).strip()) if block.strip()]


def parse_day(value: Any, what: str) -> date | None:
    """A date typed or sent as 2026-11-30 (None when blank); anything else is refused, naming the field."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"{what} must be a date like 2026-11-30.") from None
