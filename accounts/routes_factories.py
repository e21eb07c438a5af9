"""Factory routes: line savings against the baseline (rolling and per period, with
uncertainty) and benchmarking lists; the data glue that reads a line's hourly series."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from access.deps import (
    LookupDep,
    PrincipalDep,
    RegistryDep,
    SessionDep,
    StoreDep,
    ensure_visible,
)
from access.errors import AUTH_ERRORS, ApiError, error_responses
from access.params import EntityId
from access.roles import Principal
from accounts.models import Account
from accounts.routes_common import (
    EndQ,
    PeriodKind,
    StartQ,
    _engine_statement,
    _factor_set,
    _latest_statement,
    visible_clause,
    window,
)
from sitetime import clock
from sitetime.calendar import site_calendar
from tanzhang.api_schemas import (
    BaselineModelPublic,
    BenchmarksPublic,
    FactoryBenchmarkPublic,
    LineSavingsPublic,
    PeriodSavingsPublic,
    SavingsWindowPublic,
)

router = APIRouter(responses=AUTH_ERRORS)


HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SAVINGS_CONFIDENCE = 0.90
MODEL_TTL_S = 3600.0  # a fitted baseline is reused this long (its data is history)


def _hourly_register(
    store: Any, field: str, entities: list[str], start_ms: int, end_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hour starts in ``[start_ms, end_ms)`` and the register usage of each hour, summed over
    the entity's devices (:func:`accounting.activity.register_usage`, resets and swaps
    handled there); NaN where no device covered the hour."""
    from accounting.activity import DEFAULT_MAX_RATE_PER_HOUR, register_usage

    hours = np.arange(start_ms, end_ms, HOUR_MS, dtype=np.int64)
    total = np.zeros(hours.size)
    covered = np.zeros(hours.size, dtype=bool)
    series = store.series(field, start_ms, end_ms + HOUR_MS, entities=entities, previous=True)
    rate = DEFAULT_MAX_RATE_PER_HOUR.get(field, 1e9)
    for s in series.values():
        ts, v = np.asarray(s.ts_ms, dtype=np.int64), np.asarray(s.values, dtype=float)
        if ts.size < 2:
            continue
        lo = np.clip(np.searchsorted(ts, hours, "right") - 1, 0, None)
        hi = np.searchsorted(ts, hours + HOUR_MS, "left") + 1
        for i in np.nonzero(hi - lo >= 2)[0]:
            u = register_usage(ts[lo[i] : hi[i]], v[lo[i] : hi[i]], int(hours[i]),
                               int(hours[i]) + HOUR_MS, max_rate_per_hour=rate)  # fmt: skip
            if u.coverage > 0.5:
                total[i] += u.total
                covered[i] = True
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
class _LineData:
    hours: np.ndarray
    energy: np.ndarray
    temp: np.ndarray
    output: np.ndarray | None
    warnings: list[str]


def _line_hours(store: Any, line: Any, start_ms: int, end_ms: int) -> _LineData:
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
    return _LineData(hours, energy, temp, output if has_output else None, warnings)


def _daily(data: _LineData) -> Any:
    """Local-day totals (energy, output) and mean temperature; a day needs 90 % of its hours."""
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


def _profile_dates(line: Any) -> tuple[date, date, date | None]:
    from accounts.closing import profile_of

    prof = profile_of(line)
    if prof.baseline_start is None or prof.baseline_end is None:
        raise ApiError(
            409,
            "no_baseline_period",
            f"line {line.id!r} has no baseline_start/baseline_end in the registry: add them "
            "(`tanzhang registry`) to measure its savings",
        )
    return prof.baseline_start, prof.baseline_end, prof.intervention_date


def _local_ms(d: date) -> int:
    return site_calendar().midnight_ms(d)


def _baseline_model(app_state: Any, store: Any, line: Any) -> Any:
    """The line's fitted baseline (CalTRACK-style daily model + hourly profile), cached."""
    from accounting.baseline import fit_line_baseline
    from accounting.errors import AccountingError
    from accounting.savings import fit_hourly_profile

    b0, b1, _ = _profile_dates(line)
    cache = app_state.__dict__.setdefault("savings_models", {})
    key = (line.id, b0, b1)
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < MODEL_TTL_S:
        return hit[1]
    try:
        data = _line_hours(store, line, _local_ms(b0), _local_ms(b1) + DAY_MS)
        model = fit_line_baseline(_daily(data))
        fit_hourly_profile(model, data.hours, data.energy, data.output,
                           utc_offset_h=site_calendar().utc_offset_h())  # fmt: skip
    except AccountingError as exc:
        raise ApiError(
            409,
            "insufficient_baseline_data",
            f"the baseline of line {line.id!r} ({b0} to {b1}) cannot be fitted: {exc}",
        ) from None
    cache[key] = (time.monotonic(), model)
    return model


