"""Measured savings of a factory line: :class:`SavingsService`, which the ``/v1`` savings
routes, the EMC service and the credit report call.

It reads a line's hourly series from the telemetry store, fits (and caches, per service
object: ``tanzhang.app.create_app`` makes one per app) the line's baseline, prices avoided
energy with the line's own factor set and computes the rolling and per-period figures. The
arithmetic is in :mod:`accounting.baseline` and :mod:`accounting.savings` (pure numpy); this
module is the data glue and the rules that pick the windows.

Baseline window (CalTRACK 2.0 §2, methodology in docs/methodology.md §7 and
docs/accounting.md "Line savings"): the **365 local days immediately before the
intervention**, i.e. ``[I − 365 d, I − 1 d]``; ``baseline_end`` in the registry, when given,
ends it earlier (never later than ``I − 1 d``), and ``baseline_start`` in the registry, when
later than ``end − 364 d``, is honoured as a "no representative data before" limit: the days
before it count as missing days of the 365. The window is fitted only when at least 90 % of
its 365 days have energy data (CalTRACK: at most 37 days missing); otherwise the service
raises :class:`ledger.errors.BaselineUnavailable` ``insufficient_baseline_data`` (the API's
409) whose ``details`` say how many days there are and how many are needed. A fitted model
whose daily CV(RMSE) exceeds the qualification limit (25 %, docs/methodology.md §7 for a
single line) is refused with ``baseline_model_not_qualified``; a line with neither an
intervention nor a ``baseline_end`` with ``no_baseline_period``.

Factor set: the entity attribute ``factor_set`` (``name`` or ``name@version``) of the line,
else of its factory, else ``cn-mee-2023`` (the closing job's default); the grid factor key
is the line's ``grid_factor_key`` (``electricity.grid`` by default).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from ledger.errors import BaselineUnavailable
from sitetime import clock
from sitetime.calendar import site_calendar

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SAVINGS_CONFIDENCE = 0.90
MODEL_TTL_S = 3600.0  # a fitted baseline is reused this long (its data is history)
MAX_MODELS = 512  # fitted baselines one service keeps (least recently used go first)
BASELINE_DAYS = 365  # CalTRACK 2.0: the 365 days before the intervention
MIN_BASELINE_COVERAGE = 0.90  # CalTRACK 2.0: at most 10 % (37 of 365 days) missing
MAX_CVRMSE = 0.25  # docs/methodology.md §7: single-line daily model qualification
DEFAULT_FACTOR_SET = "cn-mee-2023"
MAX_GAP_MS = HOUR_MS  # a longer interval between two readings is a gap in the data


# -- reading the store -----------------------------------------------------------------------
def _hourly_register(
    store: Any, field: str, entities: list[str], start_ms: int, end_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hour starts in ``[start_ms, end_ms)`` and the register usage of each hour, summed over
    the entity's devices; NaN where no device covered the hour.

    Vectorised (issue 11): the usage of every hour at once with
    :func:`accounting.resample.register_totals` (the rules of
    :func:`accounting.activity.register_usage`: resets, swaps, capped jumps, linear
    apportioning). A device covers an hour when more than half of the hour lies in reading
    intervals of at most :data:`MAX_GAP_MS` (a cumulative register's delta over such an
    interval is exact, only its split between hours is interpolated) and at least two
    readings bound it (the last at or before its start, the ones inside, the first at or
    after its end). Unlike a median reading interval, this holds when the reading rate
    changes, e.g. an hourly back-fill followed by live readings every 10 s.
    """
    from accounting.activity import DEFAULT_MAX_RATE_PER_HOUR
    from accounting.resample import register_totals

    hours = np.arange(start_ms, end_ms, HOUR_MS, dtype=np.int64)
    total = np.zeros(hours.size)
    covered = np.zeros(hours.size, dtype=bool)
    if hours.size == 0:
        return hours, total
    edges = np.append(hours, hours[-1] + HOUR_MS)
    series = store.series(field, start_ms, end_ms + HOUR_MS, entities=entities, previous=True)
    rate = DEFAULT_MAX_RATE_PER_HOUR.get(field, 1e9)
    for s in series.values():
        ts, v = np.asarray(s.ts_ms, dtype=np.int64), np.asarray(s.values, dtype=float)
        ok = np.isfinite(v)
        ts, v = ts[ok], v[ok]
        if ts.size < 2:
            continue
        tot = register_totals(ts, v, edges, max_rate_per_hour=rate)
        # covered time: reading intervals of at most MAX_GAP_MS (a longer one is a gap),
        # accumulated and read at the hour edges; the reading rate may change (an hourly
        # back-fill followed by live readings every few seconds)
        gap = np.diff(ts)
        cum = np.concatenate([[0.0], np.cumsum(np.where(gap <= MAX_GAP_MS, gap, 0))])
        cov = np.diff(np.interp(edges.astype(float), ts.astype(float), cum)) / HOUR_MS
        # as the per-hour code did: two readings bound the hour (the last at or before its
        # start, any inside, the first at or after its end), so an hour still open at the
        # last reading is missing, not zero
        lo = np.clip(np.searchsorted(ts, hours, "right") - 1, 0, None)
        hi = np.minimum(np.searchsorted(ts, hours + HOUR_MS, "left") + 1, ts.size)
        good = (cov > 0.5) & (hi - lo >= 2)
        total[good] += tot[good]
        covered |= good
    return hours, np.where(covered, total, np.nan)


