"""Time for the whole product: the clock seam and the site calendar.

* :mod:`sitetime.clock` — :func:`now`/:func:`now_ms`, the only place "now" is read; tests fix
  it with :func:`use_clock`.
* :mod:`sitetime.calendar` — the site's time zone, local days, months and years, and the one
  :class:`Period` type.

It imports nothing of tanzhang's, so every package may use it.
"""

from sitetime.calendar import (
    DEFAULT_TZ,
    KINDS,
    PERIOD_KINDS,
    InvalidPeriodError,
    Period,
    SiteCalendar,
    as_utc,
    periods_between,
    set_site_calendar,
    site_calendar,
)
from sitetime.clock import (
    Clock,
    FixedClock,
    OffsetClock,
    SystemClock,
    get_clock,
    now,
    now_ms,
    parse_instant,
    set_clock,
    use_clock,
)

__all__ = [
    "DEFAULT_TZ",
    "KINDS",
    "PERIOD_KINDS",
    "Clock",
    "FixedClock",
    "InvalidPeriodError",
    "OffsetClock",
    "Period",
    "SiteCalendar",
    "SystemClock",
    "as_utc",
    "get_clock",
    "now",
    "now_ms",
    "parse_instant",
    "periods_between",
    "set_clock",
    "set_site_calendar",
    "site_calendar",
    "use_clock",
]
