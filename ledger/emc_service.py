"""EMC savings in money, as a service (:class:`EmcService`) the ``/v1/lines/{id}/emc`` routes
and the credit report call: a line's energy-management contract (registry attribute ``emc``), its measured savings
from :mod:`ledger.savings_service` valued in CNY and shared between the partner and the
owner. The money arithmetic is :mod:`accounting.emc` (pure); this module is the glue.

Reporting period of the contract: the local days from ``max(start_date, intervention)`` to
``min(end_date, now)`` (the savings service's rule: days after the baseline, at most 800
days back). Per local month (or day), the avoided kWh and their ASHRAE G14 uncertainty are
exactly the savings service's figures for the same days (``/v1/lines/{id}/savings/periods``
restricted to the contract); the price is the tariff weighted by the hourly baseline
prediction of the month's metered hours (:func:`accounting.emc.weighted_price`; for a model
with a production term and no output data in the window, by the metered hourly energy).
To date: the value and each share are the sums of the monthly statements (so they add up to
what was invoiced month by month); the uncertainty to date is the G14 uncertainty of all
reporting days at the prediction-weighted price of all their hours (not a sum of the
monthly ones: G14 accounts for the autocorrelation over the whole period).

Fuel: a contract may price gas and steam, but the savings service measures a line's
electricity only, so fuel savings are not valued yet (a warning says so).

Errors: :class:`ledger.errors.NoEmcContract` (``no_emc_contract``),
:class:`ledger.errors.EmcUnavailable` (``invalid_emc_contract``, ``emc_not_started``,
``no_emc_savings_yet``) and the savings service's
:class:`ledger.errors.BaselineUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np

from ledger import savings_service as sv
from ledger.errors import EmcUnavailable, NoEmcContract
from sitetime import clock
from sitetime.calendar import site_calendar


def contract_of(line: Any) -> Any:
    """The line's :class:`accounting.emc.EmcContract`; :class:`~ledger.errors.NoEmcContract`
    without one, :class:`~ledger.errors.EmcUnavailable` ``invalid_emc_contract`` for one
    that does not parse."""
    from accounting.emc import EmcContractError, parse_contract

    raw = (getattr(line, "attrs", None) or {}).get("emc")
    if raw is None:
        raise NoEmcContract(
            f"line {line.id!r} has no energy-management contract in the registry "
            "(attribute emc, docs/registry.md)",
            details={"reason": "no_emc_contract"},
        )
    try:
        return parse_contract(raw)
    except EmcContractError as exc:  # the registry checks on load; an edit in memory may not
        raise EmcUnavailable(
            f"the EMC contract of line {line.id!r} is invalid: {exc}",
            code="invalid_emc_contract",
            details={"reason": "invalid_emc_contract"},
        ) from None


@dataclass
class EmcStatements:
    """Statements of a line's EMC: the contract, one row per period, the total to date
    (None without a row) and notes."""

    contract: Any
    rows: list[dict[str, Any]]
    to_date: dict[str, Any] | None
    factor_set: str
    warnings: list[str]


def _row(v: Any, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "avoided_kwh": v.avoided_kwh,
        "uncertainty_kwh": v.uncertainty_kwh,
        "price_cny_per_kwh": v.price_cny_per_kwh,
        "value_cny": v.value_cny,
        "uncertainty_cny": v.uncertainty_cny,
        "partner_share": v.partner_share,
        "partner_share_cny": v.partner_cny,
        "owner_share_cny": v.owner_cny,
        "significant": v.significant,
    }


def emc_statements(
    savings: sv.SavingsService,
    line: Any,
    period: str = "month",
    lo: datetime | None = None,
    hi: datetime | None = None,
) -> EmcStatements:
    """The line's EMC statements per local ``period`` (``month`` | ``day``) in ``[lo, hi)``
    (default: the whole contract), by the rules of the module docstring, with the baselines
    and store of ``savings``.

    Raises :class:`~ledger.errors.NoEmcContract`; :class:`~ledger.errors.EmcUnavailable`
    ``emc_not_started`` (the contract starts after today) or ``invalid_emc_contract``; and
    the savings service's :class:`~ledger.errors.BaselineUnavailable` (no baseline,
    insufficient baseline data, model not qualified).
    """
    from accounting.baseline import DailyData
    from accounting.emc import value_savings, weighted_price
    from accounting.errors import AccountingError, InvalidSeriesError
    from accounting.savings import compute_savings, predict_hourly

    contract = contract_of(line)
    cal = site_calendar()
    today = cal.today()
    if contract.start > today:
        raise EmcUnavailable(
            f"the EMC contract of line {line.id!r} starts on {contract.start}: no savings "
            "to share yet",
            code="emc_not_started",
            details={"reason": "emc_not_started", "start_date": contract.start.isoformat()},
        )
    win = sv.baseline_window(line)
    model = savings.baseline_model(line)
    ref, ef = savings.grid_factor(line)
    warnings: list[str] = []
    if contract.fuel_prices:
        warnings.append(
            "emc.fuel_not_valued: the contract prices "
            f"{', '.join(sorted(contract.fuel_prices))}, but the savings service measures "
            "electricity only; fuel savings are not valued"
        )
    if win.intervention is not None and contract.start < win.intervention:
        warnings.append(
            f"emc.starts_before_intervention: the contract starts {contract.start}, the "
            f"measure on {win.intervention}; days before the measure are baseline, not shared"
        )
    c_lo = cal.midnight(contract.start)
    c_hi = cal.midnight(contract.end + timedelta(days=1)) if contract.end else None
    lo = max(lo, c_lo) if lo is not None else c_lo
    hi_req = hi if hi is not None else clock.now()
    hi = min(hi_req, c_hi) if c_hi is not None else hi_req
    lo_ms, hi_ms = sv.reporting_range(line, win, lo, hi)
    if hi_ms - lo_ms < sv.DAY_MS:
        return EmcStatements(contract, [], None, ref, warnings)
    lo_dt = datetime.fromtimestamp(lo_ms / 1000, UTC)
    hi_dt = datetime.fromtimestamp(hi_ms / 1000, UTC)
    data = sv.line_hours(savings.store, line, lo_ms // sv.HOUR_MS * sv.HOUR_MS, hi_ms)
    d = sv.daily(data)
    rows = sv.period_rows(model, d, period, ef)
    # hourly weights of the tariff: the baseline prediction of each metered hour
    off = int(cal.utc_offset_h() * sv.HOUR_MS)
    local = data.hours + off
    hod = (local % sv.DAY_MS) // sv.HOUR_MS
    unit: Literal["D", "M"] = "D" if period == "day" else "M"
    hkey = (local // sv.DAY_MS).astype("datetime64[D]").astype(f"datetime64[{unit}]")
    try:
        pred = predict_hourly(model, data.hours, data.temp, data.output,
                              utc_offset_h=cal.utc_offset_h())  # fmt: skip
    except InvalidSeriesError:  # a production term without output data in the window
        pred = data.energy
        warnings.append("emc.tariff_weighted_by_metered_energy: no output data for the "
                        "hourly prediction")  # fmt: skip
    weights = np.where(np.isfinite(data.energy) & np.isfinite(pred), pred, np.nan)
    out = []
    total_fen = partner_fen = owner_fen = 0
    for r in rows:
        first = cal.local_date(r["period_start"])
        key = np.datetime64(first, unit)
        sel = hkey == key
        price = weighted_price(contract.tariff, hod[sel], weights[sel])
        share = contract.partner_share_on(max(first, contract.start))
        v = value_savings(r["avoided_kwh"], r["uncertainty_kwh"], price, share)
        total_fen += v.value_fen
        partner_fen += v.partner_fen
        owner_fen += v.owner_fen
        # the statement covers the period's part inside the contract, up to now
        out.append(
            _row(
                v,
                period_start=max(r["period_start"], lo_dt),
                period_end=min(r["period_end"], hi_dt),
                n_days=r["n_days"],
                predicted_kwh=r["predicted_kwh"],
                metered_kwh=r["metered_kwh"],
            )  # fmt: skip
        )
    to_date = None
    if out:
        try:
            whole = compute_savings(
                model,
                DailyData(d.dates, d.energy_kwh, d.temp_c, d.output_units),
                grid_ef_kg_per_kwh=ef,
                confidence=sv.SAVINGS_CONFIDENCE,
            )
            u_kwh, avoided = whole.uncertainty_kwh, whole.avoided_kwh
        except AccountingError:
            u_kwh, avoided = float("nan"), float(sum(r["avoided_kwh"] for r in out))
        price = weighted_price(contract.tariff, hod, weights)
        to_date = {
            "period_start": out[0]["period_start"],
            "period_end": out[-1]["period_end"],
            "periods": len(out),
            "n_days": int(sum(r["n_days"] for r in out)),
            "avoided_kwh": avoided,
            "uncertainty_kwh": u_kwh,
            "price_cny_per_kwh": price,
            "value_cny": total_fen / 100,
            "uncertainty_cny": u_kwh * price,
            "partner_share_cny": partner_fen / 100,
            "owner_share_cny": owner_fen / 100,
        }
    return EmcStatements(contract, out, to_date, ref, warnings)


def this_month(rows: list[dict[str, Any]], today: date) -> dict[str, Any] | None:
    """The row of the local month of ``today`` among monthly ``rows`` (None: none yet)."""
    cal = site_calendar()
    for r in rows:
        first = cal.local_date(r["period_start"])
        if (first.year, first.month) == (today.year, today.month):
            return r
    return None


class EmcService:
    """EMC statements of the lines of one savings service (its store, registry and cached
    baselines). ``tanzhang.app.create_app`` makes one per app (``app.state.emc``; routes reach
    it through ``api.deps.EmcDep``)."""

    def __init__(self, savings: sv.SavingsService) -> None:
        self.savings = savings

    def statements(
        self,
        line: Any,
        period: str = "month",
        lo: datetime | None = None,
        hi: datetime | None = None,
        *,
        require_savings: bool = False,
    ) -> EmcStatements:
        """:func:`emc_statements`; with ``require_savings``, a contract without a reporting
        day with data raises :class:`~ledger.errors.EmcUnavailable` ``no_emc_savings_yet``."""
        st = emc_statements(self.savings, line, period, lo, hi)
        if require_savings and not st.rows:
            raise EmcUnavailable(
                f"the EMC contract of line {line.id!r} (from {st.contract.start}) has no "
                "reporting day with data yet",
                code="no_emc_savings_yet",
                details={
                    "reason": "no_emc_savings_yet",
                    "start_date": st.contract.start.isoformat(),
                },
            )
        return st
