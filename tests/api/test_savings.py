"""Line savings and factory benchmarking through the API, on a simulated line with a known
saving: 400 days of hourly data, weekday/weekend load, production and temperature terms,
and a 12 % cut from the intervention 40 days ago. The avoided energy must be recovered
within the stated uncertainty band (widened by the simulated noise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sitetime import clock
from sitetime.calendar import site_calendar
from sitetime.clock import Clock, use_clock
from telemetry.model import Reading
from tests.api.conftest import World, build_world

HOUR = 3_600_000
SAVING = 0.12
#: the product's clock for this module: 10:00 on 1 January (local), so the 40 days since the
#: intervention and the 400 days of history straddle a year end
NOW = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _site_clock() -> Iterator[Clock]:
    """Every fixture and test here reads the fixed :data:`NOW`, not the day the tests run."""
    with use_clock(NOW) as c:
        yield c


def _simulate(store, now_ms: int, intervention_ms: int) -> float:
    """Hourly registers for line-a1 (energy, output) and factory-a temperature; return the
    true avoided energy since the intervention [kWh]."""
    rng = np.random.default_rng(7)
    t = np.arange(now_ms - 400 * 24 * HOUR, now_ms, HOUR) // HOUR * HOUR
    local = (t + int(site_calendar().utc_offset_h() * HOUR)) // HOUR
    hour, day = local % 24, local // 24
    weekend = ((day + 3) % 7) >= 5
    temp = 18 + 10 * np.sin(2 * np.pi * day / 365.25) + rng.normal(0, 1, t.size)
    output = np.where((hour >= 8) & (hour < 20) & ~weekend, 40.0, 5.0)
    cf = 30 + 2.0 * output + 1.5 * np.clip(temp - 22, 0, None) + rng.normal(0, 3, t.size)
    cf = np.clip(cf, 1, None)
    actual = np.where(t >= intervention_ms, cf * (1 - SAVING), cf)
    done = (t >= intervention_ms) & (t + HOUR <= now_ms)
    energy_reg = 1000 + np.concatenate([[0], np.cumsum(actual)[:-1]])
    output_reg = np.concatenate([[0], np.cumsum(output)[:-1]])
    store.write(
        readings=[
            Reading(
                "line-a1",
                "meter-a1",
                int(ts),
                {"energy_kwh_total": float(e), "output_units_total": float(q)},
            )
            for ts, e, q in zip(t, energy_reg, output_reg, strict=True)
        ]
        + [
            Reading("factory-a", "weather-a", int(ts), {"air_temp_c": float(x)})
            for ts, x in zip(t, temp, strict=True)
        ]
    )
    return float((cf[done] - actual[done]).sum())


@pytest.fixture(scope="module")
def line_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, float]:
    from telemetry.registry import Device, Entity

    intervention = site_calendar().today() - timedelta(days=40)
    tmp: Path = tmp_path_factory.mktemp("savings")
    w = build_world(tmp)
    line = w.registry.entities["line-a1"]
    line.attrs.update(
        baseline_start=(intervention - timedelta(days=366)).isoformat(),
        baseline_end=(intervention - timedelta(days=1)).isoformat(),
        intervention_date=intervention.isoformat(),
    )
    w.registry.add_device(Device("weather-a", "factory-a", "weather_station"))
    w.registry.entities["factory-a"].attrs["benchmark_tco2e_per_10k_cny"] = 0.5
    assert isinstance(w.registry.entities["factory-a"], Entity)
    intervention_ms = site_calendar().midnight_ms(intervention)
    truth = _simulate(w.store, clock.now_ms(), intervention_ms)
    yield w, truth
    w.store.close()
    w.app.state.engine.dispose()


def test_rolling_savings_recover_the_injected_cut(line_world: tuple[World, float]) -> None:
    w, truth = line_world
    r = w.client.get("/v1/lines/line-a1/savings", headers=w.h("em"))
    assert r.status_code == 200, r.text
    body = r.json()
    since = body["windows"]["since_intervention"]
    assert since["hours"] >= 39 * 24
    assert since["uncertainty_kwh"] > 0
    assert abs(since["avoided_kwh"] - truth) <= since["uncertainty_kwh"] + 0.03 * truth
    assert since["avoided_t_co2"] == pytest.approx(
        since["avoided_kwh"] * body["grid_ef_kg_per_kwh"] / 1000
    )
    assert since["lower_t_co2"] < since["avoided_t_co2"] < since["upper_t_co2"]
    assert body["model"]["cvrmse"] < 0.25
    assert set(body["windows"]) == {"last_2h", "today", "since_intervention"}


def test_period_savings(line_world: tuple[World, float]) -> None:
    w, truth = line_world
    start = (site_calendar().today() - timedelta(days=30)).isoformat()
    r = w.client.get(
        f"/v1/lines/line-a1/savings/periods?period=day&start={start}", headers=w.h("em")
    )
    assert r.status_code == 200, r.text
    days = r.json()
    assert len(days) >= 25
    mean_frac = np.mean([d["fractional_savings"] for d in days])
    assert mean_frac == pytest.approx(SAVING, abs=0.03)


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("operator", 200), ("em", 200), ("agro", 403), ("holder", 403)],
)
def test_savings_by_role(line_world: tuple[World, float], role: str, status: int) -> None:
    w, _ = line_world
    assert w.client.get("/v1/lines/line-a1/savings", headers=w.h(role)).status_code == status


def test_savings_without_baseline_is_409(world: World) -> None:
    r = world.client.get("/v1/lines/line-b1/savings", headers=world.h("admin"))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_baseline_period"


def test_savings_of_an_orchard_is_422(world: World) -> None:
    r = world.client.get("/v1/lines/orchard-1/savings", headers=world.h("admin"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "not_a_line"


@pytest.mark.parametrize("role", ["admin", "operator", "em", "agro", "holder"])
def test_benchmarks_list_only_visible_factories(world: World, role: str) -> None:
    body = world.client.get("/v1/factories/benchmarks", headers=world.h(role)).json()
    ids = {r["entity_id"] for r in body["results"]}
    expected = {"factory-a", "factory-b"} & {
        "admin": {"factory-a", "factory-b"},
        "operator": {"factory-a", "factory-b"},
        "em": {"factory-a"},
    }.get(role, set())
    assert ids == expected


# -- baseline window, why no savings, control lines, factor set (issue 9) --------------------
@contextmanager
def _attrs(w: World, **changes: str | None):
    """line-a1's registry attributes changed for one test (None removes one)."""
    attrs = w.registry.entities["line-a1"].attrs
    saved = dict(attrs)
    for k, v in changes.items():
        if v is None:
            attrs.pop(k, None)
        else:
            attrs[k] = v
    try:
        yield
    finally:
        attrs.clear()
        attrs.update(saved)


