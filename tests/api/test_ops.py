"""The access CLI, /metrics, and replaying an MQTT reject through a real mosquitto."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from access.cli import main as keys_main
from access.keys import find_key, hash_key
from access.models import ApiKey
from sitetime import clock
from sitetime.clock import now_ms
from tanzhang.app import mqtt_publisher
from tanzhang.settings import Settings
from telemetry.model import Reject
from tests.api.conftest import World, build_world
from tests.servers import Mosquitto


def test_keys_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'acc.sqlite3'}"
    assert (
        keys_main(
            ["create", "--role", "energy_manager", "--entity", "factory-a", "--name", "li"],
            database_url=url,
        )
        == 0
    )
    key = capsys.readouterr().out.strip()
    assert key.startswith("tzk_")
    engine = create_engine(url)
    with Session(engine) as s:
        [row] = s.scalars(select(ApiKey)).all()
        assert row.key_hash == hash_key(key) and key not in (row.key_hash, row.prefix)
        assert row.role == "energy_manager" and row.entities == ["factory-a"]
        assert find_key(s, key) is not None
    assert keys_main(["list"], database_url=url) == 0
    listing = capsys.readouterr().out
    assert "energy_manager" in listing and "factory-a" in listing and key not in listing
    assert keys_main(["revoke", str(row.id)], database_url=url) == 0
    assert keys_main(["list", "--json"], database_url=url) == 0
    assert '"revoked_at": null' not in capsys.readouterr().out
    assert keys_main(["revoke", "999"], database_url=url) == 1
    engine.dispose()


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "--role", "account_holder"],
        ["create", "--role", "account_holder", "--entity", "a", "--entity", "b"],
        ["create", "--role", "operator", "--entity", "a"],
        ["create", "--role", "energy_manager"],
    ],
)
def test_keys_cli_refuses_bad_role_entities(tmp_path: Path, argv: list[str]) -> None:
    assert keys_main(argv, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}") == 2


def test_keys_cli_unknown_role_is_usage_error(tmp_path: Path) -> None:
    assert (
        keys_main(["create", "--role", "root"], database_url=f"sqlite:///{tmp_path / 'a.db'}") == 2
    )


def test_metrics_count_requests_by_route_template(world: World) -> None:
    world.client.get("/v1/accounts/line-a1/balance", headers=world.h("em"))
    text = world.client.get("/metrics").text
    assert 'route="/v1/accounts/{entity_id}/balance"' in text
    assert "tanzhang_api_request_duration_seconds_bucket" in text
    assert "line-a1" not in text


def test_gateway_health_passthrough_when_off(world: World) -> None:
    body = world.client.get("/v1/gateway/health").json()
    assert body["reachable"] is False


def test_openapi_documents_security_and_tags(world: World) -> None:
    doc = world.client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)
    op = doc["paths"]["/v1/accounts/{entity_id}/balance"]["get"]
    assert op["tags"] == ["accounts"] and op["summary"]
    assert "ErrorPublic" in str(op["responses"]["403"])


@pytest.mark.servers
# tests/servers.py leaves mosquitto's stdout log file open (ResourceWarning at teardown)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_replay_republishes_over_mqtt(tmp_path: Path, mosquitto: Mosquitto) -> None:
    w = build_world(tmp_path, publisher=mqtt_publisher(Settings(mqtt_url=mosquitto.url)))
    topic = "tanzhang/v1/line-a1/meter-new/data"
    payload = b'{"ts": 1748736000000, "values": {"power_kw": 3.5}}'
    w.store.write(
        rejects=[
            Reject(
                "device_unknown",
                "device 'meter-new' is not registered",
                topic,
                payload,
                now_ms(),
                None,
                "line-a1",
                "meter-new",
            )
        ]
    )
    [rej] = w.client.get("/v1/rejects?reason=device_unknown", headers=w.h("admin")).json()["items"]

    got: queue.Queue[tuple[str, bytes]] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="replay-test")
    sub.on_message = lambda c, u, m: got.put((m.topic, m.payload))
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("tanzhang/v1/#", qos=1)
    sub.loop_start()
    try:
        time.sleep(0.3)
        r = w.client.post("/v1/rejects/replay", json={"ids": [rej["id"]]}, headers=w.h("admin"))
        assert r.status_code == 200 and r.json()["replayed"] == [rej["id"]]
        assert got.get(timeout=5) == (topic, payload)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert (
        w.client.get("/v1/rejects?reason=device_unknown", headers=w.h("admin")).json()["items"]
        == []
    )
    w.store.close()
    w.app.state.engine.dispose()


@pytest.mark.servers
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_replay_refused_by_the_broker_keeps_the_message(tmp_path: Path) -> None:
    """POST /v1/rejects/replay with delete: a PUBACK other than Success deletes nothing."""
    from tests.gateway.helpers import (
        GATEWAY_PASSWORD,
        GATEWAY_USER,
        REPLAY_PASSWORD,
        REPLAY_USER,
        secured_mosquitto,
        user_url,
        write_registry,
    )

    write_registry(tmp_path / "registry.toml", ["meter-a1"])
    broker = secured_mosquitto(tmp_path / "mosquitto", tmp_path / "registry.toml")
    topic = "tanzhang/v1/line-a1/meter-a1/data"
    payload = b'{"ts": 1748736000000, "values": {"power_kw": 3.5}}'
    ids: list[str] = []

    def replay(url: str) -> dict:
        w.app.state.publisher = mqtt_publisher(Settings(mqtt_url=url))
        body = {"ids": ids, "delete": True}
        r = w.client.post("/v1/rejects/replay", json=body, headers=w.h("admin"))
        assert r.status_code == 200
        return r.json()

    w = build_world(tmp_path / "world")
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-sub")
    try:
        w.store.write(rejects=[Reject("device_unknown", "x", topic, payload, clock.now_ms())])
        ids += [r["id"] for r in w.client.get("/v1/rejects", headers=w.h("admin")).json()["items"]]
        # the gateway's credentials, as compose runs the API: 135 Not authorized
        body = replay(user_url(broker, GATEWAY_USER, GATEWAY_PASSWORD))
        assert body["replayed"] == [] and "reason code 135" in body["failed"][ids[0]]
        # a user that may publish, but no gateway subscribed: 16, the message reached no one
        body = replay(user_url(broker, REPLAY_USER, REPLAY_PASSWORD))
        assert body["replayed"] == [] and "reason code 16" in body["failed"][ids[0]]
        assert [r.id for r in w.store.rejects()] == ids
        # with a subscriber (the gateway's session): Success, then deleted
        got: queue.Queue[bytes] = queue.Queue()
        sub.username_pw_set(GATEWAY_USER, GATEWAY_PASSWORD)
        sub.on_message = lambda c, u, m: got.put(m.payload)
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe("tanzhang/v1/#", qos=1)
        sub.loop_start()
        deadline = time.monotonic() + 10
        while True:  # bounded wait for the subscription to be in place
            body = replay(user_url(broker, REPLAY_USER, REPLAY_PASSWORD))
            if body["replayed"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert body["replayed"] == ids and got.get(timeout=5) == payload
        assert w.store.rejects() == []
    finally:
        sub.loop_stop()
        sub.disconnect()
        broker.stop()
        w.store.close()
        w.app.state.engine.dispose()


def test_replay_reports_broker_down(tmp_path: Path) -> None:
    from tests.servers import free_port

    w = build_world(
        tmp_path, publisher=mqtt_publisher(Settings(mqtt_url=f"mqtt://127.0.0.1:{free_port()}"))
    )
    w.store.write(rejects=[Reject("device_unknown", "x", "tanzhang/v1/a/b/data", b"{}", now_ms())])
    [rej] = w.client.get("/v1/rejects", headers=w.h("admin")).json()["items"]
    body = w.client.post(
        "/v1/rejects/replay", json={"ids": [rej["id"]]}, headers=w.h("admin")
    ).json()
    assert body["replayed"] == [] and rej["id"] in body["failed"]
    assert len(w.client.get("/v1/rejects", headers=w.h("admin")).json()["items"]) == 1
    w.store.close()
    w.app.state.engine.dispose()


def test_gateway_health_passthrough_from_a_live_server(world: World) -> None:
    """The gateway's own /health document is passed through unchanged."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    doc = {"status": "ok", "spool_bytes": 0, "broker_dropped": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = world.app.state.gateway_health_url
    world.app.state.gateway_health_url = f"http://127.0.0.1:{server.server_port}/health"
    try:
        body = world.client.get("/v1/gateway/health").json()
    finally:
        world.app.state.gateway_health_url = old
        server.shutdown()
        server.server_close()
    assert body["reachable"] is True and body["status_code"] == 200
    assert body["health"] == doc


def test_register_demo_key_is_idempotent(tmp_path: Path) -> None:
    from access.keys import generate_key, register_key
    from ledger.db import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    upgrade(engine)
    key, _ = generate_key()
    with Session(engine) as s:
        a = register_key(s, key, role="operator", name="demo")
        b = register_key(s, key, role="operator", name="demo")
        assert a.id == b.id and find_key(s, key) is not None
        with pytest.raises(ValueError):
            register_key(s, "change-me", role="operator")
    engine.dispose()
