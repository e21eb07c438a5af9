"""No secret in any log line: the gateway and the API started as docker-compose.yml runs them.

The environment of ``gateway-1`` and ``api`` is taken from docker-compose.yml itself, with
each ``${SECRET:?...}`` filled by a distinctive random value and the service host names
pointed at real servers on loopback (mosquitto with the exported password and ACL files,
influxd, PostgreSQL). Both processes run, ingest and answer requests; then both run again
against an InfluxDB URL that carries ``user:password`` and cannot be reached, so that the
error paths log too. Every line either wrote is searched for every secret, plainly, URL-quoted
and base64-encoded (as in an HTTP basic authentication header).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from sitetime import clock
from telemetry.registry_cli import main as registry_cli
from tests.pg import PostgresServer, postgres_server
from tests.servers import Influxd, Mosquitto, free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SECRET_VARS = (
    "INFLUXDB_PASSWORD",
    "POSTGRES_PASSWORD",
    "MQTT_GATEWAY_PASSWORD",
    "MQTT_REPLAY_PASSWORD",
)
DEVICE_PASSWORD = "meter-a1-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


def _registry_cli(path: Path, *argv: str) -> None:
    err = io.StringIO()
    code = registry_cli(list(argv), registry_path=path, stdout=io.StringIO(), stderr=err)
    assert code == 0, err.getvalue()


def compose_env(service: str, values: dict[str, str], hosts: dict[str, str]) -> dict[str, str]:
    """The service's environment from docker-compose.yml with secrets and hosts filled in."""
    out = {}
    for name, value in COMPOSE["services"][service]["environment"].items():
        value = re.sub(r"\$\{(\w+)(:\?[^}]*)?\}", lambda m: values[m.group(1)], str(value))
        for host, local in hosts.items():
            value = value.replace(host, local)
        out[name] = value
    return out


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    with log.open("ab") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "tanzhang.cli", *argv],
            env={**base, **env},
            cwd=ROOT,
            stdout=f,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_json(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(url, timeout=2).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()[-3000:]}")


def _wait_log(log: Path, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never logged:\n{log.read_text()[-3000:]}")


def _publish(port: int, n: int) -> None:
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="meter-a1", protocol=MQTTProtocolVersion.MQTTv5
    )
    c.username_pw_set("meter-a1", DEVICE_PASSWORD)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        now = clock.now_ms()
        for i in range(n):
            payload = json.dumps({"ts": now - 1000 * (n - i), "values": {"power_kw": 40.0 + i}})
            c.publish("tanzhang/v1/line-a1/meter-a1/data", payload, qos=1).wait_for_publish(10)
    finally:
        c.disconnect()
        c.loop_stop()


