"""Charts drawn on the server as SVG: no script, no external service, readable as a table too."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 44, 36, 12
PHONE_WIDTH = 360  # a phone draws it near 1:1, so its words keep their size
LABEL_GAP = 8  # the least room between two labels side by side


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # rates 0..1, or counts; None: nothing to show for this bar (no items)
    caption: str


def rate_bars(bars: list[Bar], title: str, chart_id: str = "chart") -> Markup:
    """A bar chart of rates (0–100%), with a title for screen readers."""
    return _bars(bars, title, chart_id, top=1.0, ticks=[(0, "0%"), (0.5, "50%"), (1.0, "100%")])


def count_bars(bars: list[Bar], title: str, chart_id: str = "chart") -> Markup:
    """A bar chart of counts, scaled to the largest."""
    top = max([bar.value or 0 for bar in bars] + [1])
    return _bars(bars, title, chart_id, top=top, ticks=[(0, "0"), (top / 2, f"{top / 2:g}"), (top, f"{top:g}")])


def _bars(bars: list[Bar], title: str, chart_id: str, top: float, ticks: list[tuple[float, str]]) -> Markup:
    """Drawn twice: wide for a screen, narrow with larger words for a phone (CSS shows one). A phone
    shrank the one 640-unit drawing to half, its labels to 5 px."""
    return Markup(_bar_svg(bars, title, chart_id, top, ticks, WIDTH, 11, "chart wide") +  # noqa: S704
                  _bar_svg(bars, title, f"{chart_id}-phone", top, ticks, PHONE_WIDTH, 13, "chart phone"))


def _bar_svg(bars: list[Bar], title: str, chart_id: str, top: float, ticks: list[tuple[float, str]], width: int,
             font: int, css: str) -> str:
    plot_height = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (width - PAD_LEFT) / max(1, len(bars))
    # Every bar keeps its label where they fit side by side; a few bars (time-to-close buckets) take two
    # rows of labels; many (days) label every second, third...: labels never overlap or leave the chart.
    label_font = font - 1
    longest = max([_text_width(bar.label, label_font) for bar in bars] + [1.0]) + LABEL_GAP
    stagger = slot < longest <= 2 * slot and len(bars) <= 12
    every = 1 if longest <= slot or stagger else math.ceil(longest / slot)
    ends = [-LABEL_GAP, -LABEL_GAP]  # where the last label of each row ends
    title_id = f"{escape(chart_id)}-title"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" role="img" '
             f'aria-labelledby="{title_id}" class="{css}"><title id="{title_id}">{escape(title)}</title>']
    for value, text in ticks:
        y = PAD_TOP + plot_height * (1 - value / top)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e2ec"/>'
                     f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="{font}">'
                     f'{escape(text)}</text>')
    for index, bar in enumerate(bars):
        x = PAD_LEFT + index * slot + slot * 0.15
        if bar.value is not None:
            height = plot_height * max(0.0, min(1.0, bar.value / top))
            parts.append(f'<rect x="{x:.1f}" y="{PAD_TOP + plot_height - height:.1f}" width="{slot * 0.7:.1f}" '
                         f'height="{height:.1f}" fill="#1d4ed8"><title>{escape(bar.caption)}</title></rect>')
        half = _text_width(bar.label, label_font) / 2
        centre, row = min(max(x + slot * 0.35, half), width - half), index % 2 if stagger else 0
        if index % every == 0 and centre - half >= ends[row] + LABEL_GAP:  # the last one, kept inside, may not fit
            ends[row] = centre + half
            parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - PAD_BOTTOM + 16 + row * (label_font + 3)}" '
                         f'text-anchor="middle" font-size="{label_font}">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)  # every text part above is escaped


def _text_width(text: str, font: int) -> float:
    """About how wide a label is drawn (generous: a sans-serif's digits are about 0.55 of its size)."""
    return len(text) * font * 0.62


@dataclass(frozen=True)
class Interval:
    label: str
    mean: float | None  # None: nobody in this group answered again
    low: float | None  # None with a mean: a single value, no interval
    high: float | None
    caption: str


def interval_chart(rows: list[Interval], title: str, chart_id: str = "chart") -> Markup:
    """Means with their 95% intervals on a shared axis around zero (a forest plot): one row each, its
    label above, the mean a dot and the interval a line; an interval that crosses zero says "no clear
    change". Narrow (420 units) so that a phone shows its words at a readable size."""
    width, row_height, side, top_pad = 420, 46, 10, 22
    height = top_pad + row_height * max(1, len(rows)) + 22
    bound = max([10.0] + [abs(value) for row in rows for value in (row.mean, row.low, row.high) if value is not None])
    bound = min(100.0, float(math.ceil(bound / 10) * 10))
    span = width - 2 * side

    def x(value: float) -> float:
        return side + span * (max(-bound, min(bound, value)) + bound) / (2 * bound)

    title_id = f"{escape(chart_id)}-title"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{title_id}" class="chart narrow"><title id="{title_id}">{escape(title)}</title>']
    for value, anchor in ((-bound, "start"), (0.0, "middle"), (bound, "end")):
        parts.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top_pad - 4}" y2="{height - 20}" '
                     f'stroke="{"#52606d" if value == 0 else "#d9e2ec"}"/>'
                     f'<text x="{x(value):.1f}" y="{top_pad - 8}" text-anchor="{anchor}" font-size="12">'
                     f'{value:+.0f}</text>')
    for index, row in enumerate(rows):
        y = top_pad + row_height * index
        parts.append(f'<text x="{side}" y="{y + 16}" font-size="13">{escape(row.label)}</text>')
        line_y = y + 31
        if row.mean is None:
            parts.append(f'<text x="{x(0) + 6:.1f}" y="{line_y + 4}" font-size="12" fill="#52606d">'
                         f'nobody answered again</text>')
            continue
        if row.low is not None and row.high is not None:
            parts.append(f'<line x1="{x(row.low):.1f}" x2="{x(row.high):.1f}" y1="{line_y}" y2="{line_y}" '
                         f'stroke="#1d4ed8" stroke-width="3"/>')
        parts.append(f'<circle cx="{x(row.mean):.1f}" cy="{line_y}" r="6" fill="#1d4ed8">'
                     f'<title>{escape(row.caption)}</title></circle>')
    parts.append(f'<text x="{width / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="12">'
                 f'change in the next answer, points out of 100</text></svg>')
    return Markup("".join(parts))  # noqa: S704 (every text part above is escaped)


