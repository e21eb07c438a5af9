"""Today's figures of the factory page, worked by hand, on both stores."""

from __future__ import annotations

import pytest

from ledger.factory_today import factory_summary, local_midnight_ms
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


# -- every source, PV counted once, the entity's factor set (issue 9) -----------------------
def _registry_all_sources(factor_set: str | None = None) -> Registry:
    factory: dict = {"id": "f1", "kind": "factory"}
    if factor_set:
        factory["factor_set"] = factor_set
    return Registry.from_dict(
        {
            "entities": [factory, {"id": "l1", "kind": "line", "parent": "f1", "name": "Line 1"}],
            "devices": [
                {"id": "m1", "entity": "l1", "role": "electricity_meter"},
                {"id": "g1", "entity": "l1", "role": "gas_meter"},
                {"id": "s1", "entity": "l1", "role": "steam_meter"},
                {"id": "pv1", "entity": "f1", "role": "pv_meter"},
                {"id": "gf", "entity": "f1", "role": "gas_meter"},
            ],
        }
    )


ALL_SOURCES = [
    *READINGS,
    Reading("l1", "g1", MIDNIGHT, {"gas_m3_total": 100.0}),
    Reading("l1", "g1", MIDNIGHT + 80 * MIN, {"gas_m3_total": 110.0}),
    Reading("l1", "s1", MIDNIGHT, {"steam_t_total": 5.0}),
    Reading("l1", "s1", MIDNIGHT + 80 * MIN, {"steam_t_total": 6.0}),
    Reading("f1", "pv1", MIDNIGHT, {"pv_kwh_total": 1000.0}),
    Reading("f1", "pv1", MIDNIGHT + 80 * MIN, {"pv_kwh_total": 1030.0}),
    Reading("f1", "gf", MIDNIGHT, {"gas_m3_total": 0.0}),
    Reading("f1", "gf", MIDNIGHT + 80 * MIN, {"gas_m3_total": 5.0}),
]
# cn-mee-2023 natural gas (GB/T 32150-2015 form): NCV 389.31 GJ/10^4 Nm3 x 15.30 t C/TJ
# x 1e-3 x oxidation 0.99 x 44/12 = 2.16219e-3 t CO2/Nm3
GAS_T_PER_M3 = 389.31e-4 * 15.30e-3 * 0.99 * 44 / 12
# purchased steam (MEE guideline): 1 t x (2778 - 83.74) kJ/kg x 1e-3 = 2.69426 GJ x 0.11 t/GJ
STEAM_T_PER_T = (2778 - 83.74) * 1e-3 * 0.11


@pytest.mark.parametrize(("factor_set", "grid"), [(None, 0.5306), ("cn-mee-2023-east-china", 0.55)])
def test_emissions_today_count_every_source_and_pv_once(tmp_path, factor_set, grid):
    """Line: 90 kWh used, 10 Nm3 gas, 1 t steam; factory: 30 kWh PV, 5 Nm3 gas (boiler).
    Grid import = 90 - 30 = 60 kWh at the grid factor, PV at zero; the line carries the
    import share 60/90 of its electricity."""
    from telemetry.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    store.ensure_ready()
    store.write(readings=ALL_SOURCES)
    try:
        s = factory_summary(store, _registry_all_sources(factor_set), "f1", now_ms=NOW)
    finally:
        store.close()
    [line] = s["lines"]
    assert line["energy_today_kwh"] == pytest.approx(90.0)
    assert line["grid_factor"]["value"] == grid
    assert line["electricity_ef_effective_kg_per_kwh"] == pytest.approx(grid * 60 / 90)
    line_t = 60 * grid / 1000 + 10 * GAS_T_PER_M3 + STEAM_T_PER_T
    assert line["co2_today_t"] == pytest.approx(line_t, rel=1e-6)
    today = s["today"]
    assert (today["electricity_use_kwh"], today["pv_kwh"], today["grid_import_kwh"]) == (
        pytest.approx(90.0),
        pytest.approx(30.0),
        pytest.approx(60.0),
    )
    assert today["co2_t"] == pytest.approx(line_t + 5 * GAS_T_PER_M3, rel=1e-6)
    assert today["co2_by_source_t"]["electricity"] == pytest.approx(60 * grid / 1000)
    assert today["co2_by_source_t"].get("onsite_pv", 0.0) == 0.0
    assert today["factor_set"] == (factor_set or "cn-mee-2023")
