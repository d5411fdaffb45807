"""The text a person reads in an HTML-only email, in time linear in its size.

Anyone can email the reply domain, so this runs on hostile input. Neither regexes over the whole
document nor the standard library's HTMLParser will do: both rescan on malformed markup (on Python
3.11, 250 KB of "<a " took minutes). This tokenizer moves forward only, finding each tag's end with
str.find and one-character searches, so every character is looked at a bounded number of times;
what it cannot close (an unterminated comment, tag or quoted attribute) ends the text, as in a
browser. It also has a budget on what it reads and what it keeps. Quoted history
(<blockquote>, as Gmail, Apple Mail and Outlook on the web quote) comes out as "> " lines, which
the reply trimmer then drops like quoted plain text.
"""

from __future__ import annotations

import re
from html import unescape

MAX_HTML_CHARS = 512 * 1024  # read no further: a reply's new text is at the top, quoted history below
MAX_TEXT_CHARS = 100_000  # stop collecting once this much text is in hand
MAX_TOKENS = 200_000  # tags and text runs read, whatever they hold
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:-]*")
_TAG_END_OR_QUOTE = re.compile(r"[>\"']")
_RAW_TEXT = ("script", "style", "textarea", "title")  # their content is not markup

_LINE_BREAKS = frozenset({"br"})
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tr", "ul",
})
_PARAGRAPHS = frozenset({"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"})
_HIDDEN = frozenset({"head", "script", "style", "template", "title", "noscript"})


class _TextCollector:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []  # (quote depth, text)
        self._words: list[str] = []
        self._line_quote_depth = 0
        self._quote_depth = 0
        self._hidden_depth = 0
        self._pre_depth = 0
        self.collected = 0

    def handle_starttag(self, tag, attrs):
        self._open(tag)

    def handle_startendtag(self, tag, attrs):
        if tag in _LINE_BREAKS or tag in _BLOCKS:
            self._end_line(keep_empty=tag in _LINE_BREAKS)

    def _open(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag in _LINE_BREAKS:
            self._end_line(keep_empty=True)
        elif tag in _BLOCKS:
            self._end_line()
            if tag == "blockquote":
                self._quote_depth += 1
            elif tag == "pre":
                self._pre_depth += 1

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCKS:
            self._end_line()
            if tag in _PARAGRAPHS:
                self.lines.append((self._quote_depth, ""))  # a blank line after a paragraph
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            elif tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data):
        if self._hidden_depth or self.collected >= MAX_TEXT_CHARS:
            return
        self.collected += len(data)
        if self._pre_depth:
            first, *rest = data.split("\n")
            self._add(first, collapse=False)
            for line in rest:
                self._end_line(keep_empty=True)
                self._add(line, collapse=False)
        else:
            self._add(data, collapse=True)

    def _add(self, data: str, *, collapse: bool) -> None:
        text = " ".join(data.split()) if collapse else data
        if data[:1].isspace() and self._words:
            self._words.append(" ")
        if text:
            self._words.append(text)
            self._line_quote_depth = max(self._line_quote_depth, self._quote_depth)
            if collapse and data[-1:].isspace():
                self._words.append(" ")

    def _end_line(self, *, keep_empty: bool = False) -> None:
        line = "".join(self._words)
        line = line.rstrip() if self._pre_depth else line.strip(" ")
        if line or keep_empty:
            self.lines.append((self._line_quote_depth or self._quote_depth, line))
        self._words = []
        self._line_quote_depth = 0

    def text(self) -> str:
        self._end_line()
        while self.lines and not self.lines[-1][1]:
            self.lines.pop()  # no blank or bare "> " lines at the end
        out: list[str] = []
        previous: tuple[int, str] | None = None
        for depth, line in self.lines:
            if not line and previous == (depth, line):
                continue  # one blank line between paragraphs is enough
            previous = (depth, line)
            out.append(("> " * depth + line).rstrip())
        return "\n".join(out).strip("\n")


def html_to_text(html: str | None) -> str:
    """Visible text with paragraphs and line breaks kept; scripts, styles and the head dropped."""
    source = (html or "")[:MAX_HTML_CHARS]
    collector = _TextCollector()
    for count, (kind, value) in enumerate(_tokens(source)):
        if collector.collected >= MAX_TEXT_CHARS or count >= MAX_TOKENS:
            break
        if kind == "data":
            collector.handle_data(unescape(value))
        elif kind == "start":
            collector.handle_starttag(value, ())
        elif kind == "selfclosing":
            collector.handle_startendtag(value, ())
        else:
            collector.handle_endtag(value)
    return collector.text()


def _tokens(source: str):
    """("data" | "start" | "selfclosing" | "end", text or lower-case tag name), front to back."""
    position, size = 0, len(source)
    while position < size:
        opening = source.find("<", position)
        if opening < 0:
            yield "data", source[position:]
            return
        if opening > position:
            yield "data", source[position:opening]
        following = source[opening + 1:opening + 2]
        if source.startswith("<!--", opening):
            close = source.find("-->", opening + 4)
            if close < 0:
                return
            position = close + 3
        elif following in ("!", "?"):  # doctype, CDATA, processing instruction: nothing to read
            close = source.find(">", opening + 2)
            if close < 0:
                return
            position = close + 1
        elif following == "/":
            name = _TAG_NAME.match(source, opening + 2)
            close = source.find(">", opening + 2)
            if close < 0:
                return
            if name:
                yield "end", name.group().lower()
            position = close + 1
        elif (name := _TAG_NAME.match(source, opening + 1)) is None:
            yield "data", "<"  # a lone "<" is text
            position = opening + 1
        else:
            close = _start_tag_end(source, name.end())
            if close < 0:
                return
            tag = name.group().lower()
            yield ("selfclosing" if source[close - 1] == "/" else "start"), tag
            position = close + 1
            if tag in _RAW_TEXT:
                end = re.compile(rf"</{tag}\b", re.IGNORECASE).search(source, position)
                if end is None:
                    return
                if tag in ("textarea", "title"):
                    yield "data", source[position:end.start()]
                position = end.start()


def _start_tag_end(source: str, position: int) -> int:
    """Where the tag that reaches position ends ('>' outside quoted values), or -1."""
    while True:
        found = _TAG_END_OR_QUOTE.search(source, position)
        if found is None:
            return -1
        if found.group() == ">":
            return found.start()
        position = source.find(found.group(), found.start() + 1)
        if position < 0:
            return -1
        position += 1
