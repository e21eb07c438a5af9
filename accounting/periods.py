"""Accounting periods: hour, day, month, year (or custom) in local time, half-open.

Periods are defined in the entity's local time zone (default ``Asia/Shanghai``, UTC+8,
Quzhou) and carried as time-zone-aware datetimes; ``start_ms``/``end_ms`` are the epoch
milliseconds the telemetry store is queried with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from accounting.errors import InvalidProfileError
from accounting.units import DAYS_PER_YEAR

DEFAULT_TZ = "Asia/Shanghai"
KINDS = ("hour", "day", "month", "year", "custom")


@dataclass(frozen=True)
class Period:
    """A half-open interval ``[start, end)`` with aware datetimes and a kind."""

    start: datetime
    end: datetime
    kind: str = "custom"

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidProfileError("Period start and end must be time-zone aware")
        if not self.end > self.start:
            raise InvalidProfileError(f"empty period {self.start} .. {self.end}")
        if self.kind not in KINDS:
            raise InvalidProfileError(f"unknown period kind {self.kind!r}")

    @property
    def start_ms(self) -> int:
        return int(round(self.start.timestamp() * 1000))

    @property
    def end_ms(self) -> int:
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
        s = self.start
        return {
            "hour": s.strftime("%Y-%m-%dT%H"),
            "day": s.strftime("%Y-%m-%d"),
            "month": s.strftime("%Y-%m"),
            "year": s.strftime("%Y"),
        }.get(self.kind, f"{self.start.isoformat()}/{self.end.isoformat()}")

    @classmethod
    def hour(cls, dt: datetime, tz: str = DEFAULT_TZ) -> Period:
        """The hour containing ``dt`` (naive datetimes are read in ``tz``)."""
        z = ZoneInfo(tz)
        dt = dt.replace(tzinfo=z) if dt.tzinfo is None else dt.astimezone(z)
        s = dt.replace(minute=0, second=0, microsecond=0)
        return cls(s, s + timedelta(hours=1), "hour")

    @classmethod
    def day(cls, d: date, tz: str = DEFAULT_TZ) -> Period:
        z = ZoneInfo(tz)
        s = datetime(d.year, d.month, d.day, tzinfo=z)
        e = datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=z)
        return cls(s, e, "day")

    @classmethod
    def month(cls, year: int, month: int, tz: str = DEFAULT_TZ) -> Period:
        z = ZoneInfo(tz)
        s = datetime(year, month, 1, tzinfo=z)
        e = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=z)
        return cls(s, e, "month")

    @classmethod
    def year(cls, year: int, tz: str = DEFAULT_TZ) -> Period:
        z = ZoneInfo(tz)
        return cls(datetime(year, 1, 1, tzinfo=z), datetime(year + 1, 1, 1, tzinfo=z), "year")

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict) -> Period:
        return cls(
            datetime.fromisoformat(d["start"]),
            datetime.fromisoformat(d["end"]),
            d.get("kind", "custom"),
        )