def _hourly_mean(
    store: Any, field: str, entities: list[str], start_ms: int, end_ms: int
) -> np.ndarray:
    """Hourly mean of a gauge over the devices of ``entities`` (NaN: no reading)."""
    n = (end_ms - start_ms + HOUR_MS - 1) // HOUR_MS
    sums, counts = np.zeros(n), np.zeros(n)
    for s in store.downsample(field, start_ms, end_ms, 3600, entities=entities).values():
        idx = (np.asarray(s.ts_ms, dtype=np.int64) - start_ms) // HOUR_MS
        ok = (idx >= 0) & (idx < n) & np.isfinite(s.values)
        np.add.at(sums, idx[ok], np.asarray(s.values)[ok])
        np.add.at(counts, idx[ok], 1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass
class LineHours:
    """Hourly series of a line: hour starts [ms], energy [kWh], air temperature [°C],
    output [units] (None: the line has no production counter)."""

    hours: np.ndarray
    energy: np.ndarray
    temp: np.ndarray
    output: np.ndarray | None
    warnings: list[str]


def line_hours(store: Any, line: Any, start_ms: int, end_ms: int) -> LineHours:
    """Hourly energy, output and temperature of a line (temperature from the line's or its
    factory's weather devices; 18 °C, no degree days, when there is none)."""
    _, energy = _hourly_register(store, "energy_kwh_total", [line.id], start_ms, end_ms)
    hours, output = _hourly_register(store, "output_units_total", [line.id], start_ms, end_ms)
    warnings: list[str] = []
    temp = _hourly_mean(store, "air_temp_c", [line.id, *([line.parent] if line.parent else [])],
                        start_ms, end_ms)  # fmt: skip
    if not np.isfinite(temp).any():
        temp = np.full(hours.size, 18.0)
        warnings.append("savings.no_temperature: no air_temp_c; weather terms cannot be fitted")
    else:
        temp = np.where(np.isfinite(temp), temp, np.nanmean(temp))
    has_output = np.isfinite(output).any()
    return LineHours(hours, energy, temp, output if has_output else None, warnings)


def daily(data: LineHours) -> Any:
    """Local-day totals (energy, output) and mean temperature; a day needs 90 % of its hours
    (the total is scaled up to 24 h)."""
    from accounting.baseline import DailyData

    off = int(site_calendar().utc_offset_h() * HOUR_MS)
    day = (data.hours + off) // DAY_MS
    days = np.unique(day)
    idx = np.searchsorted(days, day)

    def total(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x)
        s = np.bincount(idx, np.where(ok, x, 0.0), days.size)
        n = np.bincount(idx, ok.astype(float), days.size)
        return np.where(n >= 0.9 * 24, s * 24 / np.maximum(n, 1), np.nan)

    temp = np.bincount(idx, data.temp, days.size) / np.bincount(idx, minlength=days.size)
    out = total(data.output) if data.output is not None else None
    return DailyData(days.astype("datetime64[D]"), total(data.energy), temp, out)


def local_ms(d: date) -> int:
    """Local midnight starting day ``d`` [ms]."""
    return site_calendar().midnight_ms(d)


# -- baseline ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineWindow:
    """The local days ``start`` .. ``end`` (inclusive) of a line's baseline and its
    intervention day (None: a line without intervention, e.g. a control line)."""

    start: date
    end: date
    intervention: date | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def baseline_window(line: Any) -> BaselineWindow:
    """The baseline of ``line`` by the rule of the module docstring (CalTRACK 2.0)."""
    from ledger.closing import profile_of

    prof = profile_of(line)
    inter = prof.intervention_date
    end = prof.baseline_end
    if inter is not None:
        end = min(end, inter - timedelta(days=1)) if end else inter - timedelta(days=1)
    if end is None:
        raise BaselineUnavailable(
            f"line {line.id!r} has neither an intervention_date nor a baseline_end in the "
            "registry: add them (`tanzhang registry`) to measure its savings",
            code="no_baseline_period",
            details={"reason": "no_baseline_period"},
        )
    start = end - timedelta(days=BASELINE_DAYS - 1)
    if prof.baseline_start is not None and prof.baseline_start > start:
        start = prof.baseline_start
    return BaselineWindow(start, end, inter)


def _days_with_data(d: Any) -> int:
    ok = np.isfinite(d.energy_kwh)
    if d.output_units is not None:
        ok &= np.isfinite(d.output_units)
    return int(ok.sum())


def _insufficient(line: Any, win: BaselineWindow, have: int, why: str) -> BaselineUnavailable:
    need = math.ceil(MIN_BASELINE_COVERAGE * BASELINE_DAYS)
    return BaselineUnavailable(
        f"the baseline of line {line.id!r} cannot be fitted: {have} days with data in "
        f"{win.start} to {win.end}; CalTRACK needs the {BASELINE_DAYS} days before the "
        f"intervention with at least {need} ({MIN_BASELINE_COVERAGE:.0%}) present ({why})",
        code="insufficient_baseline_data",
        details={
            "reason": "insufficient_baseline_data",
            "baseline_start": win.start.isoformat(),
            "baseline_end": win.end.isoformat(),
            "days_in_window": win.days,
            "days_with_data": have,
            "days_required": BASELINE_DAYS,
            "min_days_with_data": need,
        },
    )


def fit_baseline(store: Any, line: Any, win: BaselineWindow | None = None) -> Any:
    """The line's baseline (daily CalTRACK-style model + hourly profile), fitted now on the
    window of :func:`baseline_window`; raises :class:`~ledger.errors.BaselineUnavailable`
    (``insufficient_baseline_data``, ``baseline_model_not_qualified``). Not cached: see
    :meth:`SavingsService.baseline_model`."""
    from accounting.baseline import fit_line_baseline
    from accounting.errors import AccountingError
    from accounting.savings import fit_hourly_profile

    win = win or baseline_window(line)
    # always read the full CalTRACK window: days missing in it count as missing
    full_start = win.end - timedelta(days=BASELINE_DAYS - 1)
    data = line_hours(store, line, local_ms(full_start), local_ms(win.end) + DAY_MS)
    days = daily(data).between(full_start, win.end)
    # days before a registry baseline_start count as missing days of the 365
    days.energy_kwh[days.dates < np.datetime64(win.start, "D")] = np.nan
    have = _days_with_data(days)
    if have < math.ceil(MIN_BASELINE_COVERAGE * BASELINE_DAYS):
        raise _insufficient(line, win, have, "too few days")
    try:
        model = fit_line_baseline(days)
        fit_hourly_profile(model, data.hours, data.energy, data.output, temp_c=data.temp,
                           utc_offset_h=site_calendar().utc_offset_h())  # fmt: skip
    except AccountingError as exc:
        raise _insufficient(line, win, have, str(exc)) from None
    if not model.cvrmse <= MAX_CVRMSE:
        raise BaselineUnavailable(
            f"the baseline model of line {line.id!r} is not qualified: daily CV(RMSE) "
            f"{model.cvrmse:.1%} above {MAX_CVRMSE:.0%} (ASHRAE Guideline 14; docs/accounting.md)",
            code="baseline_model_not_qualified",
            details={"reason": "baseline_model_not_qualified", "cvrmse": model.cvrmse,
                     "max_cvrmse": MAX_CVRMSE},
        )  # fmt: skip
    return model


class ModelCache:
    """Fitted baselines by (line, baseline start, baseline end), each kept ``ttl_s`` seconds,
    at most ``max_size`` of them (the least recently used go first); thread-safe (the API's
    routes run in a thread pool)."""

    def __init__(self, ttl_s: float = MODEL_TTL_S, max_size: int = MAX_MODELS) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._items: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            if time.monotonic() - hit[0] >= self.ttl_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: tuple[Any, ...], model: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), model)
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


