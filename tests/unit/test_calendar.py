from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from vocloop.routing.calendar import BusinessCalendar, add_business_hours, business_seconds_between, due_at

BERLIN = BusinessCalendar(timezone="Europe/Berlin")
NEW_YORK = BusinessCalendar(timezone="America/New_York")


def local(zone, *args):
    return datetime(*args, tzinfo=ZoneInfo(zone))


def test_hours_inside_one_working_day():
    start = local("Europe/Berlin", 2026, 11, 24, 10, 0)  # Tuesday
    assert add_business_hours(start, 4, BERLIN) == local("Europe/Berlin", 2026, 11, 24, 14, 0)


def test_hours_carry_over_the_night_and_the_weekend():
    friday_afternoon = local("Europe/Berlin", 2026, 11, 27, 15, 0)
    assert add_business_hours(friday_afternoon, 4, BERLIN) == local("Europe/Berlin", 2026, 11, 30, 11, 0)
    saturday = local("Europe/Berlin", 2026, 11, 28, 12, 0)
    assert add_business_hours(saturday, 1, BERLIN) == local("Europe/Berlin", 2026, 11, 30, 10, 0)


def test_before_opening_the_clock_starts_at_opening_and_24h_is_three_days():
    early = local("Europe/Berlin", 2026, 11, 24, 6, 30)
    assert add_business_hours(early, 24, BERLIN) == local("Europe/Berlin", 2026, 11, 26, 17, 0)


def test_holidays_are_skipped():
    calendar = BusinessCalendar(timezone="Europe/Berlin", holidays=frozenset({date(2026, 12, 25)}))
    christmas_eve = local("Europe/Berlin", 2026, 12, 24, 16, 0)
    assert add_business_hours(christmas_eve, 2, calendar) == local("Europe/Berlin", 2026, 12, 28, 10, 0)


def test_daylight_saving_keeps_local_hours_and_shifts_utc():
    # Europe springs forward on Sunday 29 March 2026: Friday 17:00 is 16:00 UTC, Monday 9:00 is 07:00 UTC.
    friday = local("Europe/Berlin", 2026, 3, 27, 16, 0)
    due = add_business_hours(friday, 2, BERLIN)
    assert due == local("Europe/Berlin", 2026, 3, 30, 10, 0)
    assert due.astimezone(UTC).hour == 8
    # The US falls back on 1 November 2026; New York's working day is 14:00-22:00 UTC afterwards.
    monday = local("America/New_York", 2026, 11, 2, 9, 0)
    assert add_business_hours(monday, 8, NEW_YORK).astimezone(UTC) == datetime(2026, 11, 2, 22, 0, tzinfo=UTC)


def test_the_same_instant_gives_different_dues_in_different_time_zones():
    instant = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 21:00 in Berlin, 15:00 in New York
    assert add_business_hours(instant, 1, BERLIN) == local("Europe/Berlin", 2026, 11, 25, 10, 0)
    assert add_business_hours(instant, 1, NEW_YORK) == local("America/New_York", 2026, 11, 24, 16, 0)


def test_business_seconds_between_counts_only_working_time():
    friday = local("Europe/Berlin", 2026, 11, 27, 16, 0)
    monday = local("Europe/Berlin", 2026, 11, 30, 10, 0)
    assert business_seconds_between(friday, monday, BERLIN) == 2 * 3600
    assert business_seconds_between(monday, friday, BERLIN) == 0


@pytest.mark.parametrize("hours", [0.5, 3, 8, 13, 40, 100])
def test_adding_then_measuring_gives_the_same_hours(hours):
    start = local("America/New_York", 2026, 10, 30, 11, 17)
    due = add_business_hours(start, hours, NEW_YORK)
    assert business_seconds_between(start, due, NEW_YORK) == pytest.approx(hours * 3600)


def test_calendar_time_is_plain_addition():
    start = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert due_at(start, 24, False, BERLIN) == start + timedelta(hours=24)


def test_bad_calendars_are_refused():
    with pytest.raises(ZoneInfoNotFoundError):
        BusinessCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        BusinessCalendar(start=time(17), end=time(9))
    with pytest.raises(ValueError):
        BusinessCalendar(workdays=())


def test_an_evening_shift_keeps_its_local_day_after_midnight_utc():
    # New York's 12:00-22:00 ends at 03:00 UTC the next day: 21:00 on Tuesday is Wednesday 02:00 in UTC.
    evening = BusinessCalendar(timezone="America/New_York", start=time(12), end=time(22))
    tuesday_9pm = local("America/New_York", 2026, 11, 24, 21, 0)
    assert add_business_hours(tuesday_9pm, 0.5, evening) == local("America/New_York", 2026, 11, 24, 21, 30)
    assert business_seconds_between(tuesday_9pm, tuesday_9pm + timedelta(minutes=30), evening) == 1800
    # Tokyo's 06:00-14:00 opens at 21:00 UTC the day before: Tuesday 06:00-07:00 is Monday evening in UTC.
    early = BusinessCalendar(timezone="Asia/Tokyo", start=time(6), end=time(14))
    monday_1pm, tuesday_7am = local("Asia/Tokyo", 2026, 11, 23, 13, 0), local("Asia/Tokyo", 2026, 11, 24, 7, 0)
    assert business_seconds_between(monday_1pm, tuesday_7am, early) == 2 * 3600


def test_a_night_counts_no_working_time():
    tuesday_6pm = local("Europe/Berlin", 2026, 11, 24, 18, 0)
    assert business_seconds_between(tuesday_6pm, tuesday_6pm + timedelta(hours=14), BERLIN) == 0
