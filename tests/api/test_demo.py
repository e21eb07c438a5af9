"""The demo fleet's telemetry, decoded by the wire contract and closed by the closing job,
read back through the API, equals what the accounting engine computes from the same store.

Two days of the simulators' demo fleet (2 factories x 3 lines, 6 orchards, 1 forest) at a
15-minute step: ~2 s of decoding and closing.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from access.keys import create_key
from accounting.labels import orchard_label
from ledger.book import ensure_accounts
from ledger.closing import close_entities, compute_statements
from ledger.db import make_engine
from ledger.periods import Period
from simulators.fleet import demo_fleet
from simulators.messages import date_ms, encode
from tanzhang.app import create_app
from tanzhang.settings import Settings
from telemetry.contract import Decoder
from telemetry.registry import Registry
from telemetry.sqlite import SqliteStore
from tests.api.conftest import TestClient

TODAY = date(2026, 6, 10)  # simulated "today" (the fleet's baselines are placed from it)
DAYS = (date(2026, 6, 8), date(2026, 6, 9))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp: Path = tmp_path_factory.mktemp("demo")
    fleet = demo_fleet(42, today=TODAY, history_days=365)
    (tmp / "registry.toml").write_text(fleet.registry_toml(passwords="none"), encoding="utf-8")
    registry = Registry.load(tmp / "registry.toml")
    store = SqliteStore(tmp / "telemetry.sqlite", retention=None)
    store.ensure_ready()
    decoder = Decoder(registry, max_age_ms=10 * 366 * 86_400_000)
    start, end = date_ms(DAYS[0]) - 3_600_000, date_ms(DAYS[-1] + timedelta(days=1)) + 3_600_000
    readings, events = [], []
    for msg in fleet.messages(start, end, 900):
        out = decoder.decode(msg.topic, encode(msg.payload), end + 60_000)
        assert not out.rejects, out.rejects[0]
        readings += out.readings
        events += out.events
    store.write(readings=readings, events=events)
    engine = make_engine(f"sqlite:///{tmp / 'accounts.sqlite3'}")
    app = create_app(
        Settings(data_dir=tmp, gateway_http_port=0),
        store=store,
        registry=registry,
        engine=engine,
        publisher=lambda t, p: None,
    )
    entities = list(registry.entities.values())
    periods = [Period.containing("day", d) for d in DAYS]  # local days of the site
    with Session(engine) as session:
        ensure_accounts(session, entities)
        for p in periods:
            results = close_entities(session, store, entities, p)
            assert all(r.outcome != "failed" for r in results), results
        key = create_key(session, role="operator", name="demo")[1]
    client = TestClient(app)
    yield client, {"X-API-Key": key}, store, entities, periods
    client.close()
    store.close()
    engine.dispose()


def test_statements_equal_engine(demo) -> None:  # noqa: ANN001
    client, h, store, entities, periods = demo
    for period in periods:
        engine_stmts, errors = compute_statements(store, entities, period)
        assert not errors
        for ent in entities:
            stmt = engine_stmts[ent.id]
            body = client.get(
                f"/v1/accounts/{ent.id}/statements?period=day"
                f"&start={period.local_start.date().isoformat()}"
                f"&end={period.local_end.date().isoformat()}",
                headers=h,
            ).json()
            [item] = body["items"]
            assert item["emissions_t"] == pytest.approx(stmt.total_emissions_t, abs=1e-6)
            assert item["removals_t"] == pytest.approx(stmt.total_sequestration_t, abs=1e-6)
            assert item["emissions_by_source"] == pytest.approx(stmt.emissions_t, abs=1e-9)
            assert item["sequestration_by_pool"] == pytest.approx(stmt.sequestration_t, abs=1e-9)
            assert item["factor_set"]["name"] == stmt.factor_set["name"]


def test_factories_emit_and_balances_add_up(demo) -> None:  # noqa: ANN001
    client, h, store, entities, periods = demo
    total_by_entity = {}
    for period in periods:
        stmts, _ = compute_statements(store, entities, period)
        for eid, s in stmts.items():
            total_by_entity[eid] = total_by_entity.get(eid, 0.0) + s.total_emissions_t
    for ent in entities:
        bal = client.get(f"/v1/accounts/{ent.id}/balance", headers=h).json()
        assert bal["emissions_t"] == pytest.approx(total_by_entity[ent.id], abs=2e-6)
        if ent.kind == "factory":
            assert bal["emissions_t"] > 0


def test_orchard_day_labels_equal_engine(demo) -> None:  # noqa: ANN001
    client, h, store, entities, periods = demo
    stmts, _ = compute_statements(store, entities, periods[-1])
    orchards = [e for e in entities if e.kind == "orchard"]
    assert len(orchards) == 6
    for ent in orchards:
        expected = orchard_label(stmts[ent.id], thresholds=(1.2, 1.0, 0.8))
        got = client.get(f"/v1/orchards/{ent.id}/label?period=day", headers=h).json()
        assert got["colour"] == expected.colour, ent.id
    listing = client.get("/v1/orchards?period=day", headers=h).json()
    assert listing["total"] == 6
