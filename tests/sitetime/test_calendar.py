"""The site calendar: local days, months and years of the site's zone, and ``Period``."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitetime import (
    FixedClock,
    InvalidPeriodError,
    OffsetClock,
    Period,
    SiteCalendar,
    get_clock,
    now,
    periods_between,
    site_calendar,
    use_clock,
)


def test_default_site_zone_is_asia_shanghai():
    assert site_calendar().tz == "Asia/Shanghai"


def test_day_in_china_standard_time_is_16z_to_16z():
    p = Period.containing("day", date(2026, 11, 1))
    assert p.start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert p.label == "2026-11-01"


def test_month_and_year_boundaries_in_the_site_zone():
    # 2026-12-31 23:59Z is already 1 January 2027 in Quzhou
    p = Period.containing("month", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert p.label == "2027-01"
    assert p.start == datetime(2026, 12, 31, 16, tzinfo=UTC)
    y = Period.containing("year", date(2024, 2, 29))
    assert y.end == datetime(2024, 12, 31, 16, tzinfo=UTC)
    assert y.days == 366
    assert p.next().label == "2027-02"
    assert p.previous().label == "2026-12"


def test_utc_calendar_on_request():
    p = Period.containing("month", datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "UTC")
    assert (p.start, p.end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert p.label == "2026-12"


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
    day = Period.containing("day", date(2026, 10, 25), "Europe/Berlin")
    assert day.days == 25 / 24


def test_periods_between_only_whole_periods():
    days = periods_between(
        "day", datetime(2026, 11, 1, 6, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    )
    # local days 2026-11-02 (starts 11-01 16:00Z) and 11-03; 11-04 ends after the window
    assert [d.label for d in days] == ["2026-11-02", "2026-11-03"]


def test_invalid_periods_raise():
    with pytest.raises(InvalidPeriodError, match="unknown period kind 'week'"):
        Period.containing("week", date(2026, 1, 1))
    with pytest.raises(InvalidPeriodError, match="no time zone"):
        Period.containing("day", datetime(2026, 1, 1))
    with pytest.raises(InvalidPeriodError, match="empty period"):
        Period(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "day")


def test_local_takes_datetimes_and_epoch_ms_and_refuses_flags():
    cal = SiteCalendar()
    at = datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert cal.local(at) == cal.local(int(at.timestamp() * 1000)) == at
    assert cal.local_date(at) == date(2026, 11, 1)
    # a bool is an int to Python but is no instant; it used to fail inside as_utc with an
    # AttributeError ('bool' object has no attribute 'tzinfo')
    with pytest.raises(TypeError, match="aware datetime or epoch ms"):
        cal.local(True)
    with pytest.raises(InvalidPeriodError, match="no time zone"):
        cal.local(datetime(2026, 1, 1))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_days_of_a_month_and_months_of_a_year_tile_it(d):
    cal = SiteCalendar()
    year = cal.year(d.year)
    months = [cal.month(d.year, m) for m in range(1, 13)]
    assert months[0].start == year.start and months[-1].end == year.end
    assert all(a.end == b.start for a, b in zip(months, months[1:], strict=False))
    month = cal.period("month", d)
    days = cal.periods_between("day", month.start, month.end)
    assert days[0].start == month.start and days[-1].end == month.end
    assert sum(x.days for x in days) == pytest.approx(month.days)
    assert cal.day(d).label == d.isoformat()


def test_the_clock_seam_is_fixed_in_tests_and_offset_clock_runs_on():
    at = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    before = get_clock()
    with use_clock(at) as c:
        assert now() == at
        assert site_calendar().today() == date(2026, 1, 1)
        c.advance(timedelta(hours=16))
        assert site_calendar().today() == date(2026, 1, 2)
    assert get_clock() is before  # the block's clock is gone, the one before it is back
    oc = OffsetClock(datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert (
        datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)
        <= oc.now()
        < datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    )
    with pytest.raises(ValueError, match="no time zone"):
        FixedClock(datetime(2026, 1, 1))
