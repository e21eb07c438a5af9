"""Accounting periods: an hour, a day, a month or a year, as a half-open UTC interval.

A period is ``[start, end)``. Its boundaries are computed in a time zone (UTC by default;
``Asia/Shanghai`` gives the local calendar day of an entity in Quzhou) and then stored in
UTC, so a "day" in China Standard Time is ``[D-1 16:00Z, D 16:00Z)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from accounts.errors import InvalidPeriod

PeriodKind = Literal["hour", "day", "month", "year"]
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return tz


def as_utc(value: datetime) -> datetime:
    """Return an aware UTC datetime; a naive one is refused (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidPeriod(
            f"datetime {value.isoformat()} has no time zone: pass an aware datetime "
            "(for example datetime(..., tzinfo=UTC))"
        )
    return value.astimezone(UTC)


def _floor(kind: str, local: datetime) -> datetime:
    if kind == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    if kind == "day":
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "month":
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def _step(kind: str, local: datetime, n: int = 1) -> datetime:
    """Move a local period start by n periods (wall-clock arithmetic, then re-attach tz)."""
    naive = local.replace(tzinfo=None)
    if kind == "hour":
        # hours are stepped in UTC so that DST transitions never skip or repeat an hour
        return (local.astimezone(UTC) + timedelta(hours=n)).astimezone(local.tzinfo)
    if kind == "day":
        naive = naive + timedelta(days=n)
    elif kind == "month":
        months = naive.year * 12 + (naive.month - 1) + n
        naive = naive.replace(year=months // 12, month=months % 12 + 1)
    else:
        naive = naive.replace(year=naive.year + n)
    return naive.replace(tzinfo=local.tzinfo)


@dataclass(frozen=True, order=True)
class Period:
    """A closed accounting period ``[start, end)``.

    Attributes
    ----------
    kind : str
        ``hour``, ``day``, ``month`` or ``year``.
    start, end : datetime
        Aware UTC datetimes, ``start < end``.
    """

    kind: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.kind not in PERIOD_KINDS:
            raise InvalidPeriod(
                f"unknown period kind {self.kind!r}: use one of {', '.join(PERIOD_KINDS)}"
            )
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if not self.start < self.end:
            raise InvalidPeriod(f"period start {self.start} is not before its end {self.end}")

    @classmethod
    def containing(cls, kind: str, when: datetime | date, tz: str | tzinfo | None = None) -> Period:
        """The period of ``kind`` that contains ``when``, with boundaries in ``tz``.

        A ``date`` stands for its first instant (midnight in ``tz``).
        """
        if kind not in PERIOD_KINDS:
            raise InvalidPeriod(
                f"unknown period kind {kind!r}: use one of {', '.join(PERIOD_KINDS)}"
            )
        zone = _zone(tz)
        if isinstance(when, datetime):
            local = as_utc(when).astimezone(zone)
        else:
            local = datetime(when.year, when.month, when.day, tzinfo=zone)
        start = _floor(kind, local)
        return cls(kind, start, _step(kind, start))

    def next(self, tz: str | tzinfo | None = None) -> Period:
        """The period of the same kind that starts at this one's end."""
        return Period.containing(self.kind, self.end, tz)

    def __str__(self) -> str:
        return f"{self.kind} {self.start.isoformat()}/{self.end.isoformat()}"


def as_period(period: object) -> Period:
    """An :class:`accounts.periods.Period` from any object with ``kind``, ``start``, ``end``.

    Accepts :class:`accounting.periods.Period` (local-time boundaries) and converts its
    boundaries to UTC; a ``custom`` kind is refused (the ledger books calendar periods).
    """
    if isinstance(period, Period):
        return period
    try:
        return Period(period.kind, period.start, period.end)  # type: ignore[attr-defined]
    except AttributeError:
        raise InvalidPeriod(
            f"{period!r} is not a period: pass accounts.periods.Period or an object with "
            "kind, start and end"
        ) from None


def periods_between(
    kind: str, start: datetime, end: datetime, tz: str | tzinfo | None = None
) -> list[Period]:
    """Every period of ``kind`` that lies entirely in ``[start, end)``, oldest first."""
    start, end = as_utc(start), as_utc(end)
    out: list[Period] = []
    p = Period.containing(kind, start, tz)
    if p.start < start:
        p = p.next(tz)
    while p.end <= end:
        out.append(p)
        p = p.next(tz)
    return out
