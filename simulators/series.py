"""Device models as yearly arrays of 15-minute slots, and the reading stream built from them.

Every device model computes, for one local calendar year, per-slot **gauge** values (air
temperature, power, ...) and per-slot **increments** of its registers (kWh, m3, ...). A
register's value at any instant t is then

    register(t) = R0 + sum of increments of all earlier years (from ``ORIGIN_YEAR``)
                + increments of t's year up to t (linear inside a slot)

so a reading depends only on (seed, device, t): the same seed gives the same readings for
any window and any step, and a live stream continues a back-fill without a jump. Gauges are
interpolated linearly between slot centres plus a small hash-based noise.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from simulators.messages import (
    ORIGIN_YEAR,
    SLOT_S,
    Message,
    date_ms,
    hash01,
    key_of,
    local_date,
    make_topic,
)

SLOT_MS = SLOT_S * 1000


@dataclass
class YearSeries:
    """One year of one device: gauges and register increments per 15-min slot (flat arrays)."""

    start_ms: int
    gauges: dict[str, np.ndarray] = field(default_factory=dict)
    increments: dict[str, np.ndarray] = field(default_factory=dict)
    #: relative noise amplitude of each gauge between slots (fraction of the value)
    noise: dict[str, float] = field(default_factory=dict)
    #: low/high clip of each gauge
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)


class DeviceModel:
    """Base class: subclasses implement :meth:`build_year` (and :meth:`build_events`)."""

    #: value name -> decimals sent on the wire (3 when not listed)
    decimals: dict[str, int] = {}
    #: False for devices that only send field records (no ``data`` readings)
    has_data: bool = True

    def __init__(
        self,
        device_id: str,
        entity_id: str,
        role: str,
        seed: int,
        register_start: dict[str, float] | None = None,
    ) -> None:
        self.device_id = device_id
        self.entity_id = entity_id
        self.role = role
        self.seed = seed
        self.register_start = register_start or {}
        self._years: dict[int, YearSeries] = {}
        self._bases: dict[int, dict[str, float]] = {}
        self._events: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        self._cums: dict[int, dict[str, np.ndarray]] = {}
        self._key = key_of(seed, device_id)

    # -- subclass hooks ---------------------------------------------------------------------
    def build_year(self, year: int) -> YearSeries:
        raise NotImplementedError

    def build_events(self, year: int) -> list[tuple[int, dict[str, Any]]]:
        """Field records of ``year`` as ``(ts_ms, payload)``, sorted by time."""
        return []

    # -- cached access ----------------------------------------------------------------------
    def year(self, year: int) -> YearSeries:
        if year < ORIGIN_YEAR:
            raise ValueError(f"simulated time starts in {ORIGIN_YEAR}; got year {year}")
        ys = self._years.get(year)
        if ys is None:
            ys = self._years[year] = self.build_year(year)
            # keep memory flat: a year is rebuilt on demand; older bases stay in _bases
            for other in [y for y in self._years if y != year]:
                del self._years[other]
                self._cums.pop(other, None)
        return ys

    def record_book(self, start_ms: int) -> list[tuple[int, dict[str, Any]]]:
        """Records from before ``start_ms`` that a device uploads when its history starts
        there (none by default)."""
        return []

    def events(self, year: int) -> list[tuple[int, dict[str, Any]]]:
        ev = self._events.get(year)
        if ev is None:
            ev = self._events[year] = self.build_events(year)
        return ev

    def base(self, year: int) -> dict[str, float]:
        """Register values at local midnight starting ``year``."""
        b = self._bases.get(year)
        if b is not None:
            return b
        if year <= ORIGIN_YEAR:
            names = self.year(ORIGIN_YEAR).increments
            b = {n: float(self.register_start.get(n, 0.0)) for n in names}
        else:
            prev = self.base(year - 1)
            inc = self.year(year - 1).increments
            b = {n: prev.get(n, 0.0) + float(inc[n].sum()) for n in inc}
        self._bases[year] = b
        return b

    def values_at(self, ts_ms: np.ndarray) -> dict[str, np.ndarray]:
        """All values at the instants ``ts_ms`` (one local year at most) [contract units]."""
        ts_ms = np.asarray(ts_ms, dtype=np.int64)
        year = local_date(int(ts_ms[0])).year
        base = self.base(year)  # before year(): building bases may evict the cached year
        ys = self.year(year)
        pos = (ts_ms - ys.start_ms) / SLOT_MS
        # only the slots around the requested instants take part in the interpolation
        lo = max(int(np.floor(pos.min())) - 1, 0)
        hi = int(np.ceil(pos.max())) + 2
        out: dict[str, np.ndarray] = {}
        cums = self._cums.get(year)
        if cums is None:
            cums = self._cums[year] = {
                n: np.concatenate(([0.0], np.cumsum(inc))) for n, inc in ys.increments.items()
            }
        for name, cum in cums.items():
            h = min(hi, cum.size)
            out[name] = base[name] + np.interp(pos, np.arange(lo, h), cum[lo:h])
        t_s = ts_ms // 1000
        for i, (name, g) in enumerate(ys.gauges.items()):
            h = min(hi, g.size)
            v = np.interp(pos, np.arange(lo, h) + 0.5, g[lo:h])
            amp = ys.noise.get(name, 0.0)
            if amp:
                u = hash01(self._key + i, t_s) - 0.5
                v = v + 2 * amp * u * np.abs(v)
            low, high = ys.bounds.get(name, (-np.inf, np.inf))
            out[name] = np.clip(v, low, high)
        return out

    def counter_total(self, name: str, ts_ms: int) -> float:
        """One register's exact value at ``ts_ms`` (for ground-truth functions)."""
        return float(self.values_at(np.array([ts_ms]))[name][0])


