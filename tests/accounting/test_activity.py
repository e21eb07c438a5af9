"""Register deltas, resets, swaps, jump caps, gauge integration and coverage (hand-worked)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.activity import data_coverage, integrate_gauge, register_usage
from accounting.activity_data import activity_from_series
from accounting.errors import InvalidSeriesError

H = 3_600_000
M5 = 300_000


def test_simple_register_and_prior_reading():
    # readings every 5 min, 10 kWh per interval; one reading before the window and the
    # first one at/after its end, as the closing job passes them
    ts = np.arange(-1, 13) * M5
    v = 1000.0 + 10.0 * np.arange(14)
    u = register_usage(ts, v, 0, H, max_rate_per_hour=1000)
    assert u.total == pytest.approx(120.0)  # 12 intervals ending inside the hour
    assert (u.resets, u.swaps, u.capped) == (0, 0, 0)
    assert u.coverage == pytest.approx(1.0)


def test_windows_add_up_with_linear_apportioning():
    ts = np.array([0, 40 * 60_000, 100 * 60_000])  # 0, 40 min, 100 min
    v = np.array([0.0, 40.0, 100.0])
    a = register_usage(ts, v, 0, H, max_rate_per_hour=1000)
    b = register_usage(ts, v, H, 2 * H, max_rate_per_hour=1000)
    # the 40->100 min interval (60 kWh) is split 20/40 across the hour boundary
    assert a.total == pytest.approx(60.0)
    assert b.total == pytest.approx(40.0)
    assert a.total + b.total == pytest.approx(100.0)


def test_reset_counts_from_zero():
    ts = np.arange(5) * M5
    v = np.array([5000.0, 5010.0, 5020.0, 4.0, 14.0])  # reset to 0 then 4 kWh used
    u = register_usage(ts, v, 0, 5 * M5, max_rate_per_hour=1000)
    assert u.resets == 1 and u.swaps == 0
    assert u.total == pytest.approx(10 + 10 + 4 + 10)


def test_swap_is_not_negative_use():
    ts = np.arange(5) * M5
    v = np.array([5000.0, 5010.0, 5020.0, 300.0, 310.0])  # new meter starting at 300
    u = register_usage(ts, v, 0, 5 * M5, max_rate_per_hour=1000)  # 1000 kWh/h -> 83 kWh per 5 min
    assert u.swaps == 1 and u.resets == 0
    assert u.total == pytest.approx(30.0)
    assert u.total >= 0
    assert u.coverage < 1.0


def test_implausible_jump_is_capped():
    ts = np.arange(5) * M5
    v = np.array([0.0, 10.0, 1e6, 1e6 + 10, 1e6 + 20])
    u = register_usage(ts, v, 0, 5 * M5, max_rate_per_hour=1000)
    assert u.capped == 1
    assert u.capped_amount == pytest.approx(1e6 - 10)
    assert u.total == pytest.approx(30.0)


def test_long_gap_keeps_register_usage_but_lowers_coverage():
    ts = np.array([0, M5, 10 * M5, 11 * M5, 12 * M5])
    v = np.array([0.0, 10.0, 100.0, 110.0, 120.0])
    u = register_usage(ts, v, 0, 12 * M5, max_rate_per_hour=1000, expected_interval_s=300)
    assert u.total == pytest.approx(120.0)
    assert u.coverage == pytest.approx(4 / 12)


def test_unsorted_duplicates_and_nan():
    ts = np.array([2 * M5, 0, M5, M5, 3 * M5])
    v = np.array([20.0, 0.0, 999.0, 10.0, np.nan])
    u = register_usage(ts, v, 0, 3 * M5, max_rate_per_hour=1000)
    assert u.total == pytest.approx(20.0)  # duplicate at M5 keeps the last (10.0)


def test_gauge_integration_trapezoid():
    # 0 -> 100 kW linear over one hour: 50 kWh
    ts = np.array([0, H])
    assert integrate_gauge(ts, [0.0, 100.0], 0, H, max_gap_s=7200).total == pytest.approx(50.0)
    # clipped to the first half hour: mean 25 kW × 0.5 h = 12.5 kWh
    assert integrate_gauge(ts, [0.0, 100.0], 0, H // 2, max_gap_s=7200).total == pytest.approx(12.5)
    # a gap longer than max_gap_s contributes nothing
    g = integrate_gauge(ts, [100.0, 100.0], 0, H, max_gap_s=900)
    assert g.total == 0.0 and g.coverage == 0.0


def test_coverage():
    ts = np.arange(0, H, 60_000)  # every minute
    assert data_coverage(ts, 0, H, expected_interval_s=60) == 1.0
    assert data_coverage(ts[::2], 0, H, expected_interval_s=60) == pytest.approx(0.5)


def test_invalid_input_raises():
    with pytest.raises(InvalidSeriesError):
        register_usage([0, 1], [1.0], 0, H, max_rate_per_hour=10)
    with pytest.raises(InvalidSeriesError):
        register_usage([0, 1], [1.0, 2.0], H, 0, max_rate_per_hour=10)
    with pytest.raises(InvalidSeriesError):
        register_usage([0, 1], [1.0, 2.0], 0, H, max_rate_per_hour=0)
    with pytest.raises(InvalidSeriesError):
        integrate_gauge([0, 1], [1.0, 2.0], 0, H, max_gap_s=-1)


def test_activity_from_series_sums_devices_and_uses_gauge_only_without_register():
    ts = np.arange(0, 13) * M5
    kwh = 10.0 * np.arange(13)
    act = activity_from_series(
        {
            ("m1", "energy_kwh_total"): (ts, kwh),
            ("m2", "energy_kwh_total"): (ts, 2 * kwh),
            "power_kw": (ts, np.full(13, 1e4)),
        },
        [{"type": "harvest", "id": "h", "mass_t": 2.0}],
        start_ms=0,
        end_ms=H,
    )
    assert act.electricity_kwh == pytest.approx(360.0)
    assert act.events.harvest_t == 2.0
    assert act.coverage == pytest.approx(1.0)
    act2 = activity_from_series({"power_kw": (ts, np.full(13, 120.0))}, start_ms=0, end_ms=H)
    assert act2.electricity_kwh == pytest.approx(120.0)


def test_activity_from_series_takes_events_from_a_generator():
    # the events are read twice (first data, then the totals): a one-shot iterable used to
    # give its events to the first reading only, and the totals came out empty
    events = [{"type": "harvest", "id": "h", "mass_t": 2.0, "ts_ms": 10 * M5}]
    act = activity_from_series({}, (ev for ev in events), start_ms=0, end_ms=H)
    assert act.events.harvest_t == 2.0
    assert act.first_data_ms == 10 * M5


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.floats(min_value=-500, max_value=50, allow_nan=False), min_size=2, max_size=40
    ),
    gaps=st.lists(st.integers(min_value=1, max_value=20), min_size=40, max_size=40),
    cut=st.floats(min_value=0.0, max_value=1.0),
)
def test_property_windows_partition_and_never_negative(steps, gaps, cut):
    """Any register (with resets, swaps and jumps) split at any point: the two windows add
    up to the whole, and no usage is ever negative."""
    ts = np.cumsum(np.array(gaps[: len(steps)]) * 60_000)
    v = np.maximum(np.cumsum(steps) + 1000, 0)
    start, end = int(ts[0]), int(ts[-1]) + 1
    mid = start + int((end - start) * cut)
    whole = register_usage(ts, v, start, end, max_rate_per_hour=3000)
    assert whole.total >= 0
    if start < mid < end:
        a = register_usage(ts, v, start, mid, max_rate_per_hour=3000)
        b = register_usage(ts, v, mid, end, max_rate_per_hour=3000)
        assert a.total >= 0 and b.total >= 0
        assert a.total + b.total == pytest.approx(whole.total, rel=1e-9, abs=1e-9)


# --- single implausible readings (issue 9: a 1e9 kWh reading must never add energy) -------
def test_single_implausible_reading_adds_nothing_and_is_reported():
    # hourly site meter, 50 kWh/h, one reading of 1e9 kWh at 10:00 between normal ones. Before
    # the fix the jump was capped and the drop back read as a reset worth the whole register
    # (1,450 kWh); the day must stay at the true 24 × 50 = 1,200 kWh and name the reading.
    ts = np.arange(-1, 26) * H
    v = 1000.0 + 50.0 * np.arange(27)
    v[11] = 1e9
    u = register_usage(ts, v, 0, 24 * H, max_rate_per_hour=50_000)
    assert u.total == pytest.approx(1200.0)
    assert (u.resets, u.swaps, u.capped, u.dropped) == (0, 0, 0, 1)
    assert u.dropped_readings == ([10 * H, 1e9],)
    act = activity_from_series({"energy_kwh_total": (ts, v)}, start_ms=0, end_ms=24 * H)
    assert act.electricity_kwh == pytest.approx(1200.0)
    assert act.quality["energy_kwh_total"]["dropped"] == 1


def test_single_dip_is_not_a_reset_but_a_real_reset_is():
    ts = np.arange(0, 4) * H
    dip = register_usage(ts, [1000.0, 5.0, 1010.0, 1020.0], 0, 3 * H, max_rate_per_hour=1000)
    assert dip.total == pytest.approx(20.0) and dip.resets == 0 and dip.dropped == 1
    reset = register_usage(ts, [1000.0, 5.0, 15.0, 25.0], 0, 3 * H, max_rate_per_hour=1000)
    assert reset.total == pytest.approx(25.0) and reset.resets == 1 and reset.dropped == 0


@settings(max_examples=60, deadline=None)
@given(
    spike=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    at=st.integers(min_value=1, max_value=22),
    rate=st.floats(min_value=0.0, max_value=100.0),
)
def test_a_spike_anywhere_never_adds_energy(spike, at, rate):
    ts = np.arange(0, 24) * H
    true = 500.0 + rate * np.arange(24)
    v = true.copy()
    v[at] = spike
    u = register_usage(ts, v, 0, 23 * H, max_rate_per_hour=1000)
    assert u.total <= rate * 23 + 1e-6
    assert u.total >= rate * 23 - 1e-6 or u.dropped == 0
