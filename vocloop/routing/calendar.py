"""Business-hours arithmetic, pure: when is "24 working hours from now" for this team's calendar?

Working windows are built in the calendar's own time zone and converted to UTC day by day, so a
daylight-saving change moves the UTC times of the window, never its local hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS_SCANNED = 3 * 366  # a calendar with (nearly) no working days must not loop forever


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self):
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if not self.start < self.end:
            raise ValueError("the working day must start before it ends")
        if not set(self.workdays) <= set(range(7)) or not self.workdays:
            raise ValueError("workdays are 0 (Monday) to 6 (Sunday), at least one")

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of a local date, in UTC, or None on a day off."""
        if day.weekday() not in self.workdays or day in self.holidays:
            return None
        zone = ZoneInfo(self.timezone)
        opens = datetime.combine(day, self.start, zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, zone).astimezone(UTC)
        return opens, closes


def add_business_hours(start: datetime, hours: float, calendar: BusinessCalendar) -> datetime:
    """The moment `hours` working hours after `start` (aware datetime), in UTC."""
    remaining = timedelta(hours=hours)
    moment = start.astimezone(UTC)
    day = moment.astimezone(ZoneInfo(calendar.timezone)).date()
    for _ in range(MAX_DAYS_SCANNED):
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(moment, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("the calendar has no working time in the next three years")


def business_seconds_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    """Working seconds from start to end (0 when end is not after start)."""
    if end <= start:
        return 0.0
    total = 0.0
    zone = ZoneInfo(calendar.timezone)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            overlap = min(end, window[1]) - max(start, window[0])
            total += max(0.0, overlap.total_seconds())
        day += timedelta(days=1)
    return total


def due_at(start: datetime, hours: float, business_hours: bool, calendar: BusinessCalendar) -> datetime:
    return add_business_hours(start, hours, calendar) if business_hours else start + timedelta(hours=hours)
