"""Field records over HTTP and redemptions: who may write, validation, idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sitetime.clock import Clock, OffsetClock, use_clock
from telemetry.store import StoreError, StoreUnavailable
from tests.api.conftest import T0, T0_MS, World

FUEL = {"type": "fuel_used", "fuel": "diesel", "litres": 12.5, "ts": T0_MS + 5 * 3_600_000}


@pytest.fixture(autouse=True)
def _clock() -> Iterator[Clock]:
    """The product's clock 60 days after the world's telemetry (T0), running: records at T0
    are judged against it (ts_too_old after the 104-week retention), not the machine clock."""
    with use_clock(OffsetClock(T0 + timedelta(days=60))) as c:
        yield c


def _post(world: World, role: str, entity: str, records: list[dict], **extra: object):
    return world.client.post(
        f"/v1/entities/{entity}/records", json={"records": records, **extra}, headers=world.h(role)
    )


@pytest.mark.parametrize(
    ("role", "entity", "status"),
    [
        ("admin", "line-b1", 200),
        ("operator", "line-a1", 403),
        ("em", "line-a1", 200),
        ("em", "orchard-1", 403),
        ("agro", "orchard-2", 200),
        ("agro", "line-a1", 403),
        ("holder", "orchard-1", 200),
        ("holder", "orchard-2", 403),
    ],
)
def test_records_by_role(world: World, role: str, entity: str, status: int) -> None:
    rid = f"{role}-{entity}-{uuid.uuid4().hex[:6]}"
    r = _post(world, role, entity, [{**FUEL, "id": rid}])
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json() == {"accepted": [rid], "rejected": []}
    elif role == "operator":
        assert r.json()["error"]["code"] == "read_only_key"


def test_records_are_stored_like_mqtt_events_and_idempotent(world: World) -> None:
    doc = {**FUEL, "id": "fuel-idem-1"}
    for _ in range(2):  # a retry of the same record overwrites the same point
        assert _post(world, "holder", "orchard-1", [doc]).status_code == 200
    stored = [
        e
        for e in world.store.events(T0_MS, T0_MS + 86_400_000, entities=["orchard-1"])
        if e.id == "fuel-idem-1"
    ]
    assert len(stored) == 1
    assert stored[0].type == "fuel_used" and stored[0].attrs["litres"] == 12.5
    assert stored[0].device == "http"


def test_invalid_records_are_quarantined_valid_ones_kept(world: World) -> None:
    good = {**FUEL, "id": "fuel-mixed-ok"}
    bad = {"id": "fert-bad", "type": "fertilizer_applied", "product": "urea", "mass_kg": -3}
    r = _post(world, "admin", "orchard-2", [good, bad])
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == ["fuel-mixed-ok"]
    assert body["rejected"][0]["index"] == 1
    assert body["rejected"][0]["reason"] == "event_field_invalid"
    rejects = world.client.get("/v1/rejects", headers=world.h("operator")).json()["items"]
    assert any(
        x["topic"] == "http:/v1/entities/orchard-2/records" and "fert-bad" in x["payload"]
        for x in rejects
    )


def test_all_invalid_is_422(world: World) -> None:
    r = _post(world, "admin", "orchard-2", [{"id": "x", "type": "nonsense"}])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "records_rejected"
    assert r.json()["error"]["details"][0]["reason"] == "event_type_unknown"


def test_device_of_another_entity_is_422(world: World) -> None:
    r = _post(world, "admin", "orchard-2", [{**FUEL, "id": "d1"}], device="term-o1")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "device_entity_mismatch"


def test_empty_records_is_422(world: World) -> None:
    r = _post(world, "admin", "orchard-2", [])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_replay_of_http_reject_after_fix(world: World) -> None:
    """A quarantined HTTP record replays through the decoder again (here still invalid)."""
    rejects = world.client.get(
        "/v1/rejects?reason=event_field_invalid", headers=world.h("admin")
    ).json()["items"]
    rid = rejects[0]["id"]
    r = world.client.post(
        "/v1/rejects/replay", json={"ids": [rid, "missing"]}, headers=world.h("admin")
    )
    assert r.status_code == 200
    body = r.json()
    assert body["not_found"] == ["missing"]
    assert rid in body["failed"] and "event_field_invalid" in body["failed"][rid]


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (StoreUnavailable, "store_unavailable", "the telemetry store is unavailable: down"),
        (StoreError, "store_error", "the telemetry store failed: down"),
    ],
)
def test_store_failures_on_records_and_replay_are_503(
    world: World, monkeypatch: pytest.MonkeyPatch, error: type[Exception], code: str, message: str
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error("down")

    monkeypatch.setattr(world.store, "write", fail)
    monkeypatch.setattr(world.store, "rejects_by_id", fail)
    answers = [
        _post(world, "admin", "orchard-2", [{**FUEL, "id": "s1"}]),
        world.client.post("/v1/rejects/replay", json={"ids": ["x"]}, headers=world.h("admin")),
    ]
    for r in answers:
        assert r.status_code == 503
        assert r.json() == {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (StoreUnavailable, "store_unavailable", "the telemetry store is unavailable: down"),
        (StoreError, "store_error", "the telemetry store failed: down"),
    ],
)
def test_store_failures_under_the_factory_page_are_503(
    world: World, monkeypatch: pytest.MonkeyPatch, error: type[Exception], code: str, message: str
) -> None:
    """A service that reads the store (today's factory figures) fails as the records route
    does: a 503 that names the store, not a 500 "unexpected error" (api/errors.py maps the
    store's errors once for every route)."""

    def fail(*args: object, **kwargs: object) -> None:
        raise error("down")

    for name in ("series", "downsample", "latest"):
        monkeypatch.setattr(world.store, name, fail)
    r = world.client.get("/dashboards/data/factory/factory-a", headers=world.h("em"))
    assert r.status_code == 503, r.text
    assert r.json() == {"error": {"code": code, "message": message}}


def _redeem(world: World, role: str, entity: str, amount: float, key: str):
    return world.client.post(
        f"/v1/accounts/{entity}/redemptions",
        json={"amount_t": amount},
        headers={**world.h(role), "Idempotency-Key": key},
    )


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("operator", 403, "read_only_key"),
        ("em", 403, "role_not_allowed"),
        ("agro", 403, "role_not_allowed"),
    ],
)
def test_redemption_refused_roles(world: World, role: str, status: int, code: str) -> None:
    r = _redeem(world, role, "orchard-1", 0.1, f"refused-{role}")
    assert r.status_code == status
    assert r.json()["error"]["code"] == code


