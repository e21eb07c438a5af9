"""The embedded broker (amqtt) and the gateway through a burst with slow writes.

Stock amqtt gives up on a delivery 5 s after sending it without the subscriber's PUBACK and
logs "Timeout waiting for PUBACK" with a traceback; the gateway acknowledges after its write,
so a write slower than that tripped it by the thousand during the demo's back-fill. Here the
gateway writes to a real SQLite store whose first writes take longer than 5 s (as a busy disk
would) while a publisher sends a burst; the broker must log no give-up and every reading must
be stored once.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gateway.service import build
from sitetime import clock
from tanzhang.embedded_broker import EmbeddedBroker
from tanzhang.settings import Settings
from telemetry.registry_cli import main as registry_cli
from telemetry.sqlite import SqliteStore

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.filterwarnings("ignore:.*psutil.*"),  # amqtt's $SYS plugin, off here anyway
]

N_MESSAGES = 3000
SLOW_WRITES, SLOW_S = 2, 6.5  # longer than amqtt's stock 5 s PUBACK wait


class SlowDiskStore(SqliteStore):
    """The embedded SQLite store whose first writes stall, as on a busy disk."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.slow_left = SLOW_WRITES
        self.stalled = 0
        self._lock = threading.Lock()

    def write(self, readings=(), events=(), rejects=()) -> None:  # noqa: ANN001
        with self._lock:
            stall = bool(readings) and self.slow_left > 0
            self.slow_left -= stall
        if stall:
            self.stalled += 1
            time.sleep(SLOW_S)
        super().write(readings, events, rejects)


def _registry(path: Path) -> None:
    for argv in (
        ["add-entity", "factory-a", "--kind", "factory"],
        ["add-entity", "line-a1", "--kind", "line", "--parent", "factory-a"],
        ["add-device", "meter-a1", "--entity", "line-a1", "--role", "electricity_meter"],
    ):
        err = io.StringIO()
        assert registry_cli(argv, registry_path=path, stdout=io.StringIO(), stderr=err) == 0, (
            err.getvalue()
        )


def test_slow_writes_trip_no_puback_timeout_and_lose_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amqtt")
    _registry(tmp_path / "registry.toml")
    broker = EmbeddedBroker(port=0).start()
    store = SlowDiskStore(tmp_path / "telemetry.sqlite", retention=None)
    store.ensure_ready()
    settings = Settings(
        data_dir=tmp_path,
        mqtt_url=broker.url,
        mqtt_protocol="3.1.1",
        mqtt_client_id="gateway-embedded",
        gateway_http_port=0,
    )
    agent = build(settings, store=store, http_port=None)
    agent.start()
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="burst", protocol=MQTTProtocolVersion.MQTTv311
    )
    try:
        pub.max_inflight_messages_set(100)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        # the gateway's subscription is in place once a status message reaches it (before
        # that, amqtt drops what it has no subscriber for)
        deadline = time.monotonic() + 30
        while agent.health()["received"] == 0:
            assert time.monotonic() < deadline, "the gateway never subscribed"
            pub.publish("tanzhang/v1/line-a1/meter-a1/status", "online", qos=1)
            time.sleep(0.2)
        t0 = clock.now_ms() - N_MESSAGES * 1000
        infos = [
            pub.publish(
                "tanzhang/v1/line-a1/meter-a1/data",
                json.dumps({"ts": t0 + 1000 * i, "values": {"power_kw": float(i)}}),
                qos=1,
            )
            for i in range(N_MESSAGES)
        ]
        for info in infos:
            info.wait_for_publish(60)
        # stored directly or through the gateway's spool (a slow store may be spooled)
        deadline = time.monotonic() + 120
        while _stored(tmp_path)[0] < N_MESSAGES:
            health = agent.health()
            assert time.monotonic() < deadline, (
                _stored(tmp_path),
                {k: health.get(k) for k in ("received", "acked", "readings_written")},
                health.get("spool"),
            )
            time.sleep(0.25)
        time.sleep(1.0)  # a late give-up would be logged by now
    finally:
        pub.disconnect()
        pub.loop_stop()
        agent.stop()
        broker.stop()
        store.close()
    assert store.stalled == SLOW_WRITES  # the writes were slow indeed
    given_up = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("amqtt")
        and ("PUBACK" in r.getMessage() or "Task failed" in r.getMessage())
    ]
    assert given_up == [], given_up[:5]
    assert _stored(tmp_path) == (N_MESSAGES, N_MESSAGES)


def _stored(folder: Path) -> tuple[int, int]:
    """(readings, distinct timestamps) in the store's file."""
    db = sqlite3.connect(folder / "telemetry.sqlite", timeout=30)
    try:
        return db.execute("SELECT count(*), count(DISTINCT ts_ms) FROM readings").fetchone()
    finally:
        db.close()


def test_no_simulators_needs_a_real_broker(tmp_path: Path) -> None:
    """Real devices are never invited onto the in-memory broker: ``tanzhang run
    --no-simulators`` without TANZHANG_MQTT_URL stops at once and says why."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    run = subprocess.run(
        [sys.executable, "-m", "tanzhang.cli", "run", "--no-simulators"],
        env=env | {"TANZHANG_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "TANZHANG_MQTT_URL" in run.stderr and "memory" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "data").exists()  # nothing started, nothing made
