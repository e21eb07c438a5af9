"""The site calendar: the site's time zone, its local days, months and years, and ``Period``.

One calendar serves the whole product (closing, the API's date parameters, savings,
dashboards, simulators). Its zone is ``Asia/Shanghai`` (UTC+8, no daylight saving; Quzhou)
unless the ``TANZHANG_SITE_TZ`` setting names another IANA zone. A local day ``D`` is
``[D 00:00, D+1 00:00)`` in that zone; months and years likewise. Periods are half-open and
carried as time-zone-aware datetimes in the site zone; ``start_ms``/``end_ms`` are the epoch
milliseconds the telemetry stores are queried with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sitetime import clock

DEFAULT_TZ = "Asia/Shanghai"
#: days per year used to pro-rate annual rates (Julian year)
DAYS_PER_YEAR = 365.25
PeriodKind = Literal["hour", "day", "month", "year"]
#: the calendar kinds the ledger books
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)
#: every kind a :class:`Period` may have (``custom``: any other interval, never booked)
KINDS: tuple[str, ...] = (*PERIOD_KINDS, "custom")


class InvalidPeriodError(ValueError):
    """A period that cannot exist: naive datetimes, end not after start, unknown kind."""


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is refused (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidPeriodError(
            f"datetime {value.isoformat()} has no time zone: pass an aware datetime "
            "(for example datetime(..., tzinfo=UTC))"
        )
    return value.astimezone(UTC)


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return site_calendar().zone
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return tz


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
    if kind == "hour":
        # hours are stepped in UTC so that DST transitions never skip or repeat an hour
        return (local.astimezone(UTC) + timedelta(hours=n)).astimezone(local.tzinfo)
    naive = local.replace(tzinfo=None)
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
    """A half-open interval ``[start, end)`` of instants, with its kind and local zone.

    Attributes
    ----------
    start, end : datetime
        Aware datetimes, held in UTC (``start < end``); :attr:`local_start` and
        :attr:`local_end` give them in the period's zone.
    kind : str
        ``hour``, ``day``, ``month``, ``year`` (calendar periods of the site) or ``custom``.
    zone : tzinfo
        The zone whose wall clock names the period (its :attr:`label`); by default the zone
        ``start`` was given in, or the site's when that was UTC. Not part of equality.
    """

    start: datetime
    end: datetime
    kind: str = "custom"
    zone: tzinfo | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        given = self.start.tzinfo
        start, end = as_utc(self.start), as_utc(self.end)  # refuses naive datetimes
        if not end > start:
            raise InvalidPeriodError(f"empty period {self.start} .. {self.end}")
        if self.kind not in KINDS:
            raise InvalidPeriodError(
                f"unknown period kind {self.kind!r}: use one of {', '.join(KINDS)}"
            )
        if self.zone is None:
            zone = given if given is not None and given is not UTC else site_calendar().zone
            object.__setattr__(self, "zone", zone)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def local_start(self) -> datetime:
        """:attr:`start` on the period zone's wall clock."""
        return self.start.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        """:attr:`end` on the period zone's wall clock."""
        return self.end.astimezone(self.zone)

    # -- figures -------------------------------------------------------------------------
    @property
    def start_ms(self) -> int:
        """Start [ms since the Unix epoch]."""
        return int(round(self.start.timestamp() * 1000))

    @property
    def end_ms(self) -> int:
        """End [ms since the Unix epoch], exclusive."""
        return int(round(self.end.timestamp() * 1000))

    @property
    def days(self) -> float:
        """Length [d]."""
        return (self.end_ms - self.start_ms) / 86_400_000.0

    @property
    def years(self) -> float:
        """Length [yr] = days / 365.25; used to pro-rate annual rates."""
        return self.days / DAYS_PER_YEAR

    @property
    def label(self) -> str:
        """``2026-03-01T08``, ``2026-03-01``, ``2026-03``, ``2026`` or ``start/end``."""
        s = self.local_start
        return {
            "hour": s.strftime("%Y-%m-%dT%H"),
            "day": s.strftime("%Y-%m-%d"),
            "month": s.strftime("%Y-%m"),
            "year": s.strftime("%Y"),
        }.get(self.kind, f"{self.start.isoformat()}/{self.end.isoformat()}")

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def in_zone(self, tz: str | tzinfo | None = None) -> Period:
        """The same instants expressed in ``tz`` (default the site zone)."""
        return Period(self.start, self.end, self.kind, _zone(tz))

    def __str__(self) -> str:
        return f"{self.kind} {self.local_start.isoformat()}/{self.local_end.isoformat()}"

    # -- construction --------------------------------------------------------------------
    @classmethod
    def containing(cls, kind: str, when: datetime | date, tz: str | tzinfo | None = None) -> Period:
        """The calendar period of ``kind`` containing ``when`` in ``tz`` (default: the site's).

        A ``date`` stands for its first instant (local midnight).
        """
        if kind not in PERIOD_KINDS:
            raise InvalidPeriodError(
                f"unknown period kind {kind!r}: use one of {', '.join(PERIOD_KINDS)}"
            )
        zone = _zone(tz)
        if isinstance(when, datetime):
            local = as_utc(when).astimezone(zone)
        else:
            local = datetime(when.year, when.month, when.day, tzinfo=zone)
        start = _floor(kind, local)
        return cls(start, _step(kind, start), kind, zone)

    def next(self, tz: str | tzinfo | None = None) -> Period:
        """The period of the same kind that starts at this one's end."""
        return Period.containing(self.kind, self.end, tz or self.zone)

    def previous(self, tz: str | tzinfo | None = None) -> Period:
        """The period of the same kind that ends at this one's start."""
        return Period.containing(self.kind, self.start - timedelta(microseconds=1), tz or self.zone)

    @classmethod
    def hour(cls, dt: datetime, tz: str | None = None) -> Period:
        """The hour containing ``dt`` (a naive datetime is read in ``tz``)."""
        z = _zone(tz)
        dt = dt.replace(tzinfo=z) if dt.tzinfo is None else dt
        return cls.containing("hour", dt, z)

    @classmethod
    def day(cls, d: date, tz: str | None = None) -> Period:
        """Local day ``d``."""
        return cls.containing("day", d, tz)

    @classmethod
    def month(cls, year: int, month: int, tz: str | None = None) -> Period:
        return cls.containing("month", date(year, month, 1), tz)

    @classmethod
    def year(cls, year: int, tz: str | None = None) -> Period:
        return cls.containing("year", date(year, 1, 1), tz)

    def to_dict(self) -> dict:
        return {
            "start": self.local_start.isoformat(),
            "end": self.local_end.isoformat(),
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Period:
        return cls(
            datetime.fromisoformat(d["start"]),
            datetime.fromisoformat(d["end"]),
            d.get("kind", "custom"),
        )


def periods_between(
    kind: str, start: datetime, end: datetime, tz: str | tzinfo | None = None
) -> list[Period]:
    """Every period of ``kind`` lying entirely in ``[start, end)``, oldest first."""
    start, end = as_utc(start), as_utc(end)
    out: list[Period] = []
    p = Period.containing(kind, start, tz)
    if p.start < start:
        p = p.next(tz)
    while p.end <= end:
        out.append(p)
        p = p.next(tz)
    return out


@dataclass(frozen=True)
class SiteCalendar:
    """The site's time zone and what follows from it: local days, months, years.

    Parameters
    ----------
    tz : str
        IANA time-zone name (default ``Asia/Shanghai``).
    """

    tz: str = DEFAULT_TZ

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def local(self, when: datetime | int) -> datetime:
        """``when`` (aware datetime or epoch ms) as a local datetime of the site."""
        if isinstance(when, datetime):
            return as_utc(when).astimezone(self.zone)
        if isinstance(when, bool) or not isinstance(when, int | float):
            raise TypeError(f"expected an aware datetime or epoch ms, got {when!r}")
        return datetime.fromtimestamp(when / 1000, self.zone)

    def local_date(self, when: datetime | int) -> date:
        """The local day [date] that contains ``when`` (aware datetime or epoch ms)."""
        return self.local(when).date()

    def now(self) -> datetime:
        """The current instant in the site's zone (from :func:`sitetime.clock.now`)."""
        return clock.now().astimezone(self.zone)

    def today(self) -> date:
        """The site's current local day."""
        return self.now().date()

    def midnight(self, d: date) -> datetime:
        """Local midnight starting day ``d``."""
        return datetime(d.year, d.month, d.day, tzinfo=self.zone)

    def midnight_ms(self, d: date) -> int:
        """Local midnight starting day ``d`` [ms since the Unix epoch]."""
        return int(self.midnight(d).timestamp() * 1000)

    def local_hour(self, when: datetime | int) -> float:
        """Hour of the local day [h], 0 <= h < 24."""
        t = self.local(when)
        return t.hour + t.minute / 60 + t.second / 3600 + t.microsecond / 3.6e9

    def utc_offset_h(self, when: datetime | int | None = None) -> float:
        """Offset of local time from UTC at ``when`` (default now) [h]."""
        t = self.local(clock.now() if when is None else when)
        off = t.utcoffset()
        return 0.0 if off is None else off.total_seconds() / 3600

    def period(self, kind: str, when: datetime | date) -> Period:
        """The ``kind`` period of the site containing ``when``."""
        return Period.containing(kind, when, self.zone)

    def day(self, d: date) -> Period:
        return Period.containing("day", d, self.zone)

    def month(self, year: int, month: int) -> Period:
        return Period.containing("month", date(year, month, 1), self.zone)

    def year(self, year: int) -> Period:
        return Period.containing("year", date(year, 1, 1), self.zone)

    def periods_between(self, kind: str, start: datetime, end: datetime) -> list[Period]:
        return periods_between(kind, start, end, self.zone)

    def days_between(self, first: date, last: date) -> list[Period]:
        """The local days ``first`` .. ``last`` inclusive."""
        return [self.day(first + timedelta(days=i)) for i in range((last - first).days + 1)]


_calendar = SiteCalendar()


def site_calendar() -> SiteCalendar:
    """The site calendar in force (set once by the composition root from the settings)."""
    return _calendar


def set_site_calendar(calendar: SiteCalendar) -> SiteCalendar:
    """Put ``calendar`` in force for the process; returns the one it replaces."""
    global _calendar
    previous, _calendar = _calendar, calendar
    return previous
