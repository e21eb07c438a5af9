"""HTTP records are judged by the same clock and age limit as the gateway's (the store's)."""

from __future__ import annotations

import os

import pytest

from sitetime import clock
from telemetry.records import api_source
from tests.api.conftest import World

DAY_MS = 86_400_000


def _fuel(rid: str, ts_ms: int) -> dict:
    return {"id": rid, "type": "fuel_used", "fuel": "diesel", "litres": 1.0, "ts": ts_ms}


def _post(world: World, records: list[dict]) -> dict:
    r = world.client.post(
        "/v1/entities/orchard-1/records", json={"records": records}, headers=world.h("admin")
    )
    assert r.status_code in (200, 422), r.text
    return r.json()


def test_a_store_without_retention_takes_800_days_old_records_not_11_years(
    world: World,
) -> None:
    assert world.store.retention_ms == 0  # the API world's store keeps everything
    now = clock.now_ms()
    body = _post(world, [_fuel("fuel-800d-kept", now - 800 * DAY_MS)])
    assert body == {"accepted": ["fuel-800d-kept"], "rejected": []}
    details = _post(world, [_fuel("fuel-11y", now - 11 * 365 * DAY_MS)])["error"]["details"]
    assert details[0]["reason"] == "ts_too_old"
    assert "3653 days" in details[0]["detail"] and "without retention" in details[0]["detail"]


def test_a_record_older_than_the_stores_retention_is_refused_naming_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.store, "retention_ms", 728 * DAY_MS)  # a store keeping 104 weeks
    now = clock.now_ms()
    body = _post(
        world, [_fuel("fuel-700d", now - 700 * DAY_MS), _fuel("fuel-800d", now - 800 * DAY_MS)]
    )
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
