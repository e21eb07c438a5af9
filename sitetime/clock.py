"""The one seam through which tanzhang reads the current time.

Every module asks :func:`now` (an aware UTC :class:`~datetime.datetime`) or :func:`now_ms`
(epoch milliseconds) instead of calling ``datetime.now``/``time.time`` itself, so a test can
fix the time with :func:`use_clock` and a whole system started as a subprocess can be put on
another date with the ``TANZHANG_NOW`` setting (see :class:`OffsetClock`).

Monotonic durations (timeouts, rates) are not "the time" and keep using
:func:`time.monotonic`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now() -> datetime`` (aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still at ``at`` until :meth:`advance` or :meth:`set` moves it."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = _aware(at)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._at += delta
            return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


class OffsetClock:
    """A clock that starts at ``at`` when created and then runs at the machine's rate.

    Used for ``TANZHANG_NOW``: a whole system (simulators, scheduler, API) lives on a fixed
    date while its live parts still see time pass.
    """

    def __init__(self, at: datetime) -> None:
        self._start = _aware(at)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def __repr__(self) -> str:
        return f"OffsetClock(started at {self._start.isoformat()})"


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"clock time {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """An aware datetime from RFC 3339 text (``2026-06-15T10:00:00+08:00``); a trailing ``Z``
    is UTC. Text without an offset is refused: its zone would be a guess."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return _aware(value)


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The clock in force."""
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Put ``clock`` in force for the whole process; returns the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@contextmanager
def use_clock(clock: Clock | datetime) -> Iterator[Clock]:
    """Within the block, :func:`now` reads ``clock`` (a datetime means a :class:`FixedClock`)."""
    c = FixedClock(clock) if isinstance(clock, datetime) else clock
    previous = set_clock(c)
    try:
        yield c
    finally:
        set_clock(previous)


def now() -> datetime:
    """The current instant [aware datetime, UTC] from the clock in force."""
    return _clock.now()


def now_ms() -> int:
    """The current instant [ms since the Unix epoch] from the clock in force."""
    return int(_clock.now().timestamp() * 1000)
