"""A small world for the API tests: registry, real SQLite accounts DB and telemetry store,
statements closed by the real closing job, and one API key per role.

Entities: factory-a ⊃ line-a1, factory-b ⊃ line-b1, orchard-1 (changshan), orchard-2
(kecheng), forest-1. Keys: admin, operator, energy_manager of factory-a ("em"), agronomist
("agro"), account_holder of orchard-1 ("holder") and a revoked admin key ("revoked").
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

with warnings.catch_warnings():
    # starlette warns at import when httpx2 is not installed; the httpx fallback works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from access.keys import create_key, revoke_key
from ledger.book import ensure_accounts
from ledger.closing import close_entities
from ledger.db import make_engine
from ledger.periods import Period
from tanzhang.app import create_app
from tanzhang.settings import Settings
from telemetry.model import Event, Reading
from telemetry.registry import Device, Entity, Registry
from telemetry.sqlite import SqliteStore

T0 = datetime(2025, 6, 1, tzinfo=ZoneInfo("Asia/Shanghai"))  # local midnight of the site
T0_MS = int(T0.timestamp() * 1000)

#: which entities each test key may see
VISIBLE = {
    "admin": {"factory-a", "line-a1", "factory-b", "line-b1", "orchard-1", "orchard-2", "forest-1"},
    "operator": {
        "factory-a",
        "line-a1",
        "factory-b",
        "line-b1",
        "orchard-1",
        "orchard-2",
        "forest-1",
    },
    "em": {"factory-a", "line-a1"},
    "agro": {"orchard-1", "orchard-2"},
    "holder": {"orchard-1"},
}
ROLES = tuple(VISIBLE)


def make_registry() -> Registry:
    return Registry(
        [
            Entity("factory-a", "factory", attrs={"industry_code": "C2710"}),
            Entity("line-a1", "line", "factory-a"),
            Entity("factory-b", "factory"),
            Entity("line-b1", "line", "factory-b"),
            Entity("orchard-1", "orchard", attrs={"area_mu": 30.0, "county": "changshan"}),
            Entity("orchard-2", "orchard", attrs={"area_mu": 20.0, "county": "kecheng"}),
            Entity("forest-1", "forest", attrs={"area_mu": 100.0}),
        ],
        [
            Device("meter-a1", "line-a1", "electricity_meter"),
            Device("meter-b1", "line-b1", "electricity_meter"),
            Device("term-o1", "orchard-1", "field_terminal"),
            Device("term-o2", "orchard-2", "field_terminal"),
        ],
    )


def seed_telemetry(store: SqliteStore) -> None:
    """Hourly electricity registers of both lines for 2.5 days, orchard field records."""
    hour = 3_600_000
    store.write(
        readings=[
            Reading(line, dev, T0_MS + i * hour, {"energy_kwh_total": 1000.0 + i * step})
            for line, dev, step in (("line-a1", "meter-a1", 50.0), ("line-b1", "meter-b1", 20.0))
            for i in range(60)
        ]
    )
    events = []
    for orchard, dev, n_kg, trees in (
        ("orchard-1", "term-o1", 300.0, 1500.0),
        ("orchard-2", "term-o2", 900.0, 300.0),
    ):
        events += [
            Event(
                orchard,
                dev,
                T0_MS + hour,
                f"{orchard}-fert",
                "fertilizer_applied",
                {"product": "urea", "mass_kg": n_kg, "n_frac": 0.46, "organic": False},
            ),
            Event(
                orchard,
                dev,
                T0_MS + 2 * hour,
                f"{orchard}-survey",
                "tree_survey",
                {"trees": trees, "mean_trunk_diameter_cm": 12.0},
            ),
            # the orchards' records began before their year (2024-12-23), so the year is
            # covered (a label needs coverage >= 0.9); the surveys are < 330 d apart: Tier 1
            Event(
                orchard,
                dev,
                T0_MS - 160 * 24 * hour,
                f"{orchard}-survey-0",
                "tree_survey",
                {"trees": trees, "mean_trunk_diameter_cm": 12.0},
            ),
        ]
    store.write(events=events)


@dataclass
class World:
    app: Any
    client: TestClient
    keys: dict[str, str]
    store: SqliteStore
    registry: Registry
    published: list[tuple[str, bytes]] = field(default_factory=list)

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def build_world(tmp: Path, publisher: Any = None, database_url: str | None = None) -> World:
    """The world in ``tmp``; the accounts database is SQLite there unless ``database_url``."""
    registry = make_registry()
    # no retention: the store judges a point's age by the machine's clock, and the seeded
    # telemetry (from T0, 2025-06-01) would be refused 104 weeks later (from 2027-05-30)
    store = SqliteStore(tmp / "telemetry.sqlite", retention=None)
    store.ensure_ready()
    seed_telemetry(store)
    engine = make_engine(database_url or f"sqlite:///{tmp / 'accounts.sqlite3'}")
    published: list[tuple[str, bytes]] = []
    app = create_app(
        Settings(data_dir=tmp, gateway_http_port=0),
        store=store,
        registry=registry,
        engine=engine,
        publisher=publisher or (lambda topic, payload: published.append((topic, payload))),
    )
    keys: dict[str, str] = {}
    with app.state.sessions() as session:
        # orchards and forests book yearly statements (their removals accrue over a year)
        ensure_accounts(
            session,
            [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "parent": e.parent,
                    "booking_period": "year" if e.kind in ("orchard", "forest") else "day",
                }
                for e in registry.entities.values()
            ],
        )
        for kind in ("day", "year"):
            period = Period.containing(kind, T0)
            results = close_entities(session, store, list(registry.entities.values()), period)
            failed = [r for r in results if r.outcome == "failed"]
            assert not failed, failed
    with Session(engine) as session:
        keys["admin"] = create_key(session, role="admin", name="tests")[1]
        keys["operator"] = create_key(session, role="operator")[1]
        keys["em"] = create_key(session, role="energy_manager", entities=["factory-a"])[1]
        keys["agro"] = create_key(session, role="agronomist")[1]
        keys["holder"] = create_key(session, role="account_holder", entities=["orchard-1"])[1]
        row, keys["revoked"] = create_key(session, role="admin", name="old")
        revoke_key(session, row.id)
    return World(app, TestClient(app), keys, store, registry, published)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(tmp_path_factory.mktemp("api"))
    with w.client:
        yield w
    w.store.close()
    w.app.state.engine.dispose()
