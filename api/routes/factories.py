"""Factory routes: line savings against the baseline (rolling and per period, with
uncertainty; computed by :class:`ledger.savings_service.SavingsService`) and benchmarking
lists (:mod:`ledger.benchmark_service`). A line of the path is :data:`api.deps.VisibleLine`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import (
    RegistryDep,
    SavingsDep,
    ScopeDep,
    SessionDep,
    VisibleLine,
)
from api.errors import AUTH_ERRORS, error_responses
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    window,
)
from api.schemas import (
    BaselineModelPublic,
    BenchmarksPublic,
    FactoryBenchmarkPublic,
    LineSavingsPublic,
    PeriodSavingsPublic,
    SavingsWindowPublic,
)
from ledger import benchmark_service, savings_service

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


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


def _window_public(w: dict[str, Any], ef: float) -> SavingsWindowPublic:
    """A rolling window with its uncertainty (:func:`ledger.savings_service.window_uncertainty`)."""
    u_kwh = w.get("uncertainty_kwh")
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


@router.get(
    "/lines/{entity_id}/savings",
    tags=["factories"],
    summary="Rolling savings of a line against its baseline: last 2 h, today, since intervention",
    responses=error_responses(404, 409),
)
def line_savings(line: VisibleLine, savings: SavingsDep) -> LineSavingsPublic:
    """Windows against the line's CalTRACK baseline (the 365 days before the intervention;
    :mod:`ledger.savings_service`). ``since_intervention`` only for a line with an
    intervention. 409 ``no_baseline_period`` / ``insufficient_baseline_data`` (details: days
    with data and days required) / ``baseline_model_not_qualified`` say why there is none."""
    r = savings.rolling(line)
    return LineSavingsPublic(
        entity_id=line.id,
        intervention_date=r.window.intervention.isoformat() if r.window.intervention else None,
        confidence=savings_service.SAVINGS_CONFIDENCE,
        grid_ef_kg_per_kwh=r.grid_ef_kg_per_kwh,
        factor_set=r.factor_set,
        model=_model_public(r.model),
        windows={k: _window_public(w, r.grid_ef_kg_per_kwh) for k, w in r.windows.items()},
        warnings=r.warnings,
    )


@router.get(
    "/lines/{entity_id}/savings/periods",
    tags=["factories"],
    summary="Savings of a line per day or month, with uncertainty (ASHRAE Guideline 14)",
    responses=error_responses(404, 409),
)
def line_savings_periods(
    line: VisibleLine,
    savings: SavingsDep,
    period: Annotated[Literal["day", "month"], Query()] = "day",
    start: StartQ = None,
    end: EndQ = None,
) -> list[PeriodSavingsPublic]:
    lo, hi = window(period, start, end)
    rows, _, _ = savings.periods(line, period, lo, hi)
    return [PeriodSavingsPublic(**row) for row in rows]


# -- factory benchmarking ------------------------------------------------------------------
@router.get(
    "/factories/benchmarks",
    tags=["factories"],
    summary="Factories against their benchmark intensity: K, colour, and the two lists",
)
def factory_benchmarks(
    scope: ScopeDep,
    session: SessionDep,
    registry: RegistryDep,
    period: Annotated[PeriodKind, Query()] = "year",
) -> BenchmarksPublic:
    """Uses each visible factory's latest statement of ``period`` and its registry attributes
    ``industry_code`` (GB/T 4754) and, when set, ``benchmark_tco2e_per_10k_cny`` (the factory's
    own benchmark); otherwise the packaged industry table (docs/benchmarks.md)."""
    b = benchmark_service.factory_benchmarks(session, registry, scope, period)
    return BenchmarksPublic(
        results=[FactoryBenchmarkPublic(**r) for r in b.results],
        poor_performers=b.poor_performers,
        low_green_share=b.low_green_share,
    )
