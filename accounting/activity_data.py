"""ActivityData: everything a statement needs about one entity and one period.

Build it from raw telemetry and field events with :func:`activity_from_series`, or directly
(e.g. from a factory's reported energy statistics)::

    act = activity_from_series(
        {"energy_kwh_total": (ts_ms, kwh), ("meter-2", "gas_m3_total"): (ts2, m3)},
        events, start_ms=period.start_ms, end_ms=period.end_ms)

Series keys are a value name or a ``(device_id, value_name)`` pair; registers of several
devices with the same value name are summed. Pass for each register the last reading
before ``start_ms`` too (and the first after ``end_ms`` if you have it).

Value names used: ``energy_kwh_total`` (electricity imported from the grid),
``pv_kwh_total`` (on-site PV consumed on site: zero-carbon, counted in the green share),
``gas_m3_total`` (natural gas, Nm³), ``steam_t_total`` (purchased steam), ``diesel_l_total``,
``water_m3_total``, ``output_units_total``, ``rain_mm_total``; gauge ``power_kw`` is
integrated into grid kWh only when no ``energy_kwh_total`` series is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from accounting.activity import (
    DEFAULT_MAX_RATE_PER_HOUR,
    integrate_gauge,
    register_usage,
)
from accounting.errors import InvalidSeriesError
from accounting.events import EventTotals, record_time_s, summarize_events

#: value name -> ActivityData attribute
REGISTER_FIELDS = {
    "energy_kwh_total": "electricity_kwh",
    "pv_kwh_total": "pv_kwh",
    "gas_m3_total": "gas_m3",
    "steam_t_total": "steam_t",
    "diesel_l_total": "diesel_l",
    "water_m3_total": "water_m3",
    "output_units_total": "output_units",
    "rain_mm_total": "rain_mm",
}
#: raw series by value name or ``(device_id, value_name)``: ``(ts_ms, values)``
SeriesMap: TypeAlias = Mapping[str | tuple[str, str], tuple[npt.ArrayLike, npt.ArrayLike]]
#: registers whose coverage enters the statement's coverage figure
ACCOUNTED = (
    "energy_kwh_total",
    "pv_kwh_total",
    "gas_m3_total",
    "steam_t_total",
    "diesel_l_total",
    "power_kw",
)


@dataclass
class ActivityData:
    """Activity of one entity over one window. Amounts are window totals.

    Attributes
    ----------
    start_ms, end_ms : int
        Data window [ms].
    electricity_kwh : float
        Grid electricity [kWh].
    pv_kwh : float
        On-site PV self-consumption [kWh].
    gas_m3, steam_t, diesel_l, water_m3, output_units, rain_mm : float
        Register totals [Nm³, t, L, m³, output unit, mm].
    heat_gj : float
        Purchased heat other than metered steam [GJ].
    process_co2_t : float
        Reported process CO2 (e.g. from the firm's annual report) [t CO2].
    events : EventTotals
    tree_surveys : list of dict
        Tree surveys known for the entity, any date (the last two give the stock difference);
        defaults to the surveys among the period's events.
    forest_inventories : list of dict
        ``{"ts": "2024-10-01", "volume_m3": 1234.0, "species": "chinese_fir"}``, any date.
    value_added_10k_cny : float, optional
        Value added in this window [10⁴ CNY] (overrides the pro-rated profile figure).
    coverage : float or None
        Lowest coverage of the accounted series present; None when no series was given.
    first_data_ms : int, optional
        Time of the entity's first record of any kind (reading, field event, survey) [ms].
        Nothing accrues before it: removals accrue only over the covered part of the window
        (:attr:`covered_fraction`). None (an activity built by hand): the whole window is
        taken as covered; :func:`activity_from_series` always sets it, to ``end_ms`` when
        no dated record exists (nothing covered).
    practice_records : list of dict
        Practice events of any date up to the window's end: a practice is in force from
        its event date on (defaults to the practice events among the window's events).
    coverage_by_value : dict
    quality : dict
        Per series: resets, swaps, capped, capped_amount, n_readings.
    """

    start_ms: int
    end_ms: int
    electricity_kwh: float = 0.0
    pv_kwh: float = 0.0
    gas_m3: float = 0.0
    steam_t: float = 0.0
    diesel_l: float = 0.0
    water_m3: float = 0.0
    output_units: float = 0.0
    rain_mm: float = 0.0
    heat_gj: float = 0.0
    process_co2_t: float = 0.0
    events: EventTotals = field(default_factory=EventTotals)
    tree_surveys: list[dict] = field(default_factory=list)
    forest_inventories: list[dict] = field(default_factory=list)
    value_added_10k_cny: float | None = None
    coverage: float | None = None
    coverage_by_value: dict[str, float] = field(default_factory=dict)
    quality: dict[str, dict] = field(default_factory=dict)
    first_data_ms: int | None = None
    practice_records: list[dict] = field(default_factory=list)

    @property
    def covered_start_ms(self) -> int | None:
        """Start of the covered part of the window [ms]: the later of its start and the
        first data; None when the window holds no covered time."""
        if self.first_data_ms is None:
            return self.start_ms
        if self.first_data_ms >= self.end_ms:
            return None
        return max(self.start_ms, int(self.first_data_ms))

    @property
    def covered_fraction(self) -> float:
        """Fraction of the window at or after the entity's first data [-]."""
        c = self.covered_start_ms
        return 0.0 if c is None else (self.end_ms - c) / (self.end_ms - self.start_ms)

    def __post_init__(self) -> None:
        if not self.end_ms > self.start_ms:
            raise InvalidSeriesError("ActivityData: end_ms must be after start_ms")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and f.name not in ("coverage",) and not v >= 0:
                raise InvalidSeriesError(f"ActivityData.{f.name} must be >= 0, got {v}")
        if not self.tree_surveys and self.events.tree_surveys:
            self.tree_surveys = list(self.events.tree_surveys)
        if not self.practice_records and self.events.practice_records:
            self.practice_records = list(self.events.practice_records)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["events"] = self.events.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ActivityData:
        d = dict(d)
        d["events"] = EventTotals.from_dict(d.get("events", {}))
        return cls(**d)


def activity_from_series(
    series: SeriesMap,
    events: Iterable[dict] = (),
    *,
    start_ms: int,
    end_ms: int,
    max_rate_per_hour: Mapping[str, float] | None = None,
    expected_interval_s: Mapping[str, float] | float | None = None,
    max_gap_s: float = 900.0,
    **extra: Any,
) -> ActivityData:
    """Build :class:`ActivityData` from raw series and field events.

    Parameters
    ----------
    series : mapping
        ``value_name`` or ``(device_id, value_name)`` -> ``(ts_ms, values)`` numpy arrays.
        Non-accounting value names (``soil_moisture_pct``, ``air_temp_c`` ...) are ignored.
    events : iterable of dict
        Field events of the window (see :mod:`accounting.events`).
    start_ms, end_ms : int
        Window [ms].
    max_rate_per_hour : mapping, optional
        Per value name overrides of :data:`accounting.activity.DEFAULT_MAX_RATE_PER_HOUR`.
    expected_interval_s : float or mapping, optional
        Device reporting interval [s] (per value name); inferred when omitted.
    max_gap_s : float
        Longest gap bridged when integrating ``power_kw`` [s].
    **extra
        Other :class:`ActivityData` fields (``heat_gj``, ``process_co2_t``,
        ``tree_surveys``, ``forest_inventories``, ``practice_records``,
        ``value_added_10k_cny``, ``first_data_ms``). Without ``first_data_ms`` it is the
        earliest time stamp among the series, the dated events, the surveys, inventories
        and practice records given (the reading before ``start_ms``, when passed, shows
        that data began earlier).
    """
    events = list(events)  # read twice: for the first data and for the totals
    rates = {**DEFAULT_MAX_RATE_PER_HOUR, **(max_rate_per_hour or {})}
    totals: dict[str, float] = {}
    cover: dict[str, list[float]] = {}
    quality: dict[str, dict] = {}
    names = {k[1] if isinstance(k, tuple) else k for k in series}
    for key, (ts, vals) in series.items():
        name = key[1] if isinstance(key, tuple) else key
        label = "/".join(key) if isinstance(key, tuple) else key
        interval = (
            expected_interval_s.get(name)
            if isinstance(expected_interval_s, Mapping)
            else expected_interval_s
        )
        if name in REGISTER_FIELDS:
            if name not in rates:
                raise InvalidSeriesError(f"no max_rate_per_hour for {name}")
            u = register_usage(
                ts,
                vals,
                start_ms,
                end_ms,
                max_rate_per_hour=rates[name],
                expected_interval_s=interval,
            )
            attr = REGISTER_FIELDS[name]
            totals[attr] = totals.get(attr, 0.0) + u.total
            quality[label] = u.to_dict()
            cover.setdefault(name, []).append(u.coverage)
        elif name == "power_kw" and "energy_kwh_total" not in names:
            g = integrate_gauge(ts, vals, start_ms, end_ms, max_gap_s=max_gap_s)
            totals["electricity_kwh"] = totals.get("electricity_kwh", 0.0) + g.total
            quality[label] = g.to_dict()
            cover.setdefault(name, []).append(g.coverage)
    if extra.get("first_data_ms") is None:
        first = _first_time_ms(series, events, extra)
        extra["first_data_ms"] = end_ms if first is None else first
    coverage_by_value = {n: min(c) for n, c in cover.items()}
    accounted = [c for n, c in coverage_by_value.items() if n in ACCOUNTED]
    amounts: dict[str, Any] = totals  # float fields of ActivityData by name
    return ActivityData(
        start_ms=start_ms,
        end_ms=end_ms,
        events=summarize_events(events),
        coverage=min(accounted) if accounted else None,
        coverage_by_value=coverage_by_value,
        quality=quality,
        **amounts,
        **extra,
    )


def _first_time_ms(series: SeriesMap, events: Iterable[dict], extra: dict) -> int | None:
    """Earliest time stamp among series, dated events and dated records [ms], or None."""
    firsts: list[float] = []
    for ts, _ in series.values():
        ts = np.asarray(ts)
        if ts.size:
            firsts.append(float(np.min(ts)))
    records = [*events]
    for k in ("tree_surveys", "forest_inventories", "practice_records"):
        records += list(extra.get(k) or ())
    for rec in records:
        t = record_time_s(rec)
        if t is not None:
            firsts.append(t * 1000.0)
    return int(min(firsts)) if firsts else None