def _grid_ef(line: Any) -> float:
    from accounts.closing import profile_of

    return float(_factor_set("cn-mee-2023", None).value(profile_of(line).grid_factor_key))


def _model_public(model: Any) -> BaselineModelPublic:
    return BaselineModelPublic(
        model_type=model.model_type,
        baseline_start=model.baseline_start,
        baseline_end=model.baseline_end,
        coefficients={k: float(v) for k, v in model.coefficients.items()},
        n_days=model.n,
        r_squared=model.r_squared,
        cvrmse=model.cvrmse,
        nmbe=model.nmbe,
        warnings=[getattr(w, "qualified_name", None) or str(w) for w in model.warnings],
    )


def _window_public(model: Any, w: dict[str, Any], ef: float) -> SavingsWindowPublic:
    """A rolling window with its uncertainty: ASHRAE G14 FSU with the daily model's
    CV(RMSE) and m = the window's days rounded up (at least one; conservative for
    sub-day windows)."""
    from accounting.errors import AccountingError
    from accounting.savings import fractional_savings_uncertainty

    u_kwh = None
    if w["hours"] > 0:
        try:
            u_kwh, _ = fractional_savings_uncertainty(
                cvrmse=model.cvrmse, n_baseline=model.n, n_params=model.n_params,
                rho1=model.rho1, m_reporting=max(1, -(-w["hours"] // 24)),
                predicted_kwh=w["predicted_kwh"], avoided_kwh=w["avoided_kwh"],
                confidence=SAVINGS_CONFIDENCE,
            )  # fmt: skip
        except AccountingError:
            u_kwh = None
    u_t = None if u_kwh is None else u_kwh * ef / 1000
    t = w["avoided_t_co2"]
    return SavingsWindowPublic(
        metered_kwh=w["metered_kwh"],
        predicted_kwh=w["predicted_kwh"],
        avoided_kwh=w["avoided_kwh"],
        avoided_t_co2=t,
        uncertainty_kwh=u_kwh,
        uncertainty_t_co2=u_t,
        lower_t_co2=None if u_t is None else t - u_t,
        upper_t_co2=None if u_t is None else t + u_t,
        hours=w["hours"],
    )


def _line(registry: Any, principal: Principal, entity_id: str, lookup: Any) -> Any:
    ensure_visible(principal, entity_id, lookup)
    line = registry.entities.get(entity_id)
    if line is None or line.kind != "line":
        kind = line.kind if line is not None else "unregistered entity"
        raise ApiError(422, "not_a_line", f"{entity_id!r} is a {kind}; savings are for lines")
    return line


@router.get(
    "/lines/{entity_id}/savings",
    tags=["factories"],
    summary="Rolling savings of a line against its baseline: last 2 h, today, since intervention",
    responses=error_responses(404, 409),
)
def line_savings(
    entity_id: EntityId,
    request: Request,
    principal: PrincipalDep,
    registry: RegistryDep,
    store: StoreDep,
    lookup: LookupDep,
) -> LineSavingsPublic:
    from accounting.savings import rolling_figures

    line = _line(registry, principal, entity_id, lookup)
    _, _, intervention = _profile_dates(line)
    model = _baseline_model(request.app.state, store, line)
    now_ms = clock.now_ms()
    start_ms = _local_ms(intervention) if intervention else now_ms - DAY_MS
    start_ms = max(start_ms, now_ms - 400 * DAY_MS) // HOUR_MS * HOUR_MS
    data = _line_hours(store, line, start_ms, now_ms)
    ef = _grid_ef(line)
    windows = rolling_figures(
        model, data.hours, data.energy, data.temp, data.output, now_ms=now_ms,
        intervention_ms=start_ms, grid_ef_kg_per_kwh=ef, utc_offset_h=site_calendar().utc_offset_h(),
    )  # fmt: skip
    return LineSavingsPublic(
        entity_id=entity_id,
        intervention_date=intervention.isoformat() if intervention else None,
        confidence=SAVINGS_CONFIDENCE,
        grid_ef_kg_per_kwh=ef,
        model=_model_public(model),
        windows={k: _window_public(model, w, ef) for k, w in windows.items()},
        warnings=data.warnings
        + ([] if intervention else ["savings.no_intervention_date: windows start 24 h ago"]),
    )


@router.get(
    "/lines/{entity_id}/savings/periods",
    tags=["factories"],
    summary="Savings of a line per day or month, with uncertainty (ASHRAE Guideline 14)",
    responses=error_responses(404, 409),
)
def line_savings_periods(
    entity_id: EntityId,
    request: Request,
    principal: PrincipalDep,
    registry: RegistryDep,
    store: StoreDep,
    lookup: LookupDep,
    period: Annotated[Literal["day", "month"], Query()] = "day",
    start: StartQ = None,
    end: EndQ = None,
) -> list[PeriodSavingsPublic]:
    from accounting.baseline import DailyData
    from accounting.errors import AccountingError
    from accounting.savings import compute_savings

    line = _line(registry, principal, entity_id, lookup)
    model = _baseline_model(request.app.state, store, line)
    lo, hi = window(period, start, end)
    lo_ms = max(int(lo.timestamp() * 1000), clock.now_ms() - 800 * DAY_MS)
    hi_ms = min(int(hi.timestamp() * 1000), clock.now_ms())
    if hi_ms - lo_ms < DAY_MS:
        return []
    daily = _daily(_line_hours(store, line, lo_ms // HOUR_MS * HOUR_MS, hi_ms))
    ef = _grid_ef(line)
    keys = daily.dates.astype(f"datetime64[{'D' if period == 'day' else 'M'}]")
    out = []
    for k in np.unique(keys):
        sel = keys == k
        part = DailyData(daily.dates[sel], daily.energy_kwh[sel], daily.temp_c[sel],
                         None if daily.output_units is None else daily.output_units[sel])  # fmt: skip
        try:
            r = compute_savings(model, part, grid_ef_kg_per_kwh=ef, confidence=SAVINGS_CONFIDENCE)
        except AccountingError:
            continue
        first = k.astype("datetime64[D]").astype(object)
        nxt = (k + 1).astype("datetime64[D]").astype(object)
        out.append(
            PeriodSavingsPublic(
                period_start=datetime.fromtimestamp(_local_ms(first) / 1000, UTC),
                period_end=datetime.fromtimestamp(_local_ms(nxt) / 1000, UTC),
                n_days=r.n_days,
                predicted_kwh=r.predicted_kwh,
                metered_kwh=r.metered_kwh,
                avoided_kwh=r.avoided_kwh,
                fractional_savings=r.fractional_savings,
                uncertainty_kwh=r.uncertainty_kwh,
                fsu=None if not np.isfinite(r.fsu) else r.fsu,
                avoided_t_co2=r.avoided_t_co2,
                uncertainty_t_co2=r.uncertainty_t_co2,
            )
        )
    return out


# -- factory benchmarking ------------------------------------------------------------------
@router.get(
    "/factories/benchmarks",
    tags=["factories"],
    summary="Factories against their benchmark intensity: K, colour, and the two lists",
)
def factory_benchmarks(
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    lookup: LookupDep,
    period: Annotated[PeriodKind, Query()] = "year",
) -> BenchmarksPublic:
    """Uses each visible factory's latest statement of ``period`` and its registry attributes
    ``industry_code`` (GB/T 4754) and, when set, ``benchmark_tco2e_per_10k_cny`` (the factory's
    own benchmark); otherwise the packaged industry table (docs/benchmarks.md)."""
    from accounting.benchmarking import benchmark_factories

    conds = [Account.kind == "factory"]
    clause = visible_clause(principal)
    if clause is not None:
        conds.append(clause)
    stmts, starts, codes, overrides = [], {}, {}, {}
    for acct in session.scalars(select(Account).where(*conds).order_by(Account.entity_id)):
        try:
            ps = _latest_statement(session, acct, period)
            stmt = _engine_statement(ps)
        except ApiError:
            continue
        ent = registry.entities.get(acct.entity_id)
        attrs = ent.attrs if ent is not None else {}
        if attrs.get("industry_code"):
            codes[acct.entity_id] = str(attrs["industry_code"])
        if attrs.get("benchmark_tco2e_per_10k_cny"):
            overrides[acct.entity_id] = float(attrs["benchmark_tco2e_per_10k_cny"])
        stmts.append(stmt)
        starts[acct.entity_id] = ps.period_start
    doc = benchmark_factories(stmts, industry_codes=codes, overrides=overrides)
    results = [
        FactoryBenchmarkPublic(**r, period_start=starts[r["entity_id"]]) for r in doc["results"]
    ]
    return BenchmarksPublic(
        results=results,
        poor_performers=doc["poor_performers"],
        low_green_share=doc["low_green_share"],
    )
