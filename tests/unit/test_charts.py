"""The metrics charts, drawn on the server as SVG."""

import re

from vocloop.metrics.charts import Bar, rate_bars


def test_a_phone_gets_each_bar_chart_drawn_narrow_with_words_it_can_read_and_no_labels_overlapping():
    """A phone shrank the one 640-unit drawing to about half: 10-unit labels read as 5 px. The phone's own
    drawing is 360 units (drawn near 1:1 at 390 px) with 12-unit labels, and of 31 daily bars it labels
    only as many as fit side by side (the screen's drawing too)."""
    days = [Bar(label=f"12-{day:02d}", value=0.5, caption=f"day {day}") for day in range(1, 32)]
    chart = str(rate_bars(days, "Loop-closure rate by day", "trend"))
    wide, phone = chart.split("</svg>")[:2]
    assert 'viewBox="0 0 640 220"' in wide and 'class="chart wide"' in wide
    assert 'viewBox="0 0 360 220"' in phone and 'class="chart phone"' in phone and 'id="trend-phone-title"' in phone
    for drawing in (wide, phone):
        labels = [(float(x), int(size)) for x, size, _text in re.findall(
            r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" font-size="(\d+)">(12-\d\d)</text>', drawing)]
        assert 3 <= len(labels) < 31
        gaps = [b[0] - a[0] for a, b in zip(labels, labels[1:], strict=False)]
        assert min(gaps) >= 5 * 0.62 * labels[0][1] + 8  # five characters at the label's size, and room
    assert min(int(size) for size in re.findall(r'font-size="(\d+)"', phone)) >= 12
    assert all(0 <= x - 2.5 * 0.62 * size and x + 2.5 * 0.62 * size <= 360 for x, size in labels)  # none cut off


def test_a_few_bars_keep_every_label_in_two_rows_where_one_row_is_too_tight():
    """Time to close has six buckets with long names: on a phone each keeps its label, every other one
    a row lower, rather than every other one dropped."""
    buckets = ["under 4 h", "4–24 h", "1–2 days", "2–4 days", "4–7 days", "over 7 days"]
    chart = str(rate_bars([Bar(label=name, value=0.5, caption=name) for name in buckets], "Time to close", "d"))
    phone = chart.split("</svg>")[1]
    shown = re.findall(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="middle" font-size="\d+">([^<]+)</text>', phone)
    assert [name for _, name in shown] == buckets
    assert len({y for y, _ in shown}) == 2


def test_score_bars_leave_room_for_their_words_on_a_screen_and_put_them_above_the_bar_on_a_phone():
    """ "CSAT 72.7% · 11 answers" ran into its bar on a screen; on a phone the period and score sat
    beside a bar too narrow for them, the year cut off. Now neither overlaps, and a phone reads them whole."""
    from vocloop.metrics.charts import _text_width, split_bars

    row = {"key": "2026-11-16", "positive_share": 0.727, "middle_share": 0.09, "negative_share": 0.183,
           "responses": 11, "kind": "csat", "score_name": "CSAT", "score": 72.7}
    chart = str(split_bars([row], "Support CSAT", "s", ("satisfied", "neutral", "dissatisfied")))
    wide, phone = chart.split("</svg>")[:2]
    bars = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)" height="18"', wide)
    bar_end = max(float(x) + float(width) for x, width in bars)
    assert bar_end + _text_width("CSAT 72.7% · 11 answers", 11) <= 640 - 4
    assert "2026-11-16 · CSAT 72.7% · 11 answers</text>" in phone and 'viewBox="0 0 360 ' in phone
