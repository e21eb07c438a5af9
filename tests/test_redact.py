"""Secrets never shown: :func:`telemetry.redact.redact_url`, ``Settings.describe()``, and what
every command logs or prints at start (and when it cannot start) with secrets in its settings.

The start-up tests need no server: the MQTT broker, InfluxDB and PostgreSQL URLs point at
closed loopback ports, so each command also takes its error path (tests/test_secrets_in_logs.py
runs the gateway and the API against real servers).
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tanzhang.settings import Settings
from telemetry.redact import redact_url
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mqtt://gateway-1:pa55@broker:1883", "mqtt://gateway-1:***@broker:1883"),
        ("mqtt://broker:1883", "mqtt://broker:1883"),
        ("postgresql+psycopg://tz:p%40ss@db:5432/tz", "postgresql+psycopg://tz:***@db:5432/tz"),
        ("postgresql://db/tz?user=tz&password=pa55", "postgresql://db/tz?user=tz&password=***"),
        ("http://u:pa55@influx:8086/query?u=u&p=pa55&db=x", "http://u:***@influx:8086/query?u=u&p=***&db=x"),
        ("http://user:p@ss:word@host:1", "http://user:***@host:1"),
        ("sqlite:////var/lib/tanzhang/accounts.db", "sqlite:////var/lib/tanzhang/accounts.db"),
        (None, None),
    ],
)  # fmt: skip
def test_redact_url(url: str | None, shown: str | None) -> None:
    assert redact_url(url) == shown


def test_describe_masks_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TANZHANG_"):
            monkeypatch.delenv(name)
    s = Settings(
        environment="production",
        mqtt_url="mqtts://gateway-1:mqtt%40pass-2@broker:8883?cafile=/etc/ca.pem",
        influx_url="http://reader:influx-pass-3@influx:8086",
        influx_user="tanzhang",
        influx_password="influx-pass-4",
        influx_token="influx-token-5",
        database_url="postgresql+psycopg://tanzhang:pg-pass-6@db:5432/tanzhang",
        gateway_health_url="http://ops:health-pass-7@gateway-1:9101/health",
        demo_api_key="tzk_00000000_demo-key-8-of-the-right-length-000000",
        report_signing_key="/run/secrets/report-signing-key.pem",
    )
    shown = s.describe_text()
    for secret in ("mqtt@pass-2", "mqtt%40pass-2", "influx-pass-3", "influx-pass-4",
                   "influx-token-5", "pg-pass-6", "health-pass-7", "demo-key-8"):  # fmt: skip
        assert secret not in shown
    assert "database_url=postgresql+psycopg://tanzhang:***@db:5432/tanzhang" in shown
    assert "influx_password=set" in shown and "influx_user=tanzhang" in shown
    assert "mqtt_url=mqtts://gateway-1:***@broker:8883?cafile=/etc/ca.pem" in shown


SECRETS = {name: f"{name}-{secrets.token_urlsafe(24)}" for name in ("mqtt", "influx-url",
           "influx-password", "postgres", "demo-key")}  # fmt: skip
REGISTRY = """
[[entities]]
id = "factory-a"
kind = "factory"

[[entities]]
id = "line-a1"
kind = "line"
parent = "factory-a"
"""


def _env(tmp_path: Path, *, postgres: bool) -> dict[str, str]:
    """Settings with every secret set, every server a closed port; a registry with one entity
    (so that the scheduled closes read the store)."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "registry.toml").write_text(REGISTRY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "TANZHANG_DATA_DIR": str(tmp_path / "data"),
        "TANZHANG_REGISTRY": str(tmp_path / "registry.toml"),
        "TANZHANG_GATEWAY_HTTP_PORT": "0",
        "TANZHANG_MQTT_URL": f"mqtt://gateway-1:{quote(SECRETS['mqtt'])}@127.0.0.1:{free_port()}",
        "TANZHANG_INFLUX_URL": f"http://tanzhang:{SECRETS['influx-url']}@127.0.0.1:{free_port()}",
        "TANZHANG_INFLUX_USER": "tanzhang",
        "TANZHANG_INFLUX_PASSWORD": SECRETS["influx-password"],
        "TANZHANG_DEMO_API_KEY": f"tzk_{secrets.token_hex(4)}_{SECRETS['demo-key']}",
    }
    if postgres:
        env["TANZHANG_DATABASE_URL"] = (
            f"postgresql+psycopg://tanzhang:{SECRETS['postgres']}@127.0.0.1:{free_port()}/tanzhang"
        )
    return env


