"""Factory benchmarking out of the box: the demo fleet's factories, simulated for June 2026,
closed by the real scheduled month job on a fixed clock, benchmarked through the API against
the packaged industry table (accounting/benchmarks/industry.toml, docs/benchmarks.md).

Nothing in the registry names a benchmark: ``industry_code`` and ``value_added_10k_cny`` come
from :func:`simulators.fleet.demo_fleet`, the benchmark from the table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from access.keys import create_key
from ledger.db import make_session_factory
from ledger.periods import Period
from ledger.scheduler import run_close_job
from simulators.fleet import Fleet, demo_fleet
from simulators.messages import encode
from sitetime.clock import use_clock
from tanzhang.app import create_app
from tanzhang.settings import Settings
from telemetry.contract import Decoder
from telemetry.registry import Registry
from telemetry.sqlite import SqliteStore
from tests.api.conftest import TestClient

TZ = "Asia/Shanghai"
JUNE = Period.containing("month", date(2026, 6, 1), TZ)
#: the table rows the demo's industry codes resolve to (accounting/benchmarks/industry.toml)
EXPECTED_ROWS = {"factory-a": ("C1713", 1.0), "factory-b": ("C3441", 0.6)}


@pytest.fixture(scope="module")
def june(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp: Path = tmp_path_factory.mktemp("bench")
    demo = demo_fleet(42, today=date(2026, 7, 10), history_days=400)
    fleet = Fleet(seed=42, factories=demo.factories)  # the factories only: fewer messages
    (tmp / "registry.toml").write_text(fleet.registry_toml(passwords="none"), encoding="utf-8")
    registry = Registry.load(tmp / "registry.toml")
    store = SqliteStore(tmp / "telemetry.sqlite", retention=None)
    store.ensure_ready()
    decoder = Decoder(registry, max_age_ms=10 * 366 * 86_400_000)
    start, end = JUNE.start_ms - 3_600_000, JUNE.end_ms + 3_600_000
    readings = []
    for msg in fleet.messages(start, end, 3600):
        out = decoder.decode(msg.topic, encode(msg.payload), end + 60_000)
        assert not out.rejects, out.rejects[0]
        readings += out.readings
    store.write(readings=readings)
    settings = Settings(data_dir=tmp, gateway_http_port=0)
    app = create_app(settings, store=store, registry=registry, publisher=lambda t, p: None)
    sessions = make_session_factory(app.state.engine)
    # the scheduled month job at its cron time, 1 July 02:07 local: closes June
    with use_clock(datetime(2026, 6, 30, 18, 7, tzinfo=UTC)):
        results = run_close_job(sessions, store, lambda: registry.entities.values(), "month")
    assert {r.entity_id for r in results if r.period == JUNE and r.outcome == "posted"} >= {
        "factory-a",
        "factory-b",
    }
    with Session(app.state.engine) as session:
        key = create_key(session, role="admin", name="bench")[1]
    client = TestClient(app)
    yield client, {"X-API-Key": key}, registry
    client.close()
    store.close()
    app.state.engine.dispose()


def test_demo_factories_are_benchmarked_from_the_packaged_table(june) -> None:  # noqa: ANN001
    client, h, registry = june
    r = client.get("/v1/factories/benchmarks?period=month", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    res = {x["entity_id"]: x for x in body["results"]}
    assert set(res) == set(EXPECTED_ROWS)
    for fid, (row, bench) in EXPECTED_ROWS.items():
        x = res[fid]
        attrs = registry.entities[fid].attrs
        assert x["period_start"].startswith("2026-05-31T16:00")  # June, local
        assert x["industry_code"] == attrs["industry_code"]
        assert (x["benchmark_code"], x["benchmark"]) == (row, bench)
        assert (x["benchmark_origin"], x["benchmark_status"]) == ("table", "proposed_default")
        # hand-worked from the booked June statement: L = emissions / (VA x 30 / 365.25),
        # K = L / benchmark (碳效码, docs/methodology.md §1.2)
        [st] = client.get(
            f"/v1/accounts/{fid}/statements?period=month&start=2026-06-01&end=2026-07-01",
            headers=h,
        ).json()["items"]
        va = float(attrs["value_added_10k_cny"]) * 30 / 365.25
        L = st["emissions_t"] / va
        assert st["emissions_t"] > 0
        assert x["intensity"] == pytest.approx(L, rel=1e-9)
        assert x["k"] == pytest.approx(L / bench, rel=1e-9)
        k = x["k"]
        colour = (
            "dark_green"
            if k <= 0.8
            else "light_green"
            if k <= 1.0
            else "yellow"
            if k <= 1.2
            else "red"
        )
        grade = 1 if k <= 0.6 else 2 if k <= 0.8 else 3 if k <= 1.2 else 4 if k <= 2.0 else 5
        assert (x["colour"], x["grade"]) == (colour, grade)
        assert x["green_energy_share"] is not None and 0 < x["green_energy_share"] < 1
    assert body["poor_performers"] == sorted(
        (f for f in res if res[f]["k"] > 1.2), key=lambda f: -res[f]["k"]
    )
    assert body["low_green_share"] == sorted(
        (f for f in res if res[f]["green_energy_share"] < 0.10),
        key=lambda f: res[f]["green_energy_share"],
    )


def test_a_registry_benchmark_overrides_the_table(june) -> None:  # noqa: ANN001
    client, h, registry = june
    attrs = registry.entities["factory-b"].attrs
    attrs["benchmark_tco2e_per_10k_cny"] = 0.05
    try:
        res = {
            x["entity_id"]: x
            for x in client.get("/v1/factories/benchmarks?period=month", headers=h).json()[
                "results"
            ]
        }
    finally:
        del attrs["benchmark_tco2e_per_10k_cny"]
    b = res["factory-b"]
    assert (b["benchmark"], b["benchmark_origin"], b["benchmark_code"]) == (0.05, "registry", None)
    assert b["k"] == pytest.approx(b["intensity"] / 0.05)
    assert b["colour"] == "red" and res["factory-a"]["benchmark_origin"] == "table"
