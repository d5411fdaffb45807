"""Inbound email HTML-to-text on hostile shapes: time per size, and how it grows (4x input ~ 4x time).

Usage: .venv/bin/python benchmarks/html_text.py
Prints one line per shape and, last, one JSON object: the worst milliseconds at the size budget and
the worst growth ratio (time at 4x the size / time at 1x; linear ~4, quadratic ~16).
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from vocloop.mail.html_text import MAX_HTML_CHARS, html_to_text  # noqa: E402

SHAPES = {"unclosed_tags": "<a ", "unclosed_comments": "<!--", "lone_brackets": "<", "bang": "<!",
          "open_quotes": '<a href="', "entities": "&#", "line_breaks": "<br>", "nesting": "<div>",
          "paragraphs": "<p>Thanks for the quick reply, the invoice is right now.</p>",
          "quoted_history": "<blockquote><p>On Monday you wrote: fixed.</p>"}


def best_of(html: str, runs: int = 3) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        html_to_text(html)
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    figures: dict[str, float] = {}
    worst_ms, worst_growth = 0.0, 0.0
    for name, unit in SHAPES.items():
        quarter = best_of(unit * (MAX_HTML_CHARS // 4 // len(unit)))
        full = best_of(unit * (MAX_HTML_CHARS // len(unit)))
        growth = full / max(quarter, 1e-6)
        print(f"{name:18} {MAX_HTML_CHARS // 4 // 1024:4} KB {quarter * 1000:8.1f} ms   "
              f"{MAX_HTML_CHARS // 1024:4} KB {full * 1000:8.1f} ms   growth x{growth:.1f}")
        figures[f"{name}_ms_at_budget"] = round(full * 1000, 1)
        worst_ms = max(worst_ms, full * 1000)
        if full > 0.01:  # growth of sub-10 ms timings is noise
            worst_growth = max(worst_growth, growth)
    figures.update(worst_ms_at_budget=round(worst_ms, 1), worst_growth_4x=round(worst_growth, 1),
                   budget_kb=MAX_HTML_CHARS // 1024)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
