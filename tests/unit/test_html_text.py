"""HTML-only emails read as the person wrote them, in time that grows linearly with their size."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocloop.mail.html_text import MAX_HTML_CHARS, html_to_text


@pytest.mark.parametrize("html, text", [
    ("<p>One</p><p>Two<br>lines</p>", "One\n\nTwo\nlines"),
    ("<div>Hello   \n  world</div><div>Next</div>", "Hello world\nNext"),
    ("Fish &amp; chips &lt;3 &#233;t&eacute;", "Fish & chips <3 été"),
    ("<head><title>T</title><style>p{color:red}</style></head><p>Body</p><script>x('<p>')</script>", "Body"),
    ("<p>New</p><blockquote><p>Old</p><blockquote>Older</blockquote></blockquote>", "New\n\n> Old\n>\n> > Older"),
    ("<pre>a\n  b</pre>", "a\n  b"),
    ("<p title='a > b'>Quoted &gt; attribute</p>", "Quoted > attribute"),
    ("<!-- <p>hidden</p> --><p>shown</p><!doctype html><?xml x?>", "shown"),
    ("1 < 2 and <3", "1 < 2 and <3"),
    ("<p>cut here<!-- never closed <p>gone", "cut here"),
    ("", ""),
])
def test_visible_text_keeps_paragraphs_and_drops_what_is_not_read(html, text):
    assert html_to_text(html) == text


# Shapes that made regexes or the standard library's HTMLParser rescan the rest of the document.
HOSTILE = {"unclosed tags": "<a ", "unclosed comments": "<!--", "lone brackets": "<", "bang": "<!",
           "open quotes": '<a href="', "entities": "&#", "line breaks": "<br>", "nesting": "<div>"}


@pytest.mark.parametrize("unit", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markup_takes_linear_time(unit):
    """Four times the input takes about four times as long (a quadratic parser: sixteen, or minutes).
    Timed by this thread's CPU clock, each size's best of three runs: by the wall clock, a run on a busy
    machine lost a tenth of a second to other processes (0.12 s against 10 x 0.010 s, load 8)."""
    small, large = unit * (MAX_HTML_CHARS // 16 // len(unit)), unit * (MAX_HTML_CHARS // 4 // len(unit))
    timings = [min(_seconds_to_read(html) for _ in range(3)) for html in (small, large)]
    assert timings[1] < 2.0 and timings[1] < 10 * max(timings[0], 0.005)


def _seconds_to_read(html: str) -> float:
    started = time.thread_time()
    html_to_text(html)
    return time.thread_time() - started


def test_input_past_the_budget_is_not_read():
    assert html_to_text("<p>kept</p>" + " " * MAX_HTML_CHARS + "<p>dropped</p>") == "kept"


MARKUP = st.sampled_from(["<", ">", "/", "!", "--", "?", "'", '"', "=", "&", ";", "#", "a", "p", "br", "script",
                          "blockquote", " ", "\n", "x", "é"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKUP, max_size=400))
def test_any_markup_gives_text_without_markup_characters_it_did_not_contain(parts):
    html = "".join(parts)
    text = html_to_text(html)
    assert isinstance(text, str) and len(text) <= len(html) + text.count("> ") * 2
    assert "<" not in text or "<" in html
