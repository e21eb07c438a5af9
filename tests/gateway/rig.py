"""An in-process gateway on a real mosquitto and a real influxd (integration tests)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.agent import Agent
from gateway.mqtt import MqttSource
from gateway.service import build
from tanzhang.settings import Settings
from tests.servers import Influxd, Mosquitto

_db_numbers = itertools.count(1)


def unique_db(name: str) -> str:
    return f"{name}_{next(_db_numbers)}"


def settings_for(
    broker: Mosquitto,
    influxd: Influxd,
    tmp: Path,
    db: str,
    **overrides: object,
) -> Settings:
    values: dict[str, object] = {
        "mqtt_url": broker.url,
        "influx_url": influxd.url,
        "influx_db": db,
        "data_dir": tmp / "data",
        "registry": tmp / "registry.toml",
        "mqtt_client_id": "gw-inproc",
        "batch_size": 500,
        "batch_age_ms": 100,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_gateway(settings: Settings, *, http_port: int | None = 0) -> Iterator[Agent]:
    """Start a gateway in this process; stop it gracefully afterwards."""
    agent = build(settings, http_port=http_port, stats_interval_s=1.0)
    try:
        agent.store.ensure_ready()
        agent.output.needs_ready = False
    except Exception:
        pass  # the test may have the store down on purpose
    agent.start()
    assert isinstance(agent.source, MqttSource)
    assert agent.source.wait_connected(10), "gateway did not connect to mosquitto"
    try:
        yield agent
    finally:
        agent.stop()
        agent.store.close()
