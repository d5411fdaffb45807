"""The answer page a click in a survey email opens, drawn once per wording and kept per process.

A send's clicks arrive within minutes, and each one opens the same page but for its link: the
survey's words, the score clicked, the customer's language and the company's brand. Drawing the
template cost about as much CPU as the click's write, so the page is drawn once per such key, with
a stand-in where the link goes, and each click gets a copy with its own link put in.

The key is the page's content itself (the words, not a survey id), so an edited question or brand
draws a new page at once and nothing needs clearing. Whatever else the template comes to show must
join the key, or stay off the click's page (vocloop.responses.views draws the other cases afresh).
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

# Links are the token of new_secret_token (URL-safe base64): unchanged by URL quoting and HTML escaping.
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


class TokenPages:
    """Pages that differ only by a link token, drawn once per key (least recently used dropped past `size`)."""

    def __init__(self, size: int = 512):
        self.size = size
        self.stand_in = "vocloopLink" + secrets.token_hex(16)  # no survey's words contain it
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = Lock()

    def page(self, key: Hashable, token: str, draw: Callable[[str], str]) -> str:
        """The page for `token`: `draw(token)` itself for a token of another shape, else the page
        drawn once for `key` with the stand-in, with `token` put in its place."""
        if not _LINK_TOKEN.fullmatch(token):
            return draw(token)
        with self._lock:
            drawn = self._pages.get(key)
            if drawn is not None:
                self._pages.move_to_end(key)
        if drawn is None:
            drawn = draw(self.stand_in)
            with self._lock:
                self._pages[key] = drawn
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
        return drawn.replace(self.stand_in, token)
