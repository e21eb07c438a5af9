"""EMC routes: a line's energy-management contract and its savings in money
(:mod:`ledger.emc_service`, :mod:`accounting.emc`). Visible to whoever may see the line
(as ``/v1/lines/{id}/savings``: admins, operators, energy managers of its factory)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import EmcDep, VisibleLine
from api.errors import AUTH_ERRORS, error_responses
from api.routes.common import EndQ, StartQ, window
from api.schemas import EmcPublic, EmcStatementPublic, EmcToDatePublic
from ledger import emc_service, savings_service
from sitetime.calendar import site_calendar

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


METHOD = (
    "Avoided kWh ± U from the line's savings (CalTRACK daily baseline, ASHRAE Guideline 14 "
    "uncertainty); price = tariff weighted by the baseline-predicted hourly load; value "
    "rounded to the fen; partner's share = share × value (to the fen), owner's share = the "
    "rest (shared-savings EMC, GB/T 24915-2020 type 节能效益分享型; pricing rule proposed "
    "by tanzhang, docs/accounting.md)"
)


@router.get(
    "/lines/{entity_id}/emc",
    tags=["factories"],
    summary="A line's energy-management contract and its savings in money to date",
    responses=error_responses(404, 409),
)
def line_emc(line: VisibleLine, emc: EmcDep) -> EmcPublic:
    """404 ``no_emc_contract``; 409 ``emc_not_started`` and the savings' 409s
    (``insufficient_baseline_data`` …); ``this_month`` and ``to_date`` are null until the
    contract has a reporting day with data."""
    st = emc.statements(line, "month")
    today = site_calendar().today()
    month = emc_service.this_month(st.rows, today)
    return EmcPublic(
        entity_id=line.id,
        contract=st.contract.as_dict(today),
        confidence=savings_service.SAVINGS_CONFIDENCE,
        factor_set=st.factor_set,
        this_month=EmcStatementPublic(**month) if month else None,
        to_date=EmcToDatePublic(**st.to_date) if st.to_date else None,
        method=METHOD,
        warnings=st.warnings,
    )


@router.get(
    "/lines/{entity_id}/emc/statements",
    tags=["factories"],
    summary="EMC statements per month (or day): avoided kWh, value in CNY, each party's share",
    responses=error_responses(404, 409),
)
def line_emc_statements(
    line: VisibleLine,
    emc: EmcDep,
    period: Annotated[Literal["month", "day"], Query()] = "month",
    start: StartQ = None,
    end: EndQ = None,
) -> list[EmcStatementPublic]:
    """The contract's periods in ``[start, end)`` (default: the whole contract). 409
    ``no_emc_savings_yet`` when the contract has no reporting day with data."""
    lo = hi = None
    if start is not None or end is not None:
        lo, hi = window(period, start, end)
    st = emc.statements(line, period, lo, hi, require_savings=lo is None and hi is None)
    return [EmcStatementPublic(**r) for r in st.rows]
