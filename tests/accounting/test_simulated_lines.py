"""A saving injected by the simulator is recovered within the stated 90 % uncertainty.

The demo fleet's line-a3 (variable-speed drives, −12 %) and line-b3 (compressed-air VSD,
−15 %) get an intervention; the simulator also returns the counterfactual use, so the true
avoided energy is known (IPMVP: counterfactual − metered). The baseline is the 365 days
before the intervention (CalTRACK 2.0), the reporting period runs to the day before TODAY.
"""

from datetime import date, timedelta

import numpy as np
import pytest

from accounting.baseline import DailyData, fit_line_baseline
from accounting.savings import compute_savings, fit_hourly_profile, predict_hourly, rolling_figures
from simulators.factory import line_daily_truth, line_year
from simulators.fleet import demo_fleet
from simulators.weather import weather_start_ms, weather_year

H = 3_600_000

TODAY, SEED = date(2026, 6, 30), 7


def _daily(d, key="kwh"):
    return DailyData(d["date"].astype("datetime64[D]"), d[key], d["mean_temp_c"], d["units"])


def _lines_with_intervention():
    fleet = demo_fleet(SEED, today=TODAY)
    return [ln for f in fleet.factories for ln in f.lines if ln.intervention_date]


@pytest.mark.parametrize("line", _lines_with_intervention(), ids=lambda ln: ln.id)
def test_injected_saving_recovered_within_uncertainty(line):
    start = line.intervention_date
    baseline = line_daily_truth(line, start - timedelta(days=365), start - timedelta(days=1), SEED)
    reporting = line_daily_truth(line, start, TODAY - timedelta(days=1), SEED)
    model = fit_line_baseline(_daily(baseline))
    assert model.cvrmse <= 0.25  # docs/methodology.md §7 single-line qualification
    s = compute_savings(model, _daily(reporting), grid_ef_kg_per_kwh=0.5306)
    true_avoided = float((reporting["kwh_counterfactual"] - reporting["kwh"]).sum())
    assert abs(s.avoided_kwh - true_avoided) <= s.uncertainty_kwh
    assert s.fractional_savings == pytest.approx(line.savings_frac, abs=0.02)
    assert s.fsu < 0.5  # ASHRAE G14: uncertainty below 50 % of the savings


def test_control_line_shows_no_saving():
    fleet = demo_fleet(SEED, today=TODAY)
    line = next(ln for f in fleet.factories for ln in f.lines if not ln.intervention_date)
    d0 = TODAY - timedelta(days=485)
    baseline = line_daily_truth(line, d0, d0 + timedelta(days=364), SEED)
    reporting = line_daily_truth(line, d0 + timedelta(days=365), TODAY - timedelta(days=1), SEED)
    s = compute_savings(
        fit_line_baseline(_daily(baseline)), _daily(reporting), grid_ef_kg_per_kwh=0.5306
    )
    assert abs(s.avoided_kwh) <= s.uncertainty_kwh


def _hourly(line):
    """Hourly kWh, counterfactual kWh, output and temperature of 2025-2026 from the
    simulator's 15-minute slots, with hour-start time stamps [ms]."""
    ly = [line_year(line, SEED, y) for y in (2025, 2026)]
    wx = [weather_year(SEED, line.site, y) for y in (2025, 2026)]

    def hourly(parts, how):
        a = np.concatenate(parts).reshape(-1, 4)
        return a.sum(axis=1) if how == "sum" else a.mean(axis=1)

    kwh = hourly([y.kwh for y in ly], "sum")
    ts = weather_start_ms(2025) + np.arange(kwh.size, dtype=np.int64) * H
    return (
        ts,
        kwh,
        hourly([y.kwh_counterfactual for y in ly], "sum"),
        hourly([y.units for y in ly], "sum"),
        hourly([w.air_temp_c for w in wx], "mean"),
    )


@pytest.mark.parametrize("line", _lines_with_intervention(), ids=lambda ln: ln.id)
def test_rolling_figures_on_simulated_hours(line):
    ts, kwh, cf, units, temp = _hourly(line)
    start = line.intervention_date
    inter = weather_start_ms(2025) + (start - date(2025, 1, 1)).days * 86_400_000
    baseline = line_daily_truth(line, start - timedelta(days=365), start - timedelta(days=1), SEED)
    model = fit_line_baseline(_daily(baseline))
    base = (ts >= inter - 365 * 86_400_000) & (ts < inter)
    fit_hourly_profile(model, ts[base], kwh[base], units[base])
    # hourly predictions add up to the daily model over the baseline (no bias from spreading)
    pred = predict_hourly(model, ts[base], temp[base], units[base])
    daily_pred = model.predict(_daily(baseline).dates, baseline["mean_temp_c"], baseline["units"])
    assert pred.sum() == pytest.approx(daily_pred.sum(), rel=0.005)
    # now: 22:30 local on the day before TODAY
    now = inter + (TODAY - timedelta(days=1) - start).days * 86_400_000 + int(22.5 * H)
    done = ts + H <= now
    fig = rolling_figures(
        model, ts[done], kwh[done], temp[done], units[done],
        now_ms=now, intervention_ms=inter, grid_ef_kg_per_kwh=0.5306,
    )  # fmt: skip
    assert (fig["last_2h"]["hours"], fig["today"]["hours"]) == (2, 22)
    since = done & (ts >= inter)
    true_avoided = float((cf - kwh)[since].sum())
    reporting = line_daily_truth(line, start, TODAY - timedelta(days=1), SEED)
    u = compute_savings(model, _daily(reporting), grid_ef_kg_per_kwh=0.5306).uncertainty_kwh
    assert abs(fig["since_intervention"]["avoided_kwh"] - true_avoided) <= u
    assert fig["since_intervention"]["metered_kwh"] == pytest.approx(float(kwh[since].sum()))
