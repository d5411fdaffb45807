"""Charts drawn on the server as SVG: no script, no external service, readable as a table too."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 44, 36, 12


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
    plot_height = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(1, len(bars))
    title_id = f"{escape(chart_id)}-title"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{title_id}" class="chart"><title id="{title_id}">{escape(title)}</title>']
    for value, text in ticks:
        y = PAD_TOP + plot_height * (1 - value / top)
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e2ec"/>'
                     f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{escape(text)}</text>')
    for index, bar in enumerate(bars):
        x = PAD_LEFT + index * slot + slot * 0.15
        if bar.value is not None:
            height = plot_height * max(0.0, min(1.0, bar.value / top))
            parts.append(f'<rect x="{x:.1f}" y="{PAD_TOP + plot_height - height:.1f}" width="{slot * 0.7:.1f}" '
                         f'height="{height:.1f}" fill="#1d4ed8"><title>{escape(bar.caption)}</title></rect>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" '
                     f'font-size="10">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text part above is escaped)


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
    period on the left and the score on the right (score_trend's rows of one survey)."""
    row_height, label_width, score_width = 26, 90, 130
    width = 640
    bar_width = width - label_width - score_width
    height = 24 + row_height * max(1, len(rows))
    title_id = f"{escape(chart_id)}-title"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{title_id}" class="chart"><title id="{title_id}">{escape(title)}</title>']
    x = label_width
    for colour, name in zip(SPLIT_COLOURS, names, strict=True):  # the legend
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>')
        x += 30 + 7 * len(name)
    for index, row in enumerate(rows):
        y = 24 + index * row_height
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="11">'
                     f'{escape(row["key"] or "")}</text>')
        x = float(label_width)
        for colour, share, name in zip(SPLIT_COLOURS, (row["positive_share"], row["middle_share"],
                                                       row["negative_share"]), names, strict=True):
            segment = bar_width * (share or 0)
            if segment > 0:
                caption = escape(f"{row['key']}: {100 * share:.0f}% {name}")
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{segment:.1f}" height="{row_height - 8}" '
                             f'fill="{colour}"><title>{caption}</title></rect>')
            x += segment
        answers = f'{row["responses"]} answer{"s" if row["responses"] != 1 else ""}'
        unit = "%" if row["kind"] == "csat" else ""  # CSAT is a share of answers; NPS and CES are not
        score = f'{row["score_name"]} {"–" if row["score"] is None else format(row["score"], "g") + unit} · {answers}'
        parts.append(f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" font-size="11">{escape(score)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text part above is escaped)
