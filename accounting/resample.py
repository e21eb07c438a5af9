"""Many windows at once: register totals and gauge means per hour or per local day.

Used to build the daily series of a line's baseline (:class:`accounting.baseline.DailyData`)
and the hourly series of the rolling savings figures from raw telemetry. The register rules
are those of :func:`accounting.activity.register_usage` (resets, swaps, capped jumps, linear
apportioning), evaluated for all windows with one cumulative-usage curve:

``U(t)`` = cleaned usage accumulated up to ``t``, linear between readings;
total of ``[a, b)`` = ``U(b) − U(a)``.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from accounting.activity import _clean, drop_spikes
from accounting.baseline import DailyData, Day, as_day
from accounting.errors import InvalidSeriesError
from accounting.units import MS_PER_HOUR

MS_PER_DAY = 86_400_000

#: ``(ts_ms, values)`` of one series
Series: TypeAlias = tuple[npt.ArrayLike, npt.ArrayLike]


def local_day_edges(
    first_day: Day, n_days: int, *, utc_offset_h: float = 8.0
) -> npt.NDArray[np.int64]:
    """Edges [ms] of ``n_days`` local calendar days from ``first_day`` (``n_days + 1`` values).

    Parameters
    ----------
    first_day : str, date or numpy.datetime64
        First local day.
    n_days : int
    utc_offset_h : float
        Local offset from UTC [h]; Asia/Shanghai has no daylight saving time: 8.
    """
    d0 = as_day(first_day).astype(np.int64)
    return (d0 + np.arange(n_days + 1)) * MS_PER_DAY - int(utc_offset_h * MS_PER_HOUR)


def hour_edges(start_ms: int, n_hours: int) -> npt.NDArray[np.int64]:
    """Edges [ms] of ``n_hours`` consecutive hours from ``start_ms``."""
    return int(start_ms) + np.arange(n_hours + 1, dtype=np.int64) * MS_PER_HOUR


def _check_edges(edges_ms: npt.ArrayLike) -> npt.NDArray[np.int64]:
    e = np.asarray(edges_ms, dtype=np.int64)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise InvalidSeriesError("edges_ms must be increasing, at least two values")
    return e


def register_totals(
    ts_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    edges_ms: npt.ArrayLike,
    *,
    max_rate_per_hour: float,
) -> npt.NDArray[np.float64]:
    """Usage of a cumulative register in each window ``[edges[i], edges[i+1])``.

    Same rules as :func:`accounting.activity.register_usage`, so each element equals the
    ``total`` of ``register_usage`` over that window.

    Parameters
    ----------
    ts_ms : array of int64
        Reading times [ms] (include a reading before the first edge and after the last).
    values : array of float
        Register readings [register unit].
    edges_ms : array of int64
        Window edges [ms], increasing.
    max_rate_per_hour : float
        Physical rate cap [register unit/h].

    Returns
    -------
    ndarray
        ``len(edges_ms) − 1`` totals [register unit].
    """
    e = _check_edges(edges_ms)
    if not max_rate_per_hour > 0:
        raise InvalidSeriesError("max_rate_per_hour must be > 0")
    ts, v = _clean(ts_ms, values)
    ts, v, _ = drop_spikes(ts, v, max_rate_per_hour)
    if ts.size < 2:
        return np.zeros(e.size - 1)
    d = np.diff(v)
    limit = max_rate_per_hour * np.diff(ts) / MS_PER_HOUR
    reset = (d < 0) & (v[1:] <= limit)
    bad = ((d < 0) & ~reset) | (d > limit)
    usage = np.where(reset, v[1:], np.where(bad, 0.0, d))
    cum = np.concatenate([[0.0], np.cumsum(usage)])
    u = np.interp(e.astype(float), ts.astype(float), cum)  # flat outside the readings
    return np.diff(u)


def gauge_means(
    ts_ms: npt.ArrayLike, values: npt.ArrayLike, edges_ms: npt.ArrayLike, *, min_count: int = 1
) -> npt.NDArray[np.float64]:
    """Mean of gauge readings in each window (NaN with fewer than ``min_count`` readings).

    Used for daily mean air temperature [°C] from ``air_temp_c``; CalTRACK averages the
    hourly temperatures of the day.
    """
    e = _check_edges(edges_ms)
    ts, v = _clean(ts_ms, values)
    idx = np.searchsorted(e, ts, side="right") - 1
    ok = (idx >= 0) & (idx < e.size - 1)
    n = np.bincount(idx[ok], minlength=e.size - 1)
    s = np.bincount(idx[ok], v[ok], minlength=e.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / n
    out[n < min_count] = np.nan
    return out


def reading_counts(ts_ms: npt.ArrayLike, edges_ms: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Number of readings in each window (for coverage: compare with the expected count)."""
    e = _check_edges(edges_ms)
    ts = np.unique(np.asarray(ts_ms, dtype=np.int64))
    idx = np.searchsorted(e, ts, side="right") - 1
    ok = (idx >= 0) & (idx < e.size - 1)
    return np.bincount(idx[ok], minlength=e.size - 1)


def daily_data_from_series(
    first_day: Day,
    n_days: int,
    energy: Series,
    temperature: Series,
    output: Series | None = None,
    *,
    max_rate_per_hour: dict[str, float],
    utc_offset_h: float = 8.0,
    min_readings_per_day: int = 12,
) -> DailyData:
    """:class:`DailyData` for a line from raw registers and the air temperature gauge.

    Parameters
    ----------
    first_day, n_days :
        Local days covered.
    energy, output : tuple of arrays
        ``(ts_ms, values)`` of ``energy_kwh_total`` and ``output_units_total``.
    temperature : tuple of arrays
        ``(ts_ms, values)`` of ``air_temp_c``.
    max_rate_per_hour : dict
        Caps for ``energy_kwh_total`` and ``output_units_total``.
    min_readings_per_day : int
        A day with fewer energy (or temperature) readings is missing (NaN), so the
        sufficiency check counts it.
    """
    edges = local_day_edges(first_day, n_days, utc_offset_h=utc_offset_h)
    kwh = register_totals(*energy, edges, max_rate_per_hour=max_rate_per_hour["energy_kwh_total"])
    kwh[reading_counts(energy[0], edges) < min_readings_per_day] = np.nan
    temp = gauge_means(*temperature, edges, min_count=min_readings_per_day)
    out = None
    if output is not None:
        out = register_totals(
            *output, edges, max_rate_per_hour=max_rate_per_hour["output_units_total"]
        )
        out[reading_counts(output[0], edges) < min_readings_per_day] = np.nan
    dates = as_day(first_day) + np.arange(n_days)
    return DailyData(dates, kwh, temp, out)
