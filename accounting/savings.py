"""Measured savings of a line: avoided energy and CO2, fractional savings uncertainty,
hourly predictions and rolling figures for the live dashboard.

Avoided energy (CalTRACK 2.0 §4, IPMVP): ``AEU = Σ (Ê_d − E_d)`` over reporting days with a
metered value; avoided CO2 = AEU × grid factor.

Hourly predictions (choice documented in docs/accounting.md): the daily model is spread
over the hours with the baseline's **hourly load profiles, one per component** of the daily
model (weekday and weekend rows of 24 shares each), and the production term follows the
hour's own output::

    Ê_h = s_base[w, h]·(β0 + β_we·W) + s_C[w, h]·β_C·CDD(T̄_d) + s_H[w, h]·β_H·HDD(T̄_d)
          + β_out·Q_h

with ``T̄_d`` the mean temperature of the hour's local day over the hours given (for the
current day: the hours so far). One profile for the whole non-production load would put the
average year's afternoon cooling hump on every day: on a cold day it over-predicts the
afternoon and shows a false "saving" of several per cent in a 2-hour window (issue 9: +8 %
at 16–18 h on control lines in December). Each component's shares are the per-hour
regression coefficients of the baseline load on that component (rows normalised to 1), so
summed over a whole day the hourly prediction equals the daily prediction exactly.
Degree-days of the daily mean, as in the daily model, and not of each hour: hourly
degree-days would overstate the load on days that swing around the balance point (Jensen's
inequality).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from accounting.baseline import (
    DailyData,
    Floats,
    LineBaselineModel,
    cooling_degree_days,
    heating_degree_days,
)
from accounting.errors import InsufficientDataError, InvalidSeriesError
from accounting.units import MS_PER_HOUR

#: ASHRAE G14 / Sun & Baltazar (2013) polynomial coefficients (a, b, d) by interval.
FSU_COEFFICIENTS = {"daily": (-0.00024, 0.03535, 1.00286), "billing": (-0.00022, 0.03306, 0.94054)}
HOURLY_FSU_FACTOR = 1.26


def fractional_savings_uncertainty(
    *,
    cvrmse: float,
    n_baseline: int,
    n_params: int,
    rho1: float,
    m_reporting: int,
    predicted_kwh: float,
    avoided_kwh: float,
    confidence: float = 0.90,
    interval: str = "daily",
) -> tuple[float, float]:
    """Absolute and fractional savings uncertainty (ASHRAE G14 with Sun & Baltazar 2013).

    ``U = t · (a·M² + b·M + d) · CV(RMSE) · √[(n/n′)(1 + 2/n′)(1/m)] · Ê_reporting``,
    ``n′ = n(1 − ρ₁)/(1 + ρ₁)``, ``FSU = U / AEU``.

    Parameters
    ----------
    cvrmse : float
        Baseline CV(RMSE) [-].
    n_baseline, n_params : int
        Baseline points n and model parameters p (t has n − p degrees of freedom).
    rho1 : float
        Lag-1 autocorrelation of baseline residuals [-].
    m_reporting : int
        Reporting points m; M = m/30 months for daily data.
    predicted_kwh : float
        Baseline-predicted energy of the reporting period Ê [kWh].
    avoided_kwh : float
        Avoided energy AEU [kWh].
    confidence : float
        Two-tailed confidence level [-], default 0.90.
    interval : str
        ``daily`` | ``billing`` | ``hourly`` (hourly uses the factor 1.26).

    Returns
    -------
    (float, float)
        U [kWh] and FSU [-] (inf when AEU = 0).

    References
    ----------
    ASHRAE Guideline 14-2014 Annex B; Sun, Y. & Baltazar, J.C. (2013) ASHRAE Trans. 119(1);
    CalTRACK 2.0; OpenDSM ``opendsm/common/metrics.py`` (docs/methodology.md §7).
    """
    if m_reporting < 1 or n_baseline <= n_params:
        raise InsufficientDataError(
            "not enough points for an uncertainty", ["savings.too_few_points"]
        )
    t = stats.t.ppf(1 - (1 - confidence) / 2, n_baseline - n_params)
    if interval == "hourly":
        poly = HOURLY_FSU_FACTOR
    else:
        a, b, d = FSU_COEFFICIENTS[interval]
        months = m_reporting / 30.0 if interval == "daily" else m_reporting
        poly = a * months**2 + b * months + d
    rho = min(max(rho1, 0.0), 0.99)  # negative autocorrelation is not credited
    n_prime = n_baseline * (1 - rho) / (1 + rho)
    u = (
        t
        * poly
        * cvrmse
        * np.sqrt((n_baseline / n_prime) * (1 + 2 / n_prime) / m_reporting)
        * predicted_kwh
    )
    return float(u), float(u / abs(avoided_kwh)) if avoided_kwh else float("inf")


@dataclass
class SavingsResult:
    """Savings over a reporting period. Energies [kWh], CO2 [t CO2]."""

    predicted_kwh: float
    metered_kwh: float
    avoided_kwh: float
    fractional_savings: float
    uncertainty_kwh: float
    fsu: float
    confidence: float
    avoided_t_co2: float
    uncertainty_t_co2: float
    n_days: int
    grid_ef_kg_per_kwh: float

    def to_dict(self) -> dict:
        return asdict(self)


def compute_savings(
    model: LineBaselineModel,
    reporting: DailyData,
    *,
    grid_ef_kg_per_kwh: float,
    confidence: float = 0.90,
) -> SavingsResult:
    """Avoided energy and CO2 over reporting days, with uncertainty at ``confidence``.

    Parameters
    ----------
    model : LineBaselineModel
    reporting : DailyData
        Reporting-period days (metered energy, temperature, output).
    grid_ef_kg_per_kwh : float
        Grid factor of the reporting year [kg CO2/kWh] (``factors.value("electricity.grid")``).
    confidence : float
        Two-tailed confidence [-].

    Returns
    -------
    SavingsResult
    """
    pred = model.predict(reporting.dates, reporting.temp_c, reporting.output_units)
    ok = np.isfinite(reporting.energy_kwh) & np.isfinite(pred)
    if not ok.any():
        raise InsufficientDataError("no reporting day with data", ["savings.no_reporting_data"])
    p, e = float(pred[ok].sum()), float(reporting.energy_kwh[ok].sum())
    avoided = p - e
    u, fsu = fractional_savings_uncertainty(
        cvrmse=model.cvrmse,
        n_baseline=model.n,
        n_params=model.n_params,
        rho1=model.rho1,
        m_reporting=int(ok.sum()),
        predicted_kwh=p,
        avoided_kwh=avoided,
        confidence=confidence,
    )
    return SavingsResult(
        p, e, avoided, avoided / p if p else 0.0, u, fsu, confidence,
        avoided * grid_ef_kg_per_kwh / 1000, u * grid_ef_kg_per_kwh / 1000, int(ok.sum()), grid_ef_kg_per_kwh,
    )  # fmt: skip


Ints = npt.NDArray[np.int64]


def _local_hours(ts_ms: npt.ArrayLike, utc_offset_h: float) -> tuple[Ints, Ints, Ints]:
    local = np.asarray(ts_ms, dtype=np.int64) + int(utc_offset_h * MS_PER_HOUR)
    days = local // 86_400_000
    hour = (local % 86_400_000) // MS_PER_HOUR
    weekend = ((days + 3) % 7 >= 5).astype(np.int64)
    return days, hour, weekend


def _components(
    model: LineBaselineModel, day_temp: Floats, we: Ints
) -> dict[str, npt.NDArray[np.floating[Any]]]:
    """Daily model components per hour [kWh/d]: base (intercept + weekend), cdd, hdd."""
    c = model.coefficients
    comp = {"base": c["intercept"] + c.get("weekend", 0.0) * we}
    if "cdd" in c:
        comp["cdd"] = c["cdd"] * cooling_degree_days(day_temp, model.balance_point("cdd"))
    if "hdd" in c:
        comp["hdd"] = c["hdd"] * heating_degree_days(day_temp, model.balance_point("hdd"))
    return comp


def fit_hourly_profile(
    model: LineBaselineModel,
    ts_ms: npt.ArrayLike,
    energy_kwh: npt.ArrayLike,
    output_units: npt.ArrayLike | None = None,
    *,
    temp_c: npt.ArrayLike | None = None,
    utc_offset_h: float = 8.0,
) -> Floats:
    """Baseline hourly shares of the non-production load, per model component and day type.

    Without ``temp_c`` (or for a model without degree-day terms) one profile::

        s[w, h] = mean_h(E_h − β_out·Q_h) / Σ_h mean_h(E_h − β_out·Q_h)

    over baseline hours of day type ``w`` (0 weekday, 1 weekend). With ``temp_c`` and a
    degree-day term, for each (w, h) the load ``L_{d,h} = E − β_out·Q`` of the baseline days
    is regressed (OLS, no intercept) on the day's components ``[base, β_C·CDD_d, β_H·HDD_d]``;
    the coefficients of each component, clipped at 0 and normalised over the 24 hours, are
    its shares (a component with fewer than 10 days of non-zero degree-days keeps the base
    shares). Uniform 1/24 where an hour has no data. Stored in ``model.hourly_profile``
    (base) and ``model.hourly_profiles``; the hourly CV(RMSE), lag-1 autocorrelation and
    number of baseline hours of the resulting hourly model are stored for the uncertainty
    of sub-day windows (:func:`fractional_savings_uncertainty`, ``interval="hourly"``).

    Parameters
    ----------
    ts_ms : array of int64
        Hour-start time stamps [ms, UTC], consecutive hours.
    energy_kwh, output_units : array
        Hourly energy [kWh] and output [units].
    temp_c : array, optional
        Hourly air temperature [°C] (daily means are used).
    utc_offset_h : float
        Local time offset [h] (Asia/Shanghai: 8).

    Returns
    -------
    ndarray (2, 24)
        The base shares.
    """
    ts = np.asarray(ts_ms, dtype=np.int64)
    e = np.asarray(energy_kwh, dtype=float)
    q = np.zeros_like(e) if output_units is None else np.asarray(output_units, dtype=float)
    load = e - model.coefficients.get("output", 0.0) * q
    day, hour, we = _local_hours(ts, utc_offset_h)
    fin = np.isfinite(load)
    prof = np.full((2, 24), 1 / 24)
    for w in (0, 1):
        sel = (we == w) & fin
        sums = np.bincount(hour[sel], load[sel], 24)
        cnt = np.bincount(hour[sel], minlength=24)
        if cnt.min() > 0:
            mean = np.clip(sums / cnt, 0, None)
            if mean.sum() > 0:
                prof[w] = mean / mean.sum()
    profiles = {"base": prof.copy()}
    if temp_c is not None and ("cdd" in model.coefficients or "hdd" in model.coefficients):
        t = _daily_mean_per_hour(day, np.asarray(temp_c, dtype=float))
        comp = _components(model, t, we)
        names = list(comp)
        for k in names[1:]:
            profiles[k] = prof.copy()
        x_all = np.column_stack([comp[k] for k in names])
        for w in (0, 1):
            coef = np.full((24, len(names)), np.nan)
            for h in range(24):
                sel = (we == w) & (hour == h) & fin & np.isfinite(x_all).all(axis=1)
                x = x_all[sel]
                if sel.sum() <= len(names) + 5:
                    continue
                active = [i for i in range(len(names)) if i == 0 or (x[:, i] > 0).sum() >= 10]
                beta, *_ = np.linalg.lstsq(x[:, active], load[sel], rcond=None)
                coef[h, active] = beta
            for i, k in enumerate(names):
                col = np.clip(coef[:, i], 0, None)
                if np.isfinite(col).all() and col.sum() > 0:
                    profiles[k][w] = col / col.sum()
    model.hourly_profile = profiles["base"].tolist()
    model.hourly_profiles = {k: v.tolist() for k, v in profiles.items()}
    pred = predict_hourly(model, ts, temp_c if temp_c is not None else np.full(ts.size, np.nan),
                          None if output_units is None else q, utc_offset_h=utc_offset_h)  # fmt: skip
    ok = np.isfinite(e) & np.isfinite(pred)
    if ok.sum() > model.n_params + 1 and e[ok].mean() > 0:
        r = e[ok] - pred[ok]
        model.hourly_n = int(ok.sum())
        model.hourly_cvrmse = float(np.sqrt(r @ r / (ok.sum() - model.n_params)) / e[ok].mean())
        # lag-1 over consecutive hours only
        idx = np.nonzero(ok)[0]
        pair = np.diff(idx) == 1
        rc = r - r.mean()
        den = float(rc @ rc)
        model.hourly_rho1 = float(np.sum(rc[1:][pair] * rc[:-1][pair]) / den) if den else 0.0
    return prof


def _daily_mean_per_hour(day: Ints, temp: Floats) -> Floats:
    """Mean of the finite temperatures of each hour's local day, broadcast to the hours."""
    if day.size == 0:
        return temp
    _, inv = np.unique(day, return_inverse=True)
    ok = np.isfinite(temp)
    n = np.bincount(inv[ok], minlength=inv.max() + 1)
    s = np.bincount(inv[ok], temp[ok], minlength=inv.max() + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
    return mean[inv]


def predict_hourly(
    model: LineBaselineModel,
    ts_ms: npt.ArrayLike,
    temp_c: npt.ArrayLike,
    output_units: npt.ArrayLike | None = None,
    *,
    utc_offset_h: float = 8.0,
) -> Floats:
    """Predicted hourly energy [kWh] for hour-start time stamps (see module docstring).

    Parameters
    ----------
    ts_ms : array of int64
        Hour-start time stamps [ms].
    temp_c : array
        Hourly air temperature [°C]; the daily mean of each local day is used.
    output_units : array, optional
        Hourly output [units].
    utc_offset_h : float
        Local offset [h].
    """
    c = model.coefficients
    day, hour, we = _local_hours(ts_ms, utc_offset_h)
    t = _daily_mean_per_hour(day, np.asarray(temp_c, dtype=float))
    profs: Mapping[str, npt.ArrayLike] = model.hourly_profiles or {
        "base": model.hourly_profile if model.hourly_profile else np.full((2, 24), 1 / 24)
    }
    base_prof = np.asarray(profs["base"])
    out = np.zeros(day.shape)
    for k, v in _components(model, t, we).items():
        out = out + np.asarray(profs.get(k, base_prof))[we, hour] * v
    if "output" in c:
        if output_units is None:
            raise InvalidSeriesError("this model needs output_units")
        out = out + c["output"] * np.asarray(output_units, dtype=float)
    return out


def rolling_figures(
    model: LineBaselineModel,
    ts_ms: npt.ArrayLike,
    energy_kwh: npt.ArrayLike,
    temp_c: npt.ArrayLike,
    output_units: npt.ArrayLike | None = None,
    *,
    now_ms: int,
    intervention_ms: int | None,
    grid_ef_kg_per_kwh: float,
    utc_offset_h: float = 8.0,
) -> dict[str, dict[str, float]]:
    """Savings for the live dashboard: last 2 hours, today (local), since the intervention.

    Only complete hours (start + 1 h ≤ ``now_ms``) with a metered value count; "last 2 hours"
    are the two complete clock hours before ``now_ms``, "today" starts at local midnight.

    Parameters
    ----------
    ts_ms : array of int64
        Hour-start time stamps [ms] covering at least the windows wanted.
    energy_kwh, temp_c, output_units : array
        Hourly metered energy [kWh], temperature [°C], output [units].
    now_ms : int
        Current time [ms].
    intervention_ms : int or None
        Start of the reporting period [ms]; None for a line without an intervention (a
        control line): no ``since_intervention`` window, the others are still computed.
    grid_ef_kg_per_kwh : float
        [kg CO2/kWh]

    Returns
    -------
    dict
        ``{"last_2h" | "today" | "since_intervention": {"metered_kwh", "predicted_kwh",
        "avoided_kwh", "avoided_t_co2", "hours"}}``
    """
    ts = np.asarray(ts_ms, dtype=np.int64)
    e = np.asarray(energy_kwh, dtype=float)
    pred = predict_hourly(model, ts, temp_c, output_units, utc_offset_h=utc_offset_h)
    off = int(utc_offset_h * MS_PER_HOUR)
    midnight = (now_ms + off) // 86_400_000 * 86_400_000 - off
    windows = {
        "last_2h": now_ms // MS_PER_HOUR * MS_PER_HOUR - 2 * MS_PER_HOUR,  # 2 complete hours
        "today": midnight,
    }
    if intervention_ms is not None:
        windows["since_intervention"] = intervention_ms
    done = (ts + MS_PER_HOUR <= now_ms) & np.isfinite(e) & np.isfinite(pred)
    if intervention_ms is not None:
        done &= ts >= intervention_ms
    out: dict[str, dict[str, float]] = {}
    for name, start in windows.items():
        sel = done & (ts >= start)
        m, p = float(e[sel].sum()), float(pred[sel].sum())
        out[name] = {
            "metered_kwh": m,
            "predicted_kwh": p,
            "avoided_kwh": p - m,
            "avoided_t_co2": (p - m) * grid_ef_kg_per_kwh / 1000,
            "hours": int(sel.sum()),
        }
    return out
