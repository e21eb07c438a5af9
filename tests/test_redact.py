"""Secrets never shown: :func:`telemetry.redact.redact_url` and ``Settings.describe()``."""

from __future__ import annotations

import os

import pytest

from tanzhang.settings import Settings
from telemetry.redact import redact_url


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
        secret_key="secret-key-value-1",
        mqtt_url="mqtt://gateway-1:mqtt-pass-2@broker:1883",
        influx_url="http://reader:influx-pass-3@influx:8086",
        influx_user="tanzhang",
        influx_password="influx-pass-4",
        influx_token="influx-token-5",
        database_url="postgresql+psycopg://tanzhang:pg-pass-6@db:5432/tanzhang",
        gateway_health_url="http://ops:health-pass-7@gateway-1:9101/health",
        demo_api_key="tzk_00000000_demo-key-8",
        report_signing_key="/run/secrets/report-signing-key.pem",
    )
    shown = " ".join(f"{k}={v}" for k, v in s.describe().items())
    for secret in ("secret-key-value-1", "mqtt-pass-2", "influx-pass-3", "influx-pass-4",
                   "influx-token-5", "pg-pass-6", "health-pass-7", "demo-key-8"):  # fmt: skip
        assert secret not in shown
    assert "database_url=postgresql+psycopg://tanzhang:***@db:5432/tanzhang" in shown
    assert "influx_password=set" in shown and "influx_user=tanzhang" in shown
