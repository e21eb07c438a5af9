"""The vectorised hourly register usage of the savings service equals the per-hour
:func:`accounting.activity.register_usage` it replaces (issue 11), on a register with a
gap, a reset and a jump."""

from __future__ import annotations

import numpy as np
import pytest

from accounting.activity import DEFAULT_MAX_RATE_PER_HOUR, register_usage
from ledger.savings_service import HOUR_MS, _hourly_register
from telemetry.model import Reading


def test_vectorised_hours_equal_register_usage(tmp_path):
    from telemetry.sqlite import SqliteStore

    rng = np.random.default_rng(5)
    t0 = 1_767_196_800_000  # 2026-01-01 00:00 Asia/Shanghai
    ts = t0 - 300_000 + np.arange(0, 3 * 24 * 12) * 300_000  # 5-min readings, 3 days
    use = rng.uniform(1, 20, ts.size)
    reg = 1000 + np.cumsum(use)
    keep = ~((ts > t0 + 10 * HOUR_MS) & (ts < t0 + 13 * HOUR_MS))  # a 3-hour gap
    reg[ts >= t0 + 30 * HOUR_MS] -= reg[ts >= t0 + 30 * HOUR_MS][0] - 5  # a meter reset
    reg[ts >= t0 + 50 * HOUR_MS] += 1e9  # an implausible jump (capped)
    ts, reg = ts[keep], reg[keep]
    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    store.ensure_ready()
    store.write(readings=[Reading("l1", "m1", int(t), {"energy_kwh_total": float(v)})
                          for t, v in zip(ts, reg, strict=True)])  # fmt: skip
    try:
        hours, got = _hourly_register(store, "energy_kwh_total", ["l1"], t0, t0 + 72 * HOUR_MS)
    finally:
        store.close()
    rate = DEFAULT_MAX_RATE_PER_HOUR["energy_kwh_total"]
    for i, h in enumerate(hours.tolist()):
        u = register_usage(ts, reg, h, h + HOUR_MS, max_rate_per_hour=rate)
        if u.coverage > 0.5:
            assert got[i] == pytest.approx(u.total), i
        else:
            assert np.isnan(got[i]), i
    assert np.isnan(got[11]) and np.isfinite(got[9])


def test_hourly_backfill_then_live_readings_every_10_s(tmp_path):
    """The demo's store: hourly back-filled registers, then live readings every 10 s from
    10:00. The back-filled hours are covered (the reading rate changes, not the coverage);
    the hour still open at now (10:04) is missing."""
    from telemetry.sqlite import SqliteStore

    t0 = 1_767_196_800_000  # 2026-01-01 00:00 Asia/Shanghai
    back = t0 + np.arange(0, 11) * HOUR_MS  # 00:00 .. 10:00
    live = t0 + 10 * HOUR_MS + np.arange(1, 25) * 10_000  # 10:00:10 .. 10:04:00
    ts = np.concatenate([back, live])
    reg = 500 + 100.0 * (ts - t0) / HOUR_MS  # 100 kWh an hour
    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    store.ensure_ready()
    store.write(readings=[Reading("l1", "m1", int(t), {"energy_kwh_total": float(v)})
                          for t, v in zip(ts, reg, strict=True)])  # fmt: skip
    try:
        _, got = _hourly_register(store, "energy_kwh_total", ["l1"], t0, t0 + 11 * HOUR_MS)
    finally:
        store.close()
    assert got[:10] == pytest.approx([100.0] * 10)
    assert np.isnan(got[10])
