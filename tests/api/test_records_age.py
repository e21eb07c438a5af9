"""HTTP records are judged by the same clock and age limit as the gateway's (the store's)."""

from __future__ import annotations

from sitetime import clock
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
