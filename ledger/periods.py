"""Ledger periods: the site calendar's :class:`~sitetime.calendar.Period`.

The ledger books hours, days, months and years of the site calendar (:mod:`sitetime`):
``[start, end)`` with boundaries at local midnight of the site's zone, so a day in China
Standard Time is ``[D-1 16:00Z, D 16:00Z)``.
"""

from __future__ import annotations

from sitetime.calendar import (
    PERIOD_KINDS,
    InvalidPeriodError,
    Period,
    PeriodKind,
    as_utc,
    periods_between,
)

__all__ = [
    "PERIOD_KINDS",
    "Period",
    "PeriodKind",
    "as_period",
    "as_utc",
    "periods_between",
]


def as_period(period: object) -> Period:
    """A calendar :class:`Period` from any object with ``kind``, ``start``, ``end``;
    a ``custom`` kind is refused (the ledger books calendar periods)."""
    try:
        # duck-typed: an object without them is refused below
        kind, start, end = period.kind, period.start, period.end  # type: ignore[attr-defined]
    except AttributeError:
        raise InvalidPeriodError(
            f"{period!r} is not a period: pass a sitetime Period or an object with "
            "kind, start and end"
        ) from None
    if kind not in PERIOD_KINDS:
        raise InvalidPeriodError(
            f"unknown period kind {kind!r}: use one of {', '.join(PERIOD_KINDS)}"
        )
    if isinstance(period, Period):
        return period
    return Period(start, end, kind)
