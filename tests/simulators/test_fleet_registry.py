"""The demo fleet's registry: parses with tomllib, has the shapes the issue asks for."""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from datetime import date

from telemetry.registry import DEVICE_ROLES, Registry

ID = re.compile(r"^[a-z0-9_-]{1,64}$")


def test_registry_shapes(fleet) -> None:
    doc = tomllib.loads(fleet.registry_toml())
    ents = {e["id"]: e for e in doc["entities"]}
    kinds = [e["kind"] for e in doc["entities"]]
    assert kinds.count("factory") == 2
    assert kinds.count("line") == 6
    assert kinds.count("orchard") == 6
    assert kinds.count("forest") == 1
    for e in doc["entities"]:
        assert ID.match(e["id"]) and e["name"]
        if e["kind"] == "factory":
            assert e["industry_code"] and e["value_added_10k_cny"] > 0
        elif e["kind"] == "line":
            assert ents[e["parent"]]["kind"] == "factory"
            start = date.fromisoformat(e["baseline_start"])
            end = date.fromisoformat(e["baseline_end"])
            assert start < end
            if "intervention_date" in e:
                assert date.fromisoformat(e["intervention_date"]) > end
        elif e["kind"] == "orchard":
            assert 50 <= e["area_mu"] <= 200
            assert e["county"] in ("changshan", "kecheng", "qujiang")
        else:
            assert e["area_mu"] > 0
    lines = [e for e in doc["entities"] if e["kind"] == "line"]
    per_factory = {f: sum(e["parent"] == f for e in lines) for f in ("factory-a", "factory-b")}
    assert per_factory == {"factory-a": 3, "factory-b": 3}
    assert sum("intervention_date" in e for e in lines) == 2
    devices = doc["devices"]
    assert len({d["id"] for d in devices}) == len(devices)
    for d in devices:
        assert ID.match(d["id"]) and d["entity"] in ents and d["role"] in DEVICE_ROLES
        assert "password" not in d and d["password_hash"].startswith("$7$101$")
    # every entity has at least one device
    assert {d["entity"] for d in devices} == set(ents)


def test_registry_loads_into_telemetry_registry(fleet) -> None:
    reg = Registry.from_dict(tomllib.loads(fleet.registry_toml()))
    assert len(reg.devices) == len(fleet.devices())
    assert reg.entity_of("line-a3-em") == "line-a3"
    assert {e.id for e in reg.children("factory-a")} == {"line-a1", "line-a2", "line-a3"}


def test_password_hash_is_mosquitto_pbkdf2_of_the_password(fleet) -> None:
    dev = fleet.devices()[0].id
    _, _, iterations, salt, digest = fleet.password_hash(dev).split("$")
    again = hashlib.pbkdf2_hmac(
        "sha512", fleet.password(dev).encode(), base64.b64decode(salt), int(iterations)
    )
    assert base64.b64encode(again).decode() == digest
    plain = tomllib.loads(fleet.registry_toml(passwords="plain"))
    assert plain["devices"][0]["password"] == fleet.password(plain["devices"][0]["id"])
    none = tomllib.loads(fleet.registry_toml(passwords="none"))
    assert all("password" not in d and "password_hash" not in d for d in none["devices"])


def test_interventions_fall_inside_the_backfill_year(fleet) -> None:
    from tests.simulators.conftest import TODAY

    for line in fleet.lines:
        assert (TODAY - line.baseline_start).days == 365
        if line.intervention_date:
            assert 60 <= (TODAY - line.intervention_date).days <= 150
