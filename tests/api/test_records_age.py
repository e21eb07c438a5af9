"""HTTP records are judged by the same clock and age limit as the gateway's (the store's)."""

from __future__ import annotations

import os

from sitetime import clock
from telemetry.routes import api_source
from tests.api.conftest import World

DAY_MS = 86_400_000


def test_a_record_older_than_the_stores_retention_is_refused_naming_it(world: World) -> None:
    assert world.store.retention_ms == 728 * DAY_MS  # the API world's store keeps 104 weeks
    now = clock.now_ms()
    records = [
        {
            "id": "fuel-700d",
            "type": "fuel_used",
            "fuel": "diesel",
            "litres": 1.0,
            "ts": now - 700 * DAY_MS,
        },
        {
            "id": "fuel-800d",
            "type": "fuel_used",
            "fuel": "diesel",
            "litres": 1.0,
            "ts": now - 800 * DAY_MS,
        },
    ]
    r = world.client.post(
        "/v1/entities/orchard-1/records", json={"records": records}, headers=world.h("admin")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == ["fuel-700d"]
    (rej,) = body["rejected"]
    assert rej["reason"] == "ts_too_old"
    assert "the store's retention of 728 days (104w)" in rej["detail"]


def test_http_rejects_carry_this_api_processes_own_source(world: World) -> None:
    """Reject ids are unique per source: each API process quarantines under its own."""
    assert api_source().startswith("api-") and api_source().endswith(f"-{os.getpid()}")
    bad = {"id": "src-bad", "type": "fuel_used", "fuel": "diesel", "litres": -1.0}
    r = world.client.post(
        "/v1/entities/orchard-1/records", json={"records": [bad]}, headers=world.h("admin")
    )
    assert r.status_code == 422
    ours = [x for x in world.store.rejects(limit=1000) if b"src-bad" in x.payload]
    assert len(ours) == 1 and ours[0].id.startswith(f"{api_source()}:")
