"""A saving injected by the simulator is recovered within the stated 90 % uncertainty.

The demo fleet's line-a3 (variable-speed drives, −12 %) and line-b3 (compressed-air VSD,
−15 %) get an intervention; the simulator also returns the counterfactual use, so the true
avoided energy is known (IPMVP: counterfactual − metered). The baseline is the 365 days
before the intervention (CalTRACK 2.0), the reporting period runs to the day before TODAY.
"""

from datetime import date, timedelta

import pytest

from accounting.baseline import DailyData, fit_line_baseline
from accounting.savings import compute_savings
from simulators.factory import line_daily_truth
from simulators.fleet import demo_fleet

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
    assert model.cvrmse <= 0.25  # METHODOLOGY §7 single-line qualification
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
