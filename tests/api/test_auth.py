"""Authentication: 401 for missing, unknown and revoked keys; both header forms; error shape."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import World


def test_health_is_open(world: World) -> None:
    r = world.client.get("/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["components"]["accounts_db"]["ok"] is True


def test_missing_key_is_401_with_json_error(world: World) -> None:
    r = world.client.get("/v1/accounts")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_api_key"
    assert "X-API-Key" in r.json()["error"]["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_unknown_key_is_401(world: World) -> None:
    r = world.client.get("/v1/accounts", headers={"X-API-Key": "tzk_00000000_nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unknown_api_key"


def test_revoked_key_is_401(world: World) -> None:
    r = world.client.get("/v1/accounts", headers=world.h("revoked"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "revoked_api_key"
    assert "revoked" in r.json()["error"]["message"]


@pytest.mark.parametrize("form", ["bearer", "header"])
def test_both_header_forms_work(world: World, form: str) -> None:
    key = world.keys["operator"]
    headers = {"Authorization": f"Bearer {key}"} if form == "bearer" else {"X-API-Key": key}
    assert world.client.get("/v1/accounts", headers=headers).status_code == 200


def test_wrong_auth_scheme_is_401(world: World) -> None:
    r = world.client.get("/v1/accounts", headers={"Authorization": f"Basic {world.keys['admin']}"})
    assert r.status_code == 401


def test_key_in_query_string_is_not_accepted(world: World) -> None:
    r = world.client.get(f"/v1/accounts?api_key={world.keys['admin']}")
    assert r.status_code == 401


def test_keys_never_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for role in ("admin", "revoked"):
        world.client.get("/v1/accounts/line-a1/balance", headers=world.h(role))
    world.client.get("/v1/accounts", headers={"X-API-Key": "tzk_deadbeef_secret-guess"})
    text = caplog.text
    assert world.keys["admin"] not in text
    assert world.keys["revoked"] not in text
    assert "secret-guess" not in text


def test_unknown_route_is_json_404(world: World) -> None:
    r = world.client.get("/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_method_not_allowed_is_json_405(world: World) -> None:
    r = world.client.delete("/v1/accounts", headers=world.h("admin"))
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_revoked_key_stops_working_after_the_cache_ttl(tmp_path) -> None:  # noqa: ANN001
    from sqlalchemy.orm import Session

    from access.keys import create_key, revoke_key
    from tests.api.conftest import build_world

    w = build_world(tmp_path)
    with Session(w.app.state.engine) as s:
        row, key = create_key(s, role="operator")
        key_id = row.id
    h = {"X-API-Key": key}
    assert w.client.get("/v1/accounts", headers=h).status_code == 200
    with Session(w.app.state.engine) as s:
        revoke_key(s, key_id)
    assert w.client.get("/v1/accounts", headers=h).status_code == 200  # cached (<= 5 s)
    w.app.state.key_cache.ttl_s = 0.0
    r = w.client.get("/v1/accounts", headers=h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "revoked_api_key"
    w.store.close()
    w.app.state.engine.dispose()