def test_no_secret_in_the_logs_of_a_compose_like_start(
    tmp_path: Path, influxd_session: Influxd, pg: PostgresServer
) -> None:
    values = {name: f"{name.lower()}-{secrets.token_urlsafe(12)}" for name in SECRET_VARS}
    # the report-signing key is a file (its path is no secret; its content is checked below)
    key_file = tmp_path / "report-signing-key.pem"
    subprocess.run(
        [sys.executable, "-m", "tanzhang.cli", "report", "keygen", str(key_file)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    files = {"TANZHANG_REPORT_SIGNING_KEY": str(key_file)}
    # the accounts database: a role with the compose password (the test cluster trusts
    # loopback, so the password is carried everywhere but not checked)
    db = f"tz_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        pg.url().replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as c:
        c.execute(f"CREATE ROLE tanzhang LOGIN PASSWORD '{values['POSTGRES_PASSWORD']}'")
        c.execute(f'CREATE DATABASE "{db}" OWNER tanzhang')

    reg = tmp_path / "registry.toml"
    _registry_cli(reg, "add-entity", "factory-a", "--kind", "factory")
    _registry_cli(reg, "add-entity", "line-a1", "--kind", "line", "--parent", "factory-a")
    _registry_cli(reg, "add-device", "meter-a1", "--entity", "line-a1",
                  "--role", "electricity_meter", "--password", DEVICE_PASSWORD)  # fmt: skip
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    _registry_cli(reg, "export", "--passwd", str(pw), "--acl", str(acl),
                  "--gateway-user", "gateway-1", "--gateway-user", "gateway-2",
                  "--gateway-password", values["MQTT_GATEWAY_PASSWORD"],
                  "--replay-user", "replay",
                  "--replay-password", values["MQTT_REPLAY_PASSWORD"])  # fmt: skip
    broker = Mosquitto(tmp_path / "mosquitto", password_file=pw, acl_file=acl).start()

    gw_port, api_port = free_port(), free_port()
    hosts = {
        "@mosquitto:1883": f"@127.0.0.1:{broker.port}",
        "http://influxdb:8086": influxd_session.url,
        "@postgres:5432/tanzhang": f"@127.0.0.1:{pg.port}/{db}",
        "http://gateway-1:9101": f"http://127.0.0.1:{gw_port}",
    }
    local = {
        "TANZHANG_REGISTRY": str(reg),
        "TANZHANG_INFLUX_DB": db,
        "TANZHANG_GATEWAY_HTTP_PORT": str(gw_port),
    }
    gw_env = compose_env("gateway-1", values | files, hosts) | local
    api_env = compose_env("api", values | files, hosts) | local
    for env, volume in ((gw_env, "gateway-1-data"), (api_env, "api-data")):
        env["TANZHANG_DATA_DIR"] = str(tmp_path / volume)  # compose mounts a volume there
        (tmp_path / volume).mkdir()
    assert gw_env["TANZHANG_ENVIRONMENT"] == api_env["TANZHANG_ENVIRONMENT"] == "production"

    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # 1. both up, as compose runs them: ingest a few readings, answer a few requests
        gw_log, api_log = logs / "gateway.log", logs / "api.log"
        procs.append(gw := _start(["gateway"], gw_env, gw_log))
        _wait_json(f"http://127.0.0.1:{gw_port}/health", gw, gw_log)
        created = subprocess.run(
            [sys.executable, "-m", "tanzhang.cli", "keys", "create", "--role", "admin"],
            env={**os.environ, **api_env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        key = re.search(r"tzk_[0-9a-f]{8}_\S+", created.stdout).group(0)
        (logs / "keys-create.stderr").write_text(created.stderr)  # stdout shows the key once
        procs.append(api := _start(["api", "--host", "127.0.0.1", "--port", str(api_port)],
                                   api_env, api_log))  # fmt: skip
        base = f"http://127.0.0.1:{api_port}"
        _wait_json(f"{base}/v1/health", api, api_log)
        _publish(broker.port, 5)
        deadline = time.monotonic() + 30
        while httpx.get(f"http://127.0.0.1:{gw_port}/health").json()["readings_written"] < 5:
            assert time.monotonic() < deadline, "the gateway did not write the readings"
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/v1/gateway/health", headers=auth).status_code == 200
        assert httpx.get(f"{base}/v1/accounts", headers=auth).status_code == 200
        assert httpx.get(f"{base}/v1/accounts", headers={"X-API-Key": key + "x"}).status_code == 401
        for proc in procs:
            _stop(proc)

        # 2. an InfluxDB URL with user:password that cannot be reached: the error paths log
        dead = f"http://tanzhang:{values['INFLUXDB_PASSWORD']}@127.0.0.1:{free_port()}"
        gw_log, api_log = logs / "gateway-influx-down.log", logs / "api-influx-down.log"
        procs.append(gw := _start(["gateway"], gw_env | {"TANZHANG_INFLUX_URL": dead}, gw_log))
        procs.append(api := _start(["api", "--host", "127.0.0.1", "--port", str(api_port)],
                                   api_env | {"TANZHANG_INFLUX_URL": dead}, api_log))  # fmt: skip
        _wait_log(gw_log, "event=store_not_ready")
        _wait_log(api_log, "unreachable")  # the scheduler's catch-up close fails
    finally:
        for proc in procs:
            _stop(proc)
        broker.stop()

    text = "\n".join(p.read_text(errors="replace") for p in sorted(logs.iterdir()))
    assert key not in text
    pem = key_file.read_text().splitlines()
    assert "".join(pem[1:-1]) not in text.replace("\n", "")  # the report key's content
    for name, secret in values.items():
        forms = {secret, quote(secret, safe="")}
        for user in ("tanzhang", "gateway-1", "replay"):
            forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
        for form in forms:
            assert form not in text, f"{name} appears in a log: {form!r}"
    # the lines that would carry them are there, masked
    assert "event=gateway_settings" in text
    assert f"database_url=postgresql+psycopg://tanzhang:***@127.0.0.1:{pg.port}/{db}" in text
    assert "mqtt_url=mqtt://gateway-1:***@" in text
    assert "InfluxDB at http://tanzhang:***@127.0.0.1:" in text
