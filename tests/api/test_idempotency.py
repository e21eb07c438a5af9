"""Idempotency keys of redemptions through the API, on SQLite and on PostgreSQL.

Keys belong to the account: account holder B using a key that holder A used makes a new
redemption, and no answer names A's account. Of several simultaneous requests with one key
exactly one is 201 (the database's unique (account, key) decides, not clock times).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from access.keys import create_key
from tests.api.conftest import World, build_world
from tests.pg import postgres_server


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)],
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp(f"idem-{request.param}")
    if request.param == "sqlite":
        w = build_world(tmp)
        with w.client:
            yield w
    else:
        with postgres_server() as pg:
            w = build_world(tmp, database_url=pg.create_database("idem"))
            with w.client:
                yield w
    w.store.close()
    w.app.state.engine.dispose()


def _redeem(world: World, key: str, entity: str, amount: float, idem: str):  # noqa: ANN202
    return world.client.post(
        f"/v1/accounts/{entity}/redemptions",
        json={"amount_t": amount},
        headers={"X-API-Key": key, "Idempotency-Key": idem},
    )


def test_a_key_another_account_used_is_a_new_redemption(world: World) -> None:
    with Session(world.app.state.engine) as s:
        holder_b = create_key(s, role="account_holder", entities=["orchard-2"])[1]
    holder_a = world.keys["holder"]  # orchard-1
    a = _redeem(world, holder_a, "orchard-1", 0.25, "voucher-shared-1")
    assert a.status_code == 201, a.text
    b = _redeem(world, holder_b, "orchard-2", 0.5, "voucher-shared-1")
    assert b.status_code == 201, b.text
    assert b.json()["entity_id"] == "orchard-2" and b.json()["id"] != a.json()["id"]
    assert b.json()["amount_t"] == 0.5
    again = _redeem(world, holder_b, "orchard-2", 0.5, "voucher-shared-1")
    assert again.status_code == 200 and again.json()["id"] == b.json()["id"]
    conflict = _redeem(world, holder_b, "orchard-2", 0.75, "voucher-shared-1")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    for answer in (b, again, conflict):
        assert "orchard-1" not in answer.text and "0.25" not in answer.text


def test_simultaneous_requests_with_one_key_get_one_201(world: World) -> None:
    n = 6
    barrier = threading.Barrier(n)
    answers: list[tuple[int, int | None]] = []

    def send() -> None:
        barrier.wait(timeout=30)
        r = _redeem(world, world.keys["holder"], "orchard-1", 0.125, "voucher-race-1")
        answers.append((r.status_code, r.json().get("id")))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(code for code, _ in answers) == [200] * (n - 1) + [201], answers
    assert len({rid for _, rid in answers}) == 1
    listed = world.client.get(
        "/v1/accounts/orchard-1/redemptions", headers=world.h("holder")
    ).json()
    assert [x["key"] for x in listed["items"]].count("voucher-race-1") == 1
