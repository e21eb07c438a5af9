"""Many-window register totals equal the single-window function; daily data from raw series."""

import numpy as np
import pytest

from accounting.activity import register_usage
from accounting.baseline import fit_line_baseline
from accounting.errors import InvalidSeriesError
from accounting.resample import (
    daily_data_from_series,
    gauge_means,
    hour_edges,
    local_day_edges,
    reading_counts,
    register_totals,
)

H = 3_600_000


def test_vector_equals_scalar_register_usage():
    rng = np.random.default_rng(5)
    ts = np.sort(rng.integers(0, 48 * H, 400))
    v = np.cumsum(rng.uniform(0, 20, 400))
    v[150:] -= v[150] - 3.0  # a reset
    v[300:] += 5e5  # an implausible jump
    edges = hour_edges(-H, 50)
    vec = register_totals(ts, v, edges, max_rate_per_hour=2000)
    scalar = [
        register_usage(ts, v, int(a), int(b), max_rate_per_hour=2000).total
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    assert np.allclose(vec, scalar, rtol=1e-12, atol=1e-9)


def test_local_day_edges_shanghai():
    e = local_day_edges("2025-01-01", 2)
    # 2025-01-01 00:00 +08:00 = 2024-12-31T16:00Z = 1735660800000 ms
    assert e[0] == 1_735_660_800_000 and np.all(np.diff(e) == 86_400_000)


def test_gauge_means_and_counts():
    ts = np.array([0, H, 2 * H, 25 * H])
    v = np.array([10.0, 20.0, 30.0, 5.0])
    edges = np.array([0, 24 * H, 48 * H, 72 * H])
    m = gauge_means(ts, v, edges)
    assert m[0] == 20.0 and m[1] == 5.0 and np.isnan(m[2])
    assert list(reading_counts(ts, edges)) == [3, 1, 0]
    with pytest.raises(InvalidSeriesError):
        gauge_means(ts, v, [0])


def test_daily_data_from_hourly_registers_fits_a_baseline():
    rng = np.random.default_rng(9)
    n_days = 366
    e0 = local_day_edges("2025-01-01", n_days)[0]
    ts = e0 + np.arange(-1, n_days * 24 + 1) * H
    hours = ts.size
    doy = (ts - e0) / 86_400_000
    temp = 17 - 10 * np.cos(2 * np.pi * (doy - 15) / 365) + rng.normal(0, 1, hours)
    out_h = np.full(hours, 40.0)
    kwh_h = 80 + 3 * out_h + 5 * np.maximum(14 - temp, 0) + rng.normal(0, 5, hours)
    d = daily_data_from_series(
        "2025-01-01",
        365,
        (ts, np.cumsum(kwh_h)),
        (ts, temp),
        (ts, np.cumsum(out_h)),
        max_rate_per_hour={"energy_kwh_total": 1e4, "output_units_total": 1e4},
    )
    assert d.dates.size == 365 and np.all(np.isfinite(d.energy_kwh))
    # each local day holds 24 hourly increments: 24 × 40 units of output
    assert np.allclose(d.output_units, 960.0)
    m = fit_line_baseline(d)
    assert "output" not in m.coefficients  # constant output carries no information
    # a warm weekday: 24 h × (80 + 3 × 40) kWh = 4800 kWh
    warm = m.predict(np.array(["2025-07-01"], dtype="datetime64[D]"), [20.0], [960.0])
    assert warm[0] == pytest.approx(4800, rel=0.02)
    # 5 kWh/h per °C below 14 °C: 120 kWh per °C·d
    assert m.coefficients["hdd"] == pytest.approx(120, rel=0.15)
