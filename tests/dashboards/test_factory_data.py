"""Today's figures of the factory page, worked by hand, on both stores."""

from __future__ import annotations

import pytest

from dashboards.factory_data import factory_summary, local_midnight_ms
from telemetry.model import Reading
from telemetry.registry import Registry

# 2026-03-10 00:00 in UTC+8 is 2026-03-09 16:00 UTC
MIDNIGHT = 1_773_072_000_000
MIN = 60_000
NOW = MIDNIGHT + 90 * MIN


def _registry() -> Registry:
    return Registry.from_dict(
        {
            "entities": [
                {"id": "f1", "kind": "factory"},
                {"id": "l1", "kind": "line", "parent": "f1", "name": "Line 1"},
            ],
            "devices": [{"id": "m1", "entity": "l1", "role": "electricity_meter"}],
        }
    )


READINGS = [
    Reading("l1", "m1", MIDNIGHT - 10 * MIN, {"energy_kwh_total": 100.0, "power_kw": 50.0}),
    Reading("l1", "m1", MIDNIGHT + 50 * MIN, {"energy_kwh_total": 160.0, "power_kw": 70.0}),
    Reading("l1", "m1", MIDNIGHT + 80 * MIN, {"energy_kwh_total": 200.0, "power_kw": 75.5}),
]


def test_local_midnight_is_china_standard_time():
    assert local_midnight_ms(NOW) == MIDNIGHT
    assert local_midnight_ms(MIDNIGHT - 1) == MIDNIGHT - 86_400_000


def _check(summary: dict) -> None:
    [line] = summary["lines"]
    # the interval straddling midnight (-10 -> +50 min, 60 kWh) counts 50/60 of its 60 kWh,
    # then 40 kWh: 50 + 40 = 90 kWh; CO2 = 90 kWh x 0.5306 kg/kWh (MEE/NBS 2023) = 0.047754 t
    assert line["energy_today_kwh"] == pytest.approx(90.0)
    assert line["grid_factor"]["value"] == 0.5306
    assert line["co2_today_t"] == pytest.approx(0.047754)
    assert line["power_kw"] == {"value": 75.5, "ts_ms": MIDNIGHT + 80 * MIN}
    assert summary["devices"] == [
        {"id": "m1", "entity": "l1", "role": "electricity_meter", "last_ts_ms": MIDNIGHT + 80 * MIN}
    ]
    assert summary["day_start_ms"] == MIDNIGHT
    # 5-minute buckets of the trend, one per reading
    assert line["trend"]["kw"] == [50.0, 70.0, 75.5]


def test_factory_summary_on_sqlite(tmp_path):
    from telemetry.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    store.ensure_ready()
    store.write(readings=READINGS)
    try:
        _check(factory_summary(store, _registry(), "f1", now_ms=NOW))
    finally:
        store.close()


@pytest.mark.servers
@pytest.mark.filterwarnings("ignore:unclosed file.*(influxd|stdout)\\.log:ResourceWarning")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*(influxd|stdout)\\.log:pytest.PytestUnraisableExceptionWarning"
)
def test_factory_summary_on_influxdb(influxd_session):
    from telemetry.influx import InfluxStore

    store = InfluxStore(influxd_session.url, db="dashboards_summary", retention=None)
    store.ensure_ready()
    store.write(readings=READINGS)
    try:
        _check(factory_summary(store, _registry(), "f1", now_ms=NOW))
    finally:
        store.close()
