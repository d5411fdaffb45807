"""What a metrics period means, in one place for the page, its CSVs, the API and the weekly email.

A period is given as two days, `from` and `to`, both inclusive (UTC): `from=2026-11-01&to=2026-11-30`
is the whole of November. The queries take it as the half-open interval [first day 00:00, day after
the last 00:00). Without dates it is the 30 days ending today, today included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DEFAULT_DAYS = 30
LONGEST = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Period:
    start: datetime  # the first day, 00:00 UTC
    end: datetime  # the day after the last, 00:00 UTC (exclusive, as the queries take it)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The period's last day, as the page shows it and a `to` parameter names it."""
        return (self.end - timedelta(days=1)).date()

    def previous(self) -> Period:
        """The period of the same length just before: what every headline figure is compared with."""
        return Period(self.start - (self.end - self.start), self.start)

    def query_args(self) -> dict[str, str]:
        """`from` and `to` as a link to this very period names them."""
        return {"from": self.first_day.isoformat(), "to": self.last_day.isoformat()}


def period_of_days(first: date | None, last: date | None, today: date) -> Period:
    """The period from `first` to `last`, both days included; ValueError naming what is wrong."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError("from must not be after to")
    period = Period(datetime.combine(first, time(), UTC), datetime.combine(last + timedelta(days=1), time(), UTC))
    if period.end - period.start > LONGEST:
        raise ValueError("a period is at most three years")
    return period


def parse_day(text: str | None, name: str) -> date | None:
    """A YYYY-MM-DD query value (empty: not given)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a date like 2026-01-31") from None


def period_from_args(args, today: date) -> Period:
    """The period named by a query string's `from` and `to` (the page and its CSVs)."""
    return period_of_days(parse_day(args.get("from"), "from"), parse_day(args.get("to"), "to"), today)
