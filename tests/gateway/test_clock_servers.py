"""The gateway's clock and age limit on real servers: mosquitto_pub → mosquitto → gateway.

The gateway judges ``ts_too_old`` and ``ts_in_future`` against ``sitetime.clock`` (the clock
a ``TANZHANG_NOW`` process shifts), and its age limit is the retention of the store it
writes to: InfluxDB's ``influx_retention``, the embedded store's (none by default, so a
10-year limit).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from sitetime import clock
from sitetime.clock import OffsetClock
from telemetry.sqlite import SqliteStore
from tests.gateway.helpers import publish_one, topic, wait_for, write_registry
from tests.gateway.rig import running_gateway, settings_for, unique_db
from tests.servers import Influxd, Mosquitto

pytestmark = pytest.mark.servers

DAY_MS = 86_400_000


def _embedded(broker: Mosquitto, tmp: Path, **overrides: object):  # noqa: ANN202
    """Settings of a gateway on the embedded store (no InfluxDB URL)."""
    values: dict[str, object] = {"influx_url": None, "mqtt_client_id": "gw-clock"}
    values.update(overrides)
    # settings_for wants an influxd only for its URL, overridden here
    return settings_for(broker, _NoInflux(), tmp, "unused", **values)


class _NoInflux:
    url = "http://127.0.0.1:1"


def _reading(ts_ms: int, energy: float) -> bytes:
    return json.dumps({"ts": ts_ms, "values": {"energy_kwh_total": energy}}).encode()


def _stored_ts(store: object, now_ms: int) -> list[int]:
    got = store.series("energy_kwh_total", now_ms - 4000 * DAY_MS, now_ms + DAY_MS)  # type: ignore[attr-defined]
    return sorted(int(t) for s in got.values() for t in s.ts_ms)


def test_embedded_store_gateway_accepts_a_reading_800_days_old(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    settings = _embedded(mosquitto, tmp_path)
    old = clock.now_ms() - 800 * DAY_MS
    ancient = clock.now_ms() - 11 * 365 * DAY_MS  # beyond the 10-year limit
    with running_gateway(settings) as agent:
        assert isinstance(agent.store, SqliteStore) and agent.store.retention_ms == 0
        publish_one(mosquitto, topic("meter-0"), _reading(old, 1.0))
        publish_one(mosquitto, topic("meter-0"), _reading(ancient, 2.0))
        wait_for(lambda: agent.stats.acked == 2, 20, "both acknowledged")
        assert _stored_ts(agent.store, clock.now_ms()) == [old]
        (rej,) = agent.store.rejects(limit=10)
    assert rej.reason == "ts_too_old"
    assert "3653 days" in rej.detail and "without retention" in rej.detail


def test_influx_gateway_with_104w_retention_refuses_a_reading_800_days_old(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    settings = settings_for(
        mosquitto, influxd_session, tmp_path, unique_db("age"), influx_retention="104w"
    )
    recent = clock.now_ms() - 700 * DAY_MS
    old = clock.now_ms() - 800 * DAY_MS
    with running_gateway(settings) as agent:
        publish_one(mosquitto, topic("meter-0"), _reading(old, 1.0))
        publish_one(mosquitto, topic("meter-0"), _reading(recent, 2.0))
        wait_for(lambda: agent.stats.acked == 2, 20, "both acknowledged")
        wait_for(lambda: len(agent.store.rejects(limit=10)) == 1, 10, "the quarantine")
        (rej,) = agent.store.rejects(limit=10)
        assert _stored_ts(agent.store, clock.now_ms()) == [recent]
    assert rej.reason == "ts_too_old"
    assert "retention of 728 days (104w)" in rej.detail


def test_gateway_on_a_clock_two_years_back_accepts_readings_stamped_on_it(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A ``TANZHANG_NOW`` process two years in the past: the simulators stamp readings on
    the shifted clock, and the gateway judges them against the same clock."""
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    machine_ms = clock.now_ms()
    shifted = OffsetClock(clock.now() - timedelta(days=730))
    settings = _embedded(mosquitto, tmp_path, embedded_retention="104w")
    with clock.use_clock(shifted), running_gateway(settings) as agent:
        then = clock.now_ms()
        assert abs(then - (machine_ms - 730 * DAY_MS)) < 60_000
        # stamped now and a day ago on the shifted clock: accepted (the store keeps 104 weeks
        # counted back from the shifted clock, too)
        publish_one(mosquitto, topic("meter-0"), _reading(then - DAY_MS, 1.0))
        publish_one(mosquitto, topic("meter-0"), _reading(then, 2.0))
        # stamped on the machine's clock: two years ahead of the gateway's
        publish_one(mosquitto, topic("meter-0"), _reading(machine_ms, 3.0))
        wait_for(lambda: agent.stats.acked == 3, 20, "all acknowledged")
        assert _stored_ts(agent.store, then) == [then - DAY_MS, then]
        (rej,) = agent.store.rejects(limit=10)
        # a reading stamped by the gateway (no ts) gets the shifted time
        publish_one(mosquitto, topic("meter-0"), json.dumps({"values": {"power_kw": 1}}).encode())
        wait_for(lambda: agent.stats.acked == 4, 20, "the unstamped reading")
        (stamped,) = agent.store.series("power_kw", then - DAY_MS, clock.now_ms() + 1).values()
        assert then <= int(stamped.ts_ms[0]) <= clock.now_ms()
    assert rej.reason == "ts_in_future"
    assert rej.received_ms - then < 60_000