def _run_until(argv: list[str], env: dict[str, str], needle: str | None) -> tuple[int, str]:
    """Run ``tanzhang ARGV``; stop it (SIGTERM) once ``needle`` was written, or let it exit.
    Returns (exit code, everything written to stdout and stderr)."""
    log = Path(env["TANZHANG_DATA_DIR"]).parent / f"{argv[0]}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tanzhang.cli", *argv],
            env=env,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if needle and needle in log.read_text(errors="replace"):
                proc.send_signal(signal.SIGTERM)
                break
            time.sleep(0.2)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, log.read_text(errors="replace")


def _assert_no_secret(text: str) -> None:
    for name, secret in SECRETS.items():
        forms = {secret, quote(secret, safe="")}
        forms |= {
            base64.b64encode(f"{u}:{secret}".encode()).decode() for u in ("tanzhang", "gateway-1")
        }
        for form in forms:
            assert form not in text, f"the {name} secret appears: {form!r} in\n{text[-3000:]}"


@pytest.mark.parametrize(
    ("argv", "postgres", "needle", "shown"),
    [
        # long-running: their settings line, then the store's (or broker's) error path
        (["gateway"], True, "event=store_not_ready",
         ["event=gateway_settings", "database_url=postgresql+psycopg://tanzhang:***@",
          "mqtt_url=mqtt://gateway-1:***@", "influx_password=set", "demo_api_key=set",
          "InfluxDB at http://tanzhang:***@"]),
        (["api", "--port", "0"], False, "unreachable",
         ["event=api_settings", "influx_url=http://tanzhang:***@", "influx_password=set",
          "InfluxDB at http://tanzhang:***@"]),
        (["scheduler"], False, "unreachable",
         ["event=scheduler_settings", "mqtt_url=mqtt://gateway-1:***@",
          "InfluxDB at http://tanzhang:***@"]),
        # cannot start: one line that names the server, the password masked
        (["api"], True, None, ["tanzhang api: cannot open the accounts database "
                               "postgresql+psycopg://tanzhang:***@"]),
        (["scheduler"], True, None, ["tanzhang scheduler: cannot open the accounts database "
                                     "postgresql+psycopg://tanzhang:***@"]),
        (["keys", "list"], True, None, ["tanzhang keys: cannot open the accounts database "
                                        "postgresql+psycopg://tanzhang:***@"]),
        (["close", "--catch-up"], False, None, ["tanzhang close: the telemetry store cannot be "
                                                "used: InfluxDB at http://tanzhang:***@"]),
        (["rejects", "list"], False, None, ["InfluxDB at http://tanzhang:***@"]),
        (["run", "--no-simulators", "--port", "0"], False, None,
         ["tanzhang run: the telemetry store cannot be used: InfluxDB at http://tanzhang:***@"]),
    ],
    ids=["gateway", "api", "scheduler", "api-no-db", "scheduler-no-db", "keys-no-db",
         "close-no-store", "rejects-no-store", "run-no-store"],
)  # fmt: skip
def test_no_secret_in_what_a_command_writes_at_start(
    tmp_path: Path, argv: list[str], postgres: bool, needle: str | None, shown: list[str]
) -> None:
    code, text = _run_until(argv, _env(tmp_path, postgres=postgres), needle)
    _assert_no_secret(text)
    for part in shown:  # the lines that would carry the secrets are there, masked
        assert part in text, f"{part!r} not written:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    if needle is None:  # it could not start: it says why on one line
        assert code in (1, 2), text
        lines = [ln for ln in text.splitlines() if ln.strip() and ln != "tanzhang stopped."]
        assert len(lines) == 1, text
