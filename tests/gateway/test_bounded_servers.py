"""Bounded memory and a quarantine that keeps everything, on a real mosquitto and influxd.

- Every reject of a message is listed: 10 messages of 1,000 readings, each with one unknown
  value name, give 10,000 rejects counted by the gateway and 10,000 listed by the store
  (InfluxDB and the embedded SQLite store), the valid values of the same readings stored.
- The gateway's peak memory stays bounded whatever arrives: 20 payloads of 10 MB (through a
  broker without a size limit) and those 10 messages of ~60 KB with 1,000 rejects each, while
  a device's valid readings keep flowing; peak RSS (``VmHWM``) under 300 MB.
- The broker refuses what the contract refuses: the fixture's mosquitto, configured like
  deploy/mosquitto, does not forward a payload over 64 KiB.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.gateway.helpers import (
    T0_MS,
    GatewayProcess,
    PacedPublisher,
    count_points,
    gateway_env,
    publish_one,
    reading_line,
    topic,
    wait_count,
    wait_for,
    write_registry,
)
from tests.gateway.rig import running_gateway, settings_for, unique_db
from tests.servers import Influxd, Mosquitto, free_port

pytestmark = pytest.mark.servers

#: peak resident memory the gateway may reach in the probe [MB]
RSS_LIMIT_MB = 300
N_BATCHES = 10
BATCH = 1000


def unknown_value_batch(index: int) -> bytes:
    """A batch of 1,000 readings; each has a valid ``power_kw`` and an unknown value name."""
    readings = [
        {"ts": T0_MS + (index * BATCH + i) * 1000, "values": {"power_kw": 1.5, "bogus_x": 1}}
        for i in range(BATCH)
    ]
    body = json.dumps({"batch": readings}, separators=(",", ":")).encode()
    assert 40_000 < len(body) < 64 * 1024, len(body)  # within the contract
    return body


def peak_rss_mb(pid: int) -> float:
    """``VmHWM`` of a process: its peak resident set size [MB]."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.parametrize("store_kind", ["influx", "sqlite"])
def test_every_reject_of_a_batch_is_listed(
    store_kind: str, mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("listed")
    extra = {} if store_kind == "influx" else {"influx_url": None}
    settings = settings_for(mosquitto, influxd_session, tmp_path, db, **extra)
    with running_gateway(settings) as agent:
        for i in range(N_BATCHES):
            publish_one(mosquitto, topic("meter-0"), unknown_value_batch(i))
        want = N_BATCHES * BATCH
        wait_for(lambda: agent.stats.acked == N_BATCHES, 30, "all acknowledged")
        assert sum(agent.stats.rejected.values()) == agent.stats.rejected["value_unknown"] == want
        listed = agent.store.rejects(limit=2 * want)
        assert len(listed) == len({r.id for r in listed}) == want
        assert len({r.message for r in listed}) == N_BATCHES
        assert sorted(r.item for r in listed) == sorted(list(range(BATCH)) * N_BATCHES)
        series = agent.store.series("power_kw", T0_MS, T0_MS + 10**9)
        assert len(series[("line-a1", "meter-0")]) == want  # the valid values were kept


@pytest.mark.slow
def test_gateway_memory_stays_bounded_under_hostile_input(
    influxd_session: Influxd, tmp_path: Path
) -> None:
    # a broker without a size limit, so that the 10 MB payloads reach the gateway
    broker = Mosquitto(tmp_path / "mosquitto", message_size_limit=0).start()
    write_registry(tmp_path / "registry.toml", ["meter-0", "meter-1"])
    db = unique_db("rss")
    env = gateway_env(
        broker=broker,
        influxd=influxd_session,
        db=db,
        data_dir=tmp_path / "data",
        registry=tmp_path / "registry.toml",
        client_id="gw-rss",
    )
    port = free_port()
    env["TANZHANG_GATEWAY_HTTP_PORT"] = str(port)
    gw = GatewayProcess(env, tmp_path / "gw.log").start()
    n_valid = 6000
    try:
        valid = PacedPublisher(
            broker,
            topic("meter-1"),
            [reading_line(s) for s in range(n_valid)],
            chunk=500,
            pause_s=0.5,
        ).start()
        huge = b'{"values": {"power_kw": 1}, "pad": "' + b"x" * (10 << 20) + b'"}'
        for _ in range(20):
            publish_one(broker, topic("meter-0"), huge)
        for i in range(N_BATCHES):
            publish_one(broker, topic("meter-0"), unknown_value_batch(i))
        valid.join()
        assert wait_count(influxd_session, db, n_valid, 60) == n_valid
        want = N_BATCHES * BATCH + 20
        health: dict = {}

        def all_counted() -> bool:
            nonlocal health
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
            return health["acked"] == n_valid + 20 + N_BATCHES

        wait_for(all_counted, 60, "every message acknowledged")
        assert health["rejected"] == {"payload_too_large": 20, "value_unknown": N_BATCHES * BATCH}
        where = "WHERE device = 'meter-0'"
        assert count_points(influxd_session, db, "power_kw", where) == N_BATCHES * BATCH
        peak = peak_rss_mb(gw.proc.pid)  # type: ignore[union-attr]
        assert peak < RSS_LIMIT_MB, f"gateway peak RSS {peak:.0f} MB"
    finally:
        assert gw.stop() == 0, gw.log()
        broker.stop()
    from telemetry.influx import InfluxStore

    with InfluxStore(influxd_session.url, db=db) as store:
        listed = store.rejects(limit=2 * want)
    assert len(listed) == want
    too_large = [r for r in listed if r.reason == "payload_too_large"]
    assert {(len(r.payload), r.payload_size) for r in too_large} == {(64 * 1024, len(huge))}


def test_the_broker_refuses_a_payload_over_the_contract(mosquitto: Mosquitto) -> None:
    got: queue.Queue[bytes] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="size-probe")
    sub.on_message = lambda c, u, m: got.put(m.payload)
    sub.on_subscribe = lambda c, u, mid, codes, p: got.put(b"subscribed")
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("probe/#", qos=1)
    sub.loop_start()
    try:
        assert got.get(timeout=10) == b"subscribed"
        publish_one(mosquitto, "probe/big", b"x" * (64 * 1024 + 1))
        publish_one(mosquitto, "probe/small", b"marker")
        # published after the big one was acknowledged: once the marker is here, the big one
        # would have been too
        assert got.get(timeout=10) == b"marker"
        time.sleep(0.2)
        assert got.empty()
    finally:
        sub.loop_stop()
        sub.disconnect()
