"""Customer text as it can be stored and shown."""

from __future__ import annotations

import re

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(text: str | None) -> str:
    """Tabs and line breaks kept; NUL (which PostgreSQL refuses) and the other control characters dropped."""
    return _CONTROL_CHARACTERS.sub("", text or "")
