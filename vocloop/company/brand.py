"""Checks of what brands a customer's email or page: a colour white text stays readable on, and
addresses of images and policies that a mail client or browser will actually open."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from vocloop.errors import Invalid

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5  # WCAG AA for normal text


def contrast_with_white(color: str) -> float:
    """WCAG 2 contrast ratio of white text on this colour (buttons and selected scores use it)."""
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(color[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def checked_color(color: str, field: str = "brand_color") -> str:
    if not isinstance(color, str) or not _COLOR.match(color):
        raise Invalid(f"{field} must be a colour like #1f4e79.")
    ratio = contrast_with_white(color)
    if ratio < MIN_CONTRAST:
        raise Invalid(f"{field} {color} is too light for white text on it (contrast {ratio:.1f}:1; "
                      "WCAG AA needs 4.5:1). Choose a darker shade.")
    return color.lower()


def checked_url(url: str | None, field: str, schemes: tuple[str, ...] = ("https",)) -> str | None:
    """None for empty; else an absolute URL of one of these schemes, at most 500 characters."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname or len(url) > 500 or any(c.isspace() for c in url):
        kinds = " or ".join(f"{scheme}://" for scheme in schemes)
        raise Invalid(f"{field} must be an {kinds} address (500 characters at most).")
    return url