def test_baseline_is_the_365_days_before_the_intervention(line_world) -> None:
    """CalTRACK 2.0: baseline = the 365 days before the intervention, whatever earlier
    baseline_start the registry names (here 600 days before)."""
    w, _ = line_world
    inter = datetime.fromisoformat(w.registry.entities["line-a1"].attrs["intervention_date"])
    early = (inter - timedelta(days=600)).date().isoformat()
    with _attrs(w, baseline_start=early, baseline_end=None):
        body = w.client.get("/v1/lines/line-a1/savings", headers=w.h("em")).json()
    m = body["model"]
    assert m["baseline_end"] == (inter - timedelta(days=1)).date().isoformat()
    # the data begin 400 days before now = 360 days before the intervention
    assert m["baseline_start"] >= (inter - timedelta(days=365)).date().isoformat()
    assert 329 <= m["n_days"] <= 365


def test_short_baseline_is_409_with_days_available_and_required(line_world) -> None:
    """An intervention 200 days after the data begin: 200 of the 365 days are there."""
    w, _ = line_world
    start = site_calendar().today() - timedelta(days=400)
    inter = start + timedelta(days=200)
    with _attrs(w, intervention_date=inter.isoformat(), baseline_end=None, baseline_start=None):
        r = w.client.get("/v1/lines/line-a1/savings", headers=w.h("em"))
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "insufficient_baseline_data"
    d = err["details"]
    assert d["days_required"] == 365 and d["min_days_with_data"] == 329
    assert 197 <= d["days_with_data"] <= 200
    assert d["baseline_end"] == (inter - timedelta(days=1)).isoformat()
    assert "days with data" in err["message"]


def test_line_without_intervention_has_no_since_intervention(line_world) -> None:
    w, _ = line_world
    end = w.registry.entities["line-a1"].attrs["baseline_end"]
    with _attrs(w, intervention_date=None, baseline_end=end):
        r = w.client.get("/v1/lines/line-a1/savings", headers=w.h("em"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intervention_date"] is None
    assert set(body["windows"]) == {"last_2h", "today"}
    assert any(x.startswith("savings.no_intervention") for x in body["warnings"])


def test_savings_priced_with_the_entitys_factor_set(line_world) -> None:
    """cn-mee-2023-east-china: electricity.grid = East China 2023, 0.5500 kg CO2/kWh."""
    w, _ = line_world
    with _attrs(w, factor_set="cn-mee-2023-east-china"):
        body = w.client.get("/v1/lines/line-a1/savings", headers=w.h("em")).json()
    assert body["factor_set"] == "cn-mee-2023-east-china"
    assert body["grid_ef_kg_per_kwh"] == 0.55
    since = body["windows"]["since_intervention"]
    assert since["avoided_t_co2"] == pytest.approx(since["avoided_kwh"] * 0.55 / 1000)
    default = w.client.get("/v1/lines/line-a1/savings", headers=w.h("em")).json()
    assert (default["factor_set"], default["grid_ef_kg_per_kwh"]) == ("cn-mee-2023", 0.5306)