# -- factors -------------------------------------------------------------------------------
def factor_set_ref(line: Any, registry: Any = None) -> str:
    """The factor set of ``line``: its ``factor_set`` attribute, else its factory's, else
    :data:`DEFAULT_FACTOR_SET`."""
    ref = (getattr(line, "attrs", None) or {}).get("factor_set")
    if not ref and registry is not None and getattr(line, "parent", None):
        parent = registry.entities.get(line.parent)
        ref = (getattr(parent, "attrs", None) or {}).get("factor_set") if parent else None
    return str(ref or DEFAULT_FACTOR_SET)


def grid_factor(line: Any, registry: Any = None) -> tuple[str, float]:
    """(factor set reference, grid factor [kg CO2/kWh]) of ``line``."""
    from accounting.factors import load_factor_set
    from ledger.closing import profile_of

    ref = factor_set_ref(line, registry)
    name, _, version = ref.partition("@")
    fs = load_factor_set(name, version or None)
    return ref, float(fs.value(profile_of(line).grid_factor_key))


# -- figures -------------------------------------------------------------------------------
def window_uncertainty(model: Any, w: dict[str, Any]) -> float | None:
    """Uncertainty [kWh] of a rolling window at :data:`SAVINGS_CONFIDENCE`.

    Windows of a day or more: ASHRAE G14 FSU with the daily model (m = days). Shorter
    windows: the same formula on the *hourly* residuals of the hourly model on the baseline
    (CalTRACK hourly form, factor 1.26, m = hours, n = baseline hours, n′ from their lag-1
    autocorrelation) — the daily CV(RMSE) understates the scatter of single hours.
    """
    from accounting.errors import AccountingError
    from accounting.savings import fractional_savings_uncertainty

    if w["hours"] <= 0:
        return None
    try:
        if w["hours"] < 24 and getattr(model, "hourly_cvrmse", None):
            u, _ = fractional_savings_uncertainty(
                cvrmse=model.hourly_cvrmse, n_baseline=model.hourly_n,
                n_params=model.n_params, rho1=model.hourly_rho1, m_reporting=w["hours"],
                predicted_kwh=w["predicted_kwh"], avoided_kwh=w["avoided_kwh"],
                confidence=SAVINGS_CONFIDENCE, interval="hourly",
            )  # fmt: skip
        else:
            u, _ = fractional_savings_uncertainty(
                cvrmse=model.cvrmse, n_baseline=model.n, n_params=model.n_params,
                rho1=model.rho1, m_reporting=max(1, -(-w["hours"] // 24)),
                predicted_kwh=w["predicted_kwh"], avoided_kwh=w["avoided_kwh"],
                confidence=SAVINGS_CONFIDENCE,
            )  # fmt: skip
    except AccountingError:
        return None
    return u


@dataclass
class RollingSavings:
    """What :meth:`SavingsService.rolling` returns: the model, windows (dicts of
    :func:`accounting.savings.rolling_figures` plus ``uncertainty_kwh``), factor and notes."""

    model: Any
    window: BaselineWindow
    windows: dict[str, dict[str, Any]]
    factor_set: str
    grid_ef_kg_per_kwh: float
    warnings: list[str]


def reporting_range(line: Any, win: BaselineWindow, lo: datetime, hi: datetime) -> tuple[int, int]:
    """``[lo, hi)`` clipped to the reporting period: after the baseline, at most 800 days
    back, not after now [ms]."""
    lo_ms = max(int(lo.timestamp() * 1000), clock.now_ms() - 800 * DAY_MS,
                local_ms(win.end + timedelta(days=1)))  # fmt: skip
    hi_ms = min(int(hi.timestamp() * 1000), clock.now_ms())
    return lo_ms, hi_ms


def period_rows(model: Any, d: Any, period: str, ef: float) -> list[dict[str, Any]]:
    """Savings per local day or month of the daily data ``d`` (ASHRAE G14 uncertainty per
    period); a period without a reporting day with data is left out."""
    from accounting.baseline import DailyData
    from accounting.errors import AccountingError
    from accounting.savings import compute_savings

    keys = d.dates.astype(f"datetime64[{'D' if period == 'day' else 'M'}]")
    out = []
    for k in np.unique(keys):
        sel = keys == k
        part = DailyData(d.dates[sel], d.energy_kwh[sel], d.temp_c[sel],
                         None if d.output_units is None else d.output_units[sel])  # fmt: skip
        try:
            r = compute_savings(model, part, grid_ef_kg_per_kwh=ef, confidence=SAVINGS_CONFIDENCE)
        except AccountingError:
            continue
        first = k.astype("datetime64[D]").astype(object)
        nxt = (k + 1).astype("datetime64[D]").astype(object)
        out.append(
            {
                "period_start": datetime.fromtimestamp(local_ms(first) / 1000, UTC),
                "period_end": datetime.fromtimestamp(local_ms(nxt) / 1000, UTC),
                "n_days": r.n_days,
                "predicted_kwh": r.predicted_kwh,
                "metered_kwh": r.metered_kwh,
                "avoided_kwh": r.avoided_kwh,
                "fractional_savings": r.fractional_savings,
                "uncertainty_kwh": r.uncertainty_kwh,
                "fsu": None if not np.isfinite(r.fsu) else r.fsu,
                "avoided_t_co2": r.avoided_t_co2,
                "uncertainty_t_co2": r.uncertainty_t_co2,
            }
        )
    return out


# -- the service ---------------------------------------------------------------------------
class SavingsService:
    """Savings of the lines of one telemetry store and registry, with the fitted baselines
    cached (:class:`ModelCache`).

    ``tanzhang.app.create_app`` makes one per app (``app.state.savings``; routes reach it
    through ``api.deps.SavingsDep``); the credit report makes its own when it is built
    outside the API. Errors: :class:`~ledger.errors.BaselineUnavailable`.
    """

    def __init__(
        self, store: Any, registry: Any = None, *, cache: ModelCache | None = None
    ) -> None:
        self.store = store
        self.registry = registry
        self.cache = cache if cache is not None else ModelCache()

    def baseline_model(self, line: Any) -> Any:
        """The line's fitted baseline (:func:`fit_baseline`), cached for
        :data:`MODEL_TTL_S` per (line, window)."""
        win = baseline_window(line)
        key = (line.id, win.start, win.end)
        model = self.cache.get(key)
        if model is None:
            model = fit_baseline(self.store, line, win)
            self.cache.put(key, model)
        return model

    def grid_factor(self, line: Any) -> tuple[str, float]:
        """(factor set reference, grid factor [kg CO2/kWh]) of ``line`` (:func:`grid_factor`)."""
        return grid_factor(line, self.registry)

    def rolling(self, line: Any) -> RollingSavings:
        """Last 2 h, today and — only for a line with an intervention — since the intervention.

        A line without an intervention (a control line) gets ``last_2h`` and ``today`` against
        its baseline: they must contain zero.
        """
        from accounting.savings import rolling_figures

        win = baseline_window(line)
        model = self.baseline_model(line)
        now_ms = clock.now_ms()
        cal = site_calendar()
        midnight = local_ms(cal.local_date(now_ms))
        start_ms = min(midnight, now_ms - 3 * HOUR_MS)
        inter_ms = None
        if win.intervention is not None:
            inter_ms = local_ms(win.intervention)
            start_ms = max(inter_ms, now_ms - 400 * DAY_MS)
        start_ms = start_ms // HOUR_MS * HOUR_MS
        data = line_hours(self.store, line, start_ms, now_ms)
        warnings = list(data.warnings)
        if "output" in model.coefficients and data.output is None:
            # the production term cannot be evaluated: such hours have no prediction (no 500)
            data.output = np.full(data.hours.size, np.nan)
            warnings.append("savings.no_output_data: no output_units_total in the window")
        ref, ef = self.grid_factor(line)
        figures = rolling_figures(
            model, data.hours, data.energy, data.temp, data.output, now_ms=now_ms,
            intervention_ms=inter_ms, grid_ef_kg_per_kwh=ef, utc_offset_h=cal.utc_offset_h(),
        )  # fmt: skip
        windows: dict[str, dict[str, Any]] = {
            name: {**w, "uncertainty_kwh": window_uncertainty(model, w)}
            for name, w in figures.items()
        }
        if win.intervention is None:
            warnings.append("savings.no_intervention: no intervention_date; no since-intervention")
        return RollingSavings(model, win, windows, ref, ef, warnings)

    def periods(
        self, line: Any, period: str, lo: datetime, hi: datetime
    ) -> tuple[list[dict[str, Any]], str, float]:
        """Savings per local day or month in ``[lo, hi)`` (ASHRAE G14 uncertainty per period);
        periods before the intervention are left out. Returns (rows, factor set, grid factor)."""
        win = baseline_window(line)
        model = self.baseline_model(line)
        ref, ef = self.grid_factor(line)
        lo_ms, hi_ms = reporting_range(line, win, lo, hi)
        if hi_ms - lo_ms < DAY_MS:
            return [], ref, ef
        d = daily(line_hours(self.store, line, lo_ms // HOUR_MS * HOUR_MS, hi_ms))
        return period_rows(model, d, period, ef), ref, ef