def _times(start_ms: int, end_ms: int, step_s: int) -> np.ndarray:
    """Instants aligned to multiples of ``step_s`` since the epoch, in [start, end)."""
    step = step_s * 1000
    first = -(-start_ms // step) * step
    return np.arange(first, end_ms, step, dtype=np.int64)


def _chunks(start_ms: int, end_ms: int | None, max_ms: int) -> Iterator[tuple[int, int]]:
    """[start, end) cut at local midnights and every ``max_ms``; endless without ``end_ms``."""
    t = start_ms
    while end_ms is None or t < end_ms:
        nxt = min(date_ms(local_date(t) + timedelta(days=1)), t + max_ms)
        stop = nxt if end_ms is None else min(nxt, end_ms)
        yield t, stop
        t = stop


#: readings generated at once (bounds memory at short steps: ~50,000 small dicts)
CHUNK_READINGS = 50_000


def readings(
    models: Sequence[DeviceModel],
    start_ms: int,
    end_ms: int | None,
    step_s: int,
    *,
    prefix: str,
) -> Iterator[Message]:
    """Data messages (one reading each) and event messages of ``models`` in time order.

    Data readings fall on multiples of ``step_s`` [s]; events at their own times. Within one
    instant messages come in the order of ``models``. ``seq`` is the reading's time in
    seconds since the Unix epoch: unique and increasing per device for any step, and the
    same for the same instant in back-fill and live runs.
    """
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    topics = [make_topic(prefix, m.entity_id, m.device_id, "data") for m in models]
    ev_topics = [make_topic(prefix, m.entity_id, m.device_id, "event") for m in models]
    per_step = max(sum(m.has_data for m in models), 1)
    max_ms = max(CHUNK_READINGS // per_step, 1) * step_s * 1000
    for lo, hi in _chunks(start_ms, end_ms, max_ms):
        ts = _times(lo, hi, step_s)
        columns: list[list[tuple[str, list[float], int]]] = []
        for m in models:
            cols = []
            if ts.size and m.has_data:
                vals = m.values_at(ts)
                for name, arr in vals.items():
                    d = m.decimals.get(name, 3)
                    cols.append((name, np.round(arr, d).tolist(), d))
            columns.append(cols)
        data: list[tuple[int, int, Message]] = []
        ts_list = ts.tolist()
        for i, t in enumerate(ts_list):
            for k, cols in enumerate(columns):
                if cols:
                    values = {name: (int(v[i]) if d == 0 else v[i]) for name, v, d in cols}
                    data.append(
                        (t, k, Message(topics[k], {"ts": t, "seq": t // 1000, "values": values}))
                    )
        events: list[tuple[int, int, Message]] = []
        year = local_date(lo).year
        for k, m in enumerate(models):
            for t, payload in m.events(year):
                if lo <= t < hi:
                    events.append((t, k, Message(ev_topics[k], dict(payload))))
        events.sort(key=lambda e: (e[0], e[1]))
        for _, _, msg in heapq.merge(data, events, key=lambda e: (e[0], e[1])):
            yield msg
