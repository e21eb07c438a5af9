"""Activity data from raw telemetry series: register deltas, gauge integrals, coverage.

Conventions (see docs/nomenclature.md):

* time stamps ``ts_ms`` are epoch milliseconds (int64, UTC); windows are half-open
  ``[start_ms, end_ms)``;
* a value name ending in ``_total`` is a cumulative register (``energy_kwh_total``), other
  names are gauges (``power_kw``);
* usage between two consecutive register readings is spread linearly over the time between
  them, so the part of it that falls in a window is ``delta × overlap / Δt``. Consecutive
  windows therefore add up exactly, and a reading before ``start_ms`` (the caller passes the
  last one it has) lets the first interval of the window be counted.

Register rules (documented in docs/accounting.md):

1. ``delta < 0`` is never negative use. If the new reading is at most what the meter could
   have counted since a reset (``value <= max_rate_per_hour × Δt_h``) it is a **reset**: the
   usage of the interval is the new reading (counted from zero). Otherwise it is a **meter
   swap** (a new meter with another start reading): the usage of that interval is unknown,
   counted as 0, and the interval is not covered.
2. ``delta > max_rate_per_hour × Δt_h`` is an **implausible jump** (e.g. a wrong reading or a
   swap to a meter with a higher register): it is **capped**, i.e. discarded (counted as 0
   and not covered) and its amount reported in ``capped_amount``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from accounting.errors import InvalidSeriesError

#: Default cap on the physical rate of each register [unit of the register per hour].
#: Proposed defaults [G] sized for the largest entity kind (a factory site); devices with a
#: known rating should pass their own ``max_rate_per_hour``.
DEFAULT_MAX_RATE_PER_HOUR = {
    "energy_kwh_total": 50_000.0,  # 50 MW site
    "pv_kwh_total": 20_000.0,  # 20 MWp roof
    "gas_m3_total": 10_000.0,
    "steam_t_total": 200.0,
    "water_m3_total": 2_000.0,
    "diesel_l_total": 2_000.0,
    "output_units_total": 1_000_000.0,
    "rain_mm_total": 200.0,
}


#: time stamps [ms since the epoch] and readings, as numpy arrays
Times = npt.NDArray[np.int64]
Values = npt.NDArray[np.float64]


def _clean(ts_ms: npt.ArrayLike, values: npt.ArrayLike) -> tuple[Times, Values]:
    ts = np.asarray(ts_ms)
    v = np.asarray(values, dtype=float)
    if ts.ndim != 1 or v.ndim != 1 or ts.shape != v.shape:
        raise InvalidSeriesError(
            f"ts_ms and values must be 1-d of equal length: {ts.shape} {v.shape}"
        )
    if ts.size and not np.issubdtype(ts.dtype, np.integer):
        if not np.all(np.isfinite(ts)):
            raise InvalidSeriesError("ts_ms contains non-finite time stamps")
        ts = ts.astype(np.int64)
    ts = ts.astype(np.int64, copy=False)
    ok = np.isfinite(v)
    ts, v = ts[ok], v[ok]
    order = np.argsort(ts, kind="stable")
    ts, v = ts[order], v[order]
    if ts.size > 1:  # duplicate time stamps: keep the last reading (idempotent overwrite)
        keep = np.append(ts[1:] != ts[:-1], True)
        ts, v = ts[keep], v[keep]
    return ts, v


def _check_window(start_ms: float, end_ms: float) -> None:
    if not end_ms > start_ms:
        raise InvalidSeriesError(f"empty window: start_ms={start_ms} end_ms={end_ms}")


def _overlap(t0: Times, t1: Times, start_ms: int, end_ms: int) -> Values:
    return np.clip(np.minimum(t1, end_ms) - np.maximum(t0, start_ms), 0, None).astype(float)


def data_coverage(
    ts_ms: npt.ArrayLike, start_ms: int, end_ms: int, *, expected_interval_s: float
) -> float:
    """Fraction of expected reporting intervals in a window that hold at least one reading.

    ``coverage = |{k : some ts in [start + kΔ, start + (k+1)Δ)}| / ceil((end − start)/Δ)``

    Parameters
    ----------
    ts_ms : array of int
        Reading time stamps [ms].
    start_ms, end_ms : int
        Window [ms], half-open.
    expected_interval_s : float
        Reporting interval Δ the device promises [s].

    Returns
    -------
    float
        Coverage in [0, 1].
    """
    _check_window(start_ms, end_ms)
    if not expected_interval_s > 0:
        raise InvalidSeriesError("expected_interval_s must be > 0")
    step = expected_interval_s * 1000.0
    n_slots = int(np.ceil((end_ms - start_ms) / step))
    ts = np.asarray(ts_ms, dtype=np.int64)
    ts = ts[(ts >= start_ms) & (ts < end_ms)]
    slots = np.unique(((ts - start_ms) // step).astype(np.int64))
    return float(min(slots.size, n_slots) / n_slots)


def infer_interval_s(ts_ms: npt.ArrayLike) -> float | None:
    """Median spacing of the readings [s], or None with fewer than two readings."""
    ts = np.unique(np.asarray(ts_ms, dtype=np.int64))
    if ts.size < 2:
        return None
    return float(np.median(np.diff(ts))) / 1000.0


def drop_spikes(
    ts: Times, v: Values, max_rate_per_hour: float
) -> tuple[Times, Values, npt.NDArray[np.bool_]]:
    """Remove single implausible readings of a cumulative register.

    Reading ``i`` is a spike, and is dropped, when its neighbours agree with each other
    (``0 ≤ v[i+1] − v[i−1] ≤ r_max·(t[i+1] − t[i−1])``) while one of its own two intervals
    is not normal use (a jump above ``r_max·Δt`` or a drop). So ``1000, 1e9, 1010`` is
    10 units, not a capped jump plus a "reset" of 1010, and ``1000, 5, 1010`` is not a
    reset either. A real reset (``1000, 5, 15``) or swap has neighbours that disagree and
    is kept. The first and last readings cannot be judged and are kept.

    Parameters
    ----------
    ts, v : ndarray
        Clean readings (sorted, unique times) [ms], [register unit].
    max_rate_per_hour : float
        Largest possible rate [register unit/h].

    Returns
    -------
    (ts, v, dropped) : ndarrays
        The readings kept and the boolean mask of the input readings dropped.
    """
    dropped = np.zeros(ts.size, dtype=bool)
    if ts.size < 3:
        return ts, v, dropped
    hours = np.diff(ts) / 3_600_000.0
    d = np.diff(v)
    normal = (d >= 0) & (d <= max_rate_per_hour * hours)
    bridge = v[2:] - v[:-2]
    bridge_ok = (bridge >= 0) & (bridge <= max_rate_per_hour * (ts[2:] - ts[:-2]) / 3_600_000.0)
    spike = bridge_ok & ~(normal[:-1] & normal[1:])
    # two adjacent candidates: keep the one whose removal is not needed (drop only the first
    # of a run; a run of implausible readings is not a single spike and is left to the rules)
    spike &= ~np.concatenate([[False], spike[:-1]])
    dropped[1:-1] = spike
    return ts[~dropped], v[~dropped], dropped


@dataclass(frozen=True)
class RegisterUsage:
    """Usage of a cumulative register over a window.

    Attributes: ``total`` usage in the register's unit; ``resets``, ``swaps``, ``capped``
    interval counts; ``capped_amount`` discarded jump sum; ``coverage`` in [0, 1];
    ``n_readings`` readings inside the window; ``interval_s`` expected spacing used [s];
    ``dropped`` single implausible readings removed (:func:`drop_spikes`) inside the window
    and ``dropped_readings`` their ``[ts_ms, value]``.
    """

    total: float
    resets: int
    swaps: int
    capped: int
    capped_amount: float
    coverage: float
    n_readings: int
    interval_s: float | None
    dropped: int = 0
    dropped_readings: tuple = ()

    def to_dict(self) -> dict:
        return asdict(self)


def register_usage(
    ts_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    start_ms: int,
    end_ms: int,
    *,
    max_rate_per_hour: float,
    expected_interval_s: float | None = None,
) -> RegisterUsage:
    """Usage of a cumulative register (``*_total``) in the window ``[start_ms, end_ms)``.

    For consecutive readings (t₀, v₀), (t₁, v₁), Δt = t₁ − t₀ [h]:

    * ``d = v₁ − v₀`` if ``0 ≤ d ≤ r_max·Δt``;
    * reset (``d < 0`` and ``v₁ ≤ r_max·Δt``): ``d = v₁``;
    * swap (``d < 0`` otherwise) or cap (``d > r_max·Δt``): ``d = 0``, interval uncovered;

    after single implausible readings are dropped (:func:`drop_spikes`: the readings either
    side of one agree, so the spike and its drop back are neither a jump nor a reset);

    and the window gets ``d × overlap([t₀, t₁], window) / Δt``.

    Parameters
    ----------
    ts_ms : array of int64
        Reading time stamps [ms]; unsorted input is sorted, duplicates keep the last value,
        NaN values are dropped. Include the last reading before ``start_ms`` when known.
    values : array of float
        Register readings [register unit, e.g. kWh].
    start_ms, end_ms : int
        Window [ms].
    max_rate_per_hour : float
        Largest physically possible rate [register unit/h]; see
        :data:`DEFAULT_MAX_RATE_PER_HOUR`.
    expected_interval_s : float, optional
        Device reporting interval [s] for the coverage figure; inferred as the median
        reading spacing when omitted.

    Returns
    -------
    RegisterUsage

    Raises
    ------
    InvalidSeriesError
        Mismatched shapes, empty window or non-positive ``max_rate_per_hour``.
    """
    _check_window(start_ms, end_ms)
    if not max_rate_per_hour > 0:
        raise InvalidSeriesError("max_rate_per_hour must be > 0")
    ts, v = _clean(ts_ms, values)
    ts_all, v_all = ts, v
    ts, v, spikes = drop_spikes(ts, v, max_rate_per_hour)
    in_all = (ts_all >= start_ms) & (ts_all < end_ms)
    dropped = [
        [int(t), float(x)]
        for t, x in zip(ts_all[spikes & in_all], v_all[spikes & in_all], strict=True)
    ]
    inside = (ts >= start_ms) & (ts < end_ms)
    interval_s = expected_interval_s or infer_interval_s(ts)
    if ts.size < 2 or interval_s is None:  # two readings or more always give an interval
        cov = (
            data_coverage(ts, start_ms, end_ms, expected_interval_s=interval_s)
            if interval_s
            else 0.0
        )
        return RegisterUsage(
            0.0, 0, 0, 0, 0.0, cov, int(inside.sum()), interval_s, len(dropped), tuple(dropped)
        )
    t0, t1 = ts[:-1], ts[1:]
    d = np.diff(v)
    limit = max_rate_per_hour * (t1 - t0) / 3_600_000.0
    neg = d < 0
    reset = neg & (v[1:] <= limit)
    swap = neg & ~reset
    cap = d > limit
    usage = np.where(reset, v[1:], np.where(swap | cap, 0.0, d))
    ov = _overlap(t0, t1, start_ms, end_ms)
    share = ov / (t1 - t0)
    rel = ov > 0
    total = float(np.sum(usage * share))
    cov = data_coverage(ts, start_ms, end_ms, expected_interval_s=interval_s)
    # uncovered time of swapped / capped intervals lowers coverage
    bad_ms = float(np.sum(ov[(swap | cap) & rel]))
    cov = max(0.0, cov - bad_ms / (end_ms - start_ms))
    return RegisterUsage(
        total=total,
        resets=int(np.sum(reset & rel)),
        swaps=int(np.sum(swap & rel)),
        capped=int(np.sum(cap & rel)),
        capped_amount=float(np.sum(d[cap & rel])),
        coverage=cov,
        n_readings=int(inside.sum()),
        interval_s=interval_s,
        dropped=len(dropped),
        dropped_readings=tuple(dropped),
    )


@dataclass(frozen=True)
class GaugeIntegral:
    """Time integral of a gauge: ``total`` [gauge unit × h], ``covered_s`` and ``gap_s`` [s],
    ``coverage`` = covered_s / window length, ``n_readings`` inside the window."""

    total: float
    covered_s: float
    gap_s: float
    coverage: float
    n_readings: int

    def to_dict(self) -> dict:
        return asdict(self)


def integrate_gauge(
    ts_ms: npt.ArrayLike, values: npt.ArrayLike, start_ms: int, end_ms: int, *, max_gap_s: float
) -> GaugeIntegral:
    """Trapezoidal time integral of a gauge (e.g. ``power_kw`` → kWh) over a window.

    ``E = Σ ½(p₀ + p₁)·Δt`` over consecutive readings with ``Δt ≤ max_gap_s``, clipped to the
    window with linear interpolation at its edges. Segments longer than ``max_gap_s`` are
    gaps: they contribute nothing (no fill) and lower the coverage.

    Parameters
    ----------
    ts_ms : array of int64
        Reading time stamps [ms] (include the readings just outside the window if known).
    values : array of float
        Gauge readings [unit, e.g. kW].
    start_ms, end_ms : int
        Window [ms].
    max_gap_s : float
        Longest spacing still bridged by interpolation [s].

    Returns
    -------
    GaugeIntegral
        ``total`` in [unit·h] (kW → kWh).
    """
    _check_window(start_ms, end_ms)
    if not max_gap_s > 0:
        raise InvalidSeriesError("max_gap_s must be > 0")
    ts, v = _clean(ts_ms, values)
    n_in = int(np.sum((ts >= start_ms) & (ts < end_ms)))
    window_s = (end_ms - start_ms) / 1000.0
    if ts.size < 2:
        return GaugeIntegral(0.0, 0.0, window_s, 0.0, n_in)
    t0, t1, v0, v1 = ts[:-1], ts[1:], v[:-1], v[1:]
    ok = (t1 - t0) <= max_gap_s * 1000.0
    a = np.maximum(t0, start_ms).astype(float)
    b = np.minimum(t1, end_ms).astype(float)
    use = ok & (b > a)
    a, b, t0f, t1f, v0, v1 = (
        a[use],
        b[use],
        t0[use].astype(float),
        t1[use].astype(float),
        v0[use],
        v1[use],
    )
    slope = (v1 - v0) / (t1f - t0f)
    va = v0 + slope * (a - t0f)
    vb = v0 + slope * (b - t0f)
    total = float(np.sum(0.5 * (va + vb) * (b - a)) / 3_600_000.0)
    covered = float(np.sum(b - a)) / 1000.0
    return GaugeIntegral(total, covered, window_s - covered, covered / window_s, n_in)
