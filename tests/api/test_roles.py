"""Each read route with each role, allowed and refused; listings show only what a role sees."""

from __future__ import annotations

import pytest

from tests.api.conftest import ROLES, VISIBLE, World

ENTITY_ROUTES = (
    "/v1/entities/{e}",
    "/v1/entities/{e}/latest",
    "/v1/accounts/{e}",
    "/v1/accounts/{e}/balance?at=2025-12-31",
    "/v1/accounts/{e}/statements?start=2025-01-01&end=2026-01-01",
    "/v1/accounts/{e}/statements.csv?start=2025-01-01&end=2026-01-01",
    "/v1/accounts/{e}/audit?start=2025-06-01",
    "/v1/accounts/{e}/redemptions",
    "/v1/accounts/{e}/statement.html?period=year&start=2025-01-01",
)
ORCHARD_ROUTES = (
    "/v1/orchards/{e}/label",
    "/v1/orchards/{e}/labels?period=year&start=2025-01-01&end=2026-01-01",
    "/v1/orchards/{e}/what-if?practice=grass_cover&area_mu=10",
)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ENTITY_ROUTES)
@pytest.mark.parametrize("entity", ["line-a1", "orchard-1", "orchard-2", "forest-1"])
def test_entity_routes(world: World, role: str, route: str, entity: str) -> None:
    r = world.client.get(route.format(e=entity), headers=world.h(role))
    if entity in VISIBLE[role]:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "entity_not_allowed"
        assert entity in r.json()["error"]["message"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ORCHARD_ROUTES)
@pytest.mark.parametrize("entity", ["orchard-1", "orchard-2"])
def test_orchard_routes(world: World, role: str, route: str, entity: str) -> None:
    r = world.client.get(route.format(e=entity), headers=world.h(role))
    if entity in VISIBLE[role]:
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403, r.text


@pytest.mark.parametrize("role", ROLES)
def test_accounts_listing_shows_only_visible(world: World, role: str) -> None:
    body = world.client.get("/v1/accounts", headers=world.h(role)).json()
    assert {a["entity_id"] for a in body["items"]} == VISIBLE[role]
    assert body["total"] == len(VISIBLE[role])


@pytest.mark.parametrize("role", ROLES)
def test_entities_listing_shows_only_visible(world: World, role: str) -> None:
    body = world.client.get("/v1/entities", headers=world.h(role)).json()
    assert {e["id"] for e in body["items"]} == VISIBLE[role]


@pytest.mark.parametrize("role", ROLES)
def test_devices_listing_shows_only_visible(world: World, role: str) -> None:
    body = world.client.get("/v1/devices", headers=world.h(role)).json()
    owners = {d["entity"] for d in body["items"]}
    assert owners <= VISIBLE[role]
    expected = {d.id for d in world.registry.devices.values() if d.entity in VISIBLE[role]}
    assert {d["id"] for d in body["items"]} == expected
    assert all(
        "password_hash" not in d and "password_hash" not in d["attrs"] for d in body["items"]
    )


@pytest.mark.parametrize("role", ROLES)
def test_orchard_listing_shows_only_visible(world: World, role: str) -> None:
    body = world.client.get("/v1/orchards", headers=world.h(role)).json()
    expected = {e for e in VISIBLE[role] if e.startswith("orchard")}
    assert {lab["entity_id"] for lab in body["items"]} == expected


@pytest.mark.parametrize("role", ROLES)
def test_rejects_are_for_staff(world: World, role: str) -> None:
    r = world.client.get("/v1/rejects", headers=world.h(role))
    assert r.status_code == (200 if role in ("admin", "operator") else 403)
    if r.status_code == 403:
        assert r.json()["error"]["code"] == "role_not_allowed"


@pytest.mark.parametrize("role", ROLES)
def test_replay_is_admin_only(world: World, role: str) -> None:
    r = world.client.post("/v1/rejects/replay", json={"ids": ["x"]}, headers=world.h(role))
    assert r.status_code == (200 if role == "admin" else 403)


def test_unknown_entity_is_404(world: World) -> None:
    r = world.client.get("/v1/accounts/no-such/balance", headers=world.h("admin"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "entity_not_found"


def test_energy_manager_sees_factory_lines_by_filter(world: World) -> None:
    body = world.client.get("/v1/accounts?parent=factory-a", headers=world.h("em")).json()
    assert [a["entity_id"] for a in body["items"]] == ["line-a1"]
    body = world.client.get("/v1/accounts?parent=factory-b", headers=world.h("em")).json()
    assert body["items"] == [] and body["total"] == 0