def test_redemption_by_holder_is_idempotent_and_never_overdraws(world: World) -> None:
    bal = world.client.get("/v1/accounts/orchard-1/balance", headers=world.h("holder")).json()
    assert bal["available_t"] > 1
    first = _redeem(world, "holder", "orchard-1", 1.0, "voucher-0001")
    assert first.status_code == 201
    again = _redeem(world, "holder", "orchard-1", 1.0, "voucher-0001")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["key"] == "voucher-0001"
    conflict = _redeem(world, "holder", "orchard-1", 2.0, "voucher-0001")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    after = world.client.get("/v1/accounts/orchard-1/balance", headers=world.h("holder")).json()
    assert after["redeemed_t"] == pytest.approx(bal["redeemed_t"] + 1.0)
    too_much = _redeem(world, "holder", "orchard-1", after["available_t"] + 1, "voucher-0002")
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    listed = world.client.get(
        "/v1/accounts/orchard-1/redemptions", headers=world.h("holder")
    ).json()
    assert [x["key"] for x in listed["items"]] == ["voucher-0001"]
    from ledger.balances import fast_balance
    from ledger.book import balance

    with world.app.state.sessions() as s:
        assert fast_balance(s, "orchard-1", None) == balance(s, "orchard-1")


def test_redemption_other_entity_refused_for_holder(world: World) -> None:
    r = _redeem(world, "holder", "orchard-2", 0.1, "voucher-o2-1")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "entity_not_allowed"


def test_redemption_from_net_source_is_409(world: World) -> None:
    r = _redeem(world, "admin", "line-a1", 0.1, "voucher-line-1")
    assert r.status_code == 409


@pytest.mark.parametrize("key", ["short", "has space!", ""])
def test_redemption_bad_idempotency_key_is_422(world: World, key: str) -> None:
    r = _redeem(world, "holder", "orchard-1", 0.1, key)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_redemption_without_idempotency_key_is_422(world: World) -> None:
    r = world.client.post(
        "/v1/accounts/orchard-1/redemptions", json={"amount_t": 1}, headers=world.h("holder")
    )
    assert r.status_code == 422
    assert "idempotency-key" in r.json()["error"]["message"].lower()
