"""Factory routes: line savings against the baseline (rolling and per period, with
uncertainty; computed by :mod:`ledger.savings_service`) and benchmarking lists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from access.roles import Principal
from api.deps import (
    LookupDep,
    PrincipalDep,
    RegistryDep,
    SavingsDep,
    SessionDep,
    ensure_visible,
)
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import EntityId
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    _engine_statement,
    _latest_statement,
    visible_clause,
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
from ledger import savings_service
from ledger.models import Account

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
    principal: PrincipalDep,
    registry: RegistryDep,
    lookup: LookupDep,
    savings: SavingsDep,
) -> LineSavingsPublic:
    """Windows against the line's CalTRACK baseline (the 365 days before the intervention;
    :mod:`ledger.savings_service`). ``since_intervention`` only for a line with an
    intervention. 409 ``no_baseline_period`` / ``insufficient_baseline_data`` (details: days
    with data and days required) / ``baseline_model_not_qualified`` say why there is none."""
    line = _line(registry, principal, entity_id, lookup)
    r = savings.rolling(line)
    return LineSavingsPublic(
        entity_id=entity_id,
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
    entity_id: EntityId,
    principal: PrincipalDep,
    registry: RegistryDep,
    lookup: LookupDep,
    savings: SavingsDep,
    period: Annotated[Literal["day", "month"], Query()] = "day",
    start: StartQ = None,
    end: EndQ = None,
) -> list[PeriodSavingsPublic]:
    line = _line(registry, principal, entity_id, lookup)
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
