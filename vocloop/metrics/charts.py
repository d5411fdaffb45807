"""Charts drawn on the server as SVG: no script, no external service, readable as a table too."""

from __future__ import annotations

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
