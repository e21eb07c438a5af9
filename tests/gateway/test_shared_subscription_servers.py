"""Two gateways share one subscription ($share/<group>/...): they split the load, and when one
is SIGKILLed the other carries on; the killed one, restarted with the same client id, gets
back what was in flight to it (docs/design-notes.md trap 3), so nothing is lost.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.gateway.helpers import (
    GatewayProcess,
    PacedPublisher,
    count_points,
    gateway_env,
    reading_line,
    topic,
    wait_count,
    wait_for,
    write_registry,
)
from tests.gateway.rig import unique_db
from tests.gateway.test_resilience_servers import energy_sum, per_device_counts
from tests.servers import Influxd, Mosquitto, free_port

pytestmark = pytest.mark.servers


def received(port: int) -> int:
    return int(httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["received"])


def test_two_gateways_split_the_load_and_survive_a_kill(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    devices = [f"meter-{i}" for i in range(4)]
    n = 5000
    total = n * len(devices)
    write_registry(tmp_path / "registry.toml", devices)
    db = unique_db("shared")
    ports = {"gw-a": free_port(), "gw-b": free_port()}
    envs = {}
    for gid, port in ports.items():
        envs[gid] = gateway_env(
            broker=mosquitto,
            influxd=influxd_session,
            db=db,
            data_dir=tmp_path / "data",
            registry=tmp_path / "registry.toml",
            client_id=gid,
            share_group="gateways",
        )
        envs[gid]["TANZHANG_GATEWAY_HTTP_PORT"] = str(port)
    gws = {gid: GatewayProcess(env, tmp_path / f"{gid}.log").start() for gid, env in envs.items()}
    try:
        pubs = [
            PacedPublisher(
                mosquitto,
                topic(d),
                [reading_line(s, device_index=i) for s in range(n)],
                chunk=500,
                pause_s=0.25,
            ).start()
            for i, d in enumerate(devices)
        ]
        wait_for(lambda: count_points(influxd_session, db) > total // 5, 30, "progress")
        a, b = received(ports["gw-a"]), received(ports["gw-b"])
        assert a > 0 and b > 0, f"both gateways take a share ({a}, {b})"
        gws["gw-b"].kill()
        a_at_kill = received(ports["gw-a"])
        time.sleep(2.0)
        assert received(ports["gw-a"]) > a_at_kill, "the survivor carries on"
        for p in pubs:
            p.join()
        # mosquitto 2.0.11 keeps handing the dead replica its share of new messages (queued in
        # its persistent session: measured 7,000 of 20,000 here); they arrive once it is back.
        gws["gw-b"] = GatewayProcess(envs["gw-b"], tmp_path / "gw-b.log").start()
        assert wait_count(influxd_session, db, total, 60) == total
        time.sleep(1.0)
        assert per_device_counts(influxd_session, db) == {d: n for d in devices}
        assert energy_sum(influxd_session, db) == len(devices) * sum(range(n))
    finally:
        codes = {gid: gw.stop() for gid, gw in gws.items()}
    assert codes == {"gw-a": 0, "gw-b": 0}, {gid: gw.log() for gid, gw in gws.items()}
