"""The API on a real PostgreSQL accounts database (the site set-up with several replicas):
visibility in SQL, the one-query balance, statements, labels and a redemption."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.params import parse_when
from ledger.balances import fast_balance
from ledger.book import balance
from tests.api.conftest import ROLES, VISIBLE, World, build_world
from tests.pg import postgres_server

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def pg_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("pg")
    with postgres_server() as pg:
        w = build_world(tmp, database_url=pg.create_database("api"))
        with w.client:
            yield w
        w.store.close()
        w.app.state.engine.dispose()


@pytest.mark.parametrize("role", ROLES)
def test_listing_by_role(pg_world: World, role: str) -> None:
    body = pg_world.client.get("/v1/accounts", headers=pg_world.h(role)).json()
    assert {a["entity_id"] for a in body["items"]} == VISIBLE[role]


@pytest.mark.parametrize("at", [None, "2025-05-31", "2025-06-01", "2025-12-31"])
def test_fast_balance_equals_ledger(pg_world: World, at: str | None) -> None:
    cutoff = parse_when(at, "at", end_of_day=True)
    with pg_world.app.state.sessions() as s:
        for entity in ("line-a1", "orchard-1", "factory-a"):
            assert fast_balance(s, entity, cutoff) == balance(s, entity, cutoff)


def test_statements_labels_and_redemption(pg_world: World) -> None:
    c, h = pg_world.client, pg_world.h("holder")
    st = c.get("/v1/accounts/orchard-1/statements?period=year&start=2025-01-01", headers=h)
    assert st.status_code == 200 and st.json()["total"] == 1
    assert c.get("/v1/orchards/orchard-1/label", headers=h).status_code == 200
    r = c.post(
        "/v1/accounts/orchard-1/redemptions",
        json={"amount_t": 0.5},
        headers={**h, "Idempotency-Key": "pg-voucher-1"},
    )
    assert r.status_code == 201, r.text
    bal = c.get("/v1/accounts/orchard-1/balance", headers=h).json()
    assert bal["redeemed_t"] == pytest.approx(0.5)
