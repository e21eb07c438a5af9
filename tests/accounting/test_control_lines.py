"""Control lines (no intervention) show no saving: over a simulated year, every window's
band contains zero at the stated rate (issue 9).

The demo fleet's lines without an intervention (line-a1, line-a2, line-b1, line-b2) are
simulated hour by hour for 2025 (baseline: 365 days, CalTRACK 2.0) and 2026 (reporting).
The simulator's truth is "no change", so avoided energy is pure model error; a window's 90 %
band (:func:`ledger.savings_service.window_uncertainty`, the code path of
``GET /v1/lines/{id}/savings``) may exclude zero in at most 10 % of the windows, and the
mean of each month's 16–18 h windows (the "+8 %" of the issue) must be inside its band.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from accounting.baseline import DailyData, fit_line_baseline
from accounting.savings import compute_savings, fit_hourly_profile, predict_hourly, rolling_figures
from ledger.savings_service import window_uncertainty
from simulators.factory import line_daily_truth, line_year
from simulators.fleet import demo_fleet
from simulators.weather import weather_start_ms, weather_year

H = 3_600_000
SEED = 7
NOMINAL_MISS = 0.10  # 90 % bands


def _controls():
    fleet = demo_fleet(SEED, today=date(2026, 12, 31))
    return [ln for f in fleet.factories for ln in f.lines if not ln.intervention_date]


def _hourly(line):
    """Hourly kWh, output and temperature of 2025-2026 from the simulator's 15-min slots."""
    ly = [line_year(line, SEED, y) for y in (2025, 2026)]
    wx = [weather_year(SEED, line.site, y) for y in (2025, 2026)]

    def hourly(parts, how):
        a = np.concatenate(parts).reshape(-1, 4)
        return a.sum(axis=1) if how == "sum" else a.mean(axis=1)

    kwh = hourly([y.kwh for y in ly], "sum")
    ts = weather_start_ms(2025) + np.arange(kwh.size, dtype=np.int64) * H
    return ts, kwh, hourly([y.units for y in ly], "sum"), hourly([w.air_temp_c for w in wx], "mean")


def _daily(d):
    return DailyData(d["date"].astype("datetime64[D]"), d["kwh"], d["mean_temp_c"], d["units"])


@pytest.fixture(scope="module", params=_controls(), ids=lambda ln: ln.id)
def control(request):
    line = request.param
    ts, kwh, units, temp = _hourly(line)
    model = fit_line_baseline(
        _daily(line_daily_truth(line, date(2025, 1, 1), date(2025, 12, 31), SEED))
    )
    base = ts < weather_start_ms(2026)
    fit_hourly_profile(model, ts[base], kwh[base], units[base], temp_c=temp[base])
    return line, model, ts, kwh, units, temp


def test_two_hour_windows_contain_zero(control):
    line, model, ts, kwh, units, temp = control
    rep = ts >= weather_start_ms(2026)
    pred = predict_hourly(model, ts[rep], temp[rep], units[rep])
    e = kwh[rep]
    p2, e2 = pred[1:] + pred[:-1], e[1:] + e[:-1]
    u = np.array([
        window_uncertainty(model, {"hours": 2, "predicted_kwh": p, "avoided_kwh": p - m})
        for p, m in zip(p2, e2, strict=True)
    ])  # fmt: skip
    miss = np.abs(p2 - e2) > u
    assert miss.mean() <= NOMINAL_MISS, (line.id, miss.mean())
    start_hour = ((ts[rep][:-1] + 8 * H) // H) % 24
    late = start_hour == 16  # the 16-18 h window of every day
    assert miss[late].mean() <= NOMINAL_MISS
    # no systematic bias at 16-18 h in any month: the month's mean is inside the mean band
    month = np.asarray(ts[rep][:-1] + 8 * H, dtype="datetime64[ms]").astype("datetime64[M]")
    for mo in np.unique(month):
        sel = late & (month == mo)
        assert abs(np.mean(p2[sel] - e2[sel])) <= np.mean(u[sel]), (line.id, mo)


def test_today_and_year_contain_zero(control):
    """``today`` at 23:00 local on each day of 2026 (23 complete hours) and the whole year."""
    line, model, ts, kwh, units, temp = control
    rep = ts >= weather_start_ms(2026)
    misses = 0
    for day in range(0, 365, 7):  # every week: rolling_figures as the API calls it
        now = weather_start_ms(2026) + day * 86_400_000 + 23 * H
        sel = (ts >= now - 26 * H) & (ts < now)
        fig = rolling_figures(model, ts[sel], kwh[sel], temp[sel], units[sel], now_ms=now,
                              intervention_ms=None, grid_ef_kg_per_kwh=0.5306)  # fmt: skip
        assert set(fig) == {"last_2h", "today"}
        w = fig["today"]
        assert w["hours"] == 23
        misses += abs(w["avoided_kwh"]) > window_uncertainty(model, w)
    assert misses / 53 <= NOMINAL_MISS
    year = line_daily_truth(line, date(2026, 1, 1), date(2026, 12, 31), SEED)
    s = compute_savings(model, _daily(year), grid_ef_kg_per_kwh=0.5306)
    assert abs(s.avoided_kwh) <= s.uncertainty_kwh
    assert rep.sum() == 365 * 24
