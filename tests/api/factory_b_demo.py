"""The demo's factory-b (one EMC line, one treated line, one control line) over the demo
history, behind the assembled API: one world for the savings and EMC demo tests.

Built once per session on a fixed clock (10:00 local on :data:`TODAY`, as the acceptance
run): ``SEED`` 42's fleet, :data:`HISTORY_DAYS` of hourly readings decoded by the gateway's
decoder (none rejected) into the embedded store; the tests only read it. Registered for every
test folder by tests/conftest.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

with warnings.catch_warnings():
    # starlette warns at import when httpx2 is not installed; the httpx fallback works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from access.keys import create_key
from ledger.db import make_engine
from simulators.fleet import Fleet, demo_fleet
from simulators.messages import date_ms, encode
from sitetime import clock
from sitetime.calendar import site_calendar
from tanzhang.app import create_app
from tanzhang.settings import Settings
from telemetry.contract import Decoder
from telemetry.registry import Registry
from telemetry.sqlite import SqliteStore

TODAY = date(2026, 12, 3)
HISTORY_DAYS = 455
SEED = 42


@dataclass
class FactoryBDemo:
    client: TestClient
    keys: dict[str, str]  # admin, operator, em-b (factory-b's energy manager), em-a
    registry: Registry
    fleet: Fleet
    now: datetime


@pytest.fixture(scope="session")
def factory_b_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FactoryBDemo]:
    now = site_calendar().midnight(TODAY) + timedelta(hours=10)
    with clock.use_clock(now):
        tmp: Path = tmp_path_factory.mktemp("demo-factory-b")
        full = demo_fleet(SEED, today=TODAY, history_days=HISTORY_DAYS)
        fleet = Fleet(SEED, factories=(full.factories[1],))
        (tmp / "registry.toml").write_text(fleet.registry_toml(passwords="none"), "utf-8")
        registry = Registry.load(tmp / "registry.toml")
        store = SqliteStore(tmp / "telemetry.sqlite", retention=None)
        store.ensure_ready()
        decoder = Decoder(registry, max_age_ms=10 * 366 * 86_400_000)
        start, end = date_ms(TODAY - timedelta(days=HISTORY_DAYS)), clock.now_ms()
        readings = []
        for msg in fleet.messages(start, end, 3600):
            out = decoder.decode(msg.topic, encode(msg.payload), end + 60_000)
            assert not out.rejects, out.rejects[0]
            readings += out.readings
        store.write(readings=readings)
        engine = make_engine(f"sqlite:///{tmp / 'accounts.sqlite3'}")
        app = create_app(Settings(data_dir=tmp, gateway_http_port=0), store=store,
                         registry=registry, engine=engine, publisher=lambda t, p: None)  # fmt: skip
        with Session(engine) as session:
            keys = {
                "admin": create_key(session, role="admin", name="tests")[1],
                "operator": create_key(session, role="operator", name="ops")[1],
                "em-b": create_key(
                    session, role="energy_manager", entities=["factory-b"], name="em-b"
                )[1],
                "em-a": create_key(
                    session, role="energy_manager", entities=["factory-a"], name="em-a"
                )[1],
            }
    # yielded outside the fixed clock: the tests that read this world set it themselves, and
    # a session fixture must not leave its clock to every test that follows
    yield FactoryBDemo(TestClient(app), keys, registry, fleet, now)
    store.close()
    engine.dispose()