SPLIT_COLOURS = ("#027a48", "#9aa5b1", "#b42318")  # positive, middle, negative: also told in words


def split_bars(rows: list[dict], title: str, chart_id: str, names: tuple[str, str, str]) -> Markup:
    """One horizontal bar per period, split into the positive, middle and negative shares, with the
    period on the left and the score on the right (score_trend's rows of one survey). Drawn wide and,
    for a phone (CSS shows one), with each period's words on a line above its bar, which then takes
    the whole width: side by side they did not fit at a readable size."""
    return Markup(_split_svg(rows, title, chart_id, names, phone=False) +  # noqa: S704
                  _split_svg(rows, title, f"{chart_id}-phone", names, phone=True))


def _split_svg(rows: list[dict], title: str, chart_id: str, names: tuple[str, str, str], phone: bool) -> str:
    width, font = (PHONE_WIDTH, 12) if phone else (WIDTH, 11)
    label_width, score_width, row_height = (4, 4, 42) if phone else (90, 170, 26)
    bar_top, bar_height = (20, 16) if phone else (3, 18)
    bar_width = width - label_width - score_width
    height = 24 + row_height * max(1, len(rows))
    title_id = f"{escape(chart_id)}-title"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{title_id}" class="chart {"phone" if phone else "wide"}">'
             f'<title id="{title_id}">{escape(title)}</title>']
    x = label_width
    for colour, name in zip(SPLIT_COLOURS, names, strict=True):  # the legend
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="13" font-size="{font}">{escape(name)}</text>')
        x += 24 + round(_text_width(name, font))
    for index, row in enumerate(rows):
        y = 24 + index * row_height
        answers = f'{row["responses"]} answer{"s" if row["responses"] != 1 else ""}'
        unit = "%" if row["kind"] == "csat" else ""  # CSAT is a share of answers; NPS and CES are not
        score = f'{row["score_name"]} {"–" if row["score"] is None else format(row["score"], "g") + unit} · {answers}'
        if phone:
            parts.append(f'<text x="{label_width}" y="{y + 14}" font-size="{font}">'
                         f'{escape(row["key"] or "")} · {escape(score)}</text>')
        else:
            parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="{font}">'
                         f'{escape(row["key"] or "")}</text>'
                         f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" font-size="{font}">'
                         f'{escape(score)}</text>')
        x = float(label_width)
        for colour, share, name in zip(SPLIT_COLOURS, (row["positive_share"], row["middle_share"],
                                                       row["negative_share"]), names, strict=True):
            segment = bar_width * (share or 0)
            if segment > 0:
                caption = escape(f"{row['key']}: {100 * share:.0f}% {name}")
                parts.append(f'<rect x="{x:.1f}" y="{y + bar_top}" width="{segment:.1f}" height="{bar_height}" '
                             f'fill="{colour}"><title>{caption}</title></rect>')
            x += segment
    parts.append("</svg>")
    return "".join(parts)  # every text part above is escaped
