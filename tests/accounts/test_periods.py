from datetime import UTC, date, datetime

import pytest

from accounts.errors import InvalidPeriod
from accounts.periods import Period, periods_between


def test_day_in_china_standard_time_is_16z_to_16z():
    p = Period.containing("day", date(2026, 11, 1), "Asia/Shanghai")
    assert p.start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 11, 1, 16, tzinfo=UTC)


def test_month_and_year_boundaries():
    p = Period.containing("month", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (p.start, p.end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    y = Period.containing("year", date(2024, 2, 29))
    assert y.end == datetime(2025, 1, 1, tzinfo=UTC)
    assert p.next().start == datetime(2027, 1, 1, tzinfo=UTC)


def test_hours_across_a_dst_change_are_all_one_hour():
    # Europe/Berlin fell back on 2026-10-25: the local day has 25 hours
    hours = periods_between(
        "hour",
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
        "Europe/Berlin",
    )
    assert len(hours) == 25
    assert all((h.end - h.start).total_seconds() == 3600 for h in hours)


def test_periods_between_only_whole_periods():
    days = periods_between(
        "day", datetime(2026, 11, 1, 6, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    )
    assert [d.start.day for d in days] == [2, 3]


def test_invalid_periods_raise():
    with pytest.raises(InvalidPeriod, match="unknown period kind 'week'"):
        Period.containing("week", date(2026, 1, 1))
    with pytest.raises(InvalidPeriod, match="no time zone"):
        Period.containing("day", datetime(2026, 1, 1))
    with pytest.raises(InvalidPeriod, match="not before"):
        Period("day", datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
