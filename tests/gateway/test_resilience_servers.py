"""Nothing lost, nothing double-counted: gateway SIGKILL, InfluxDB down 30 s, broker restart,
and the spool bound (stop acknowledging; the broker holds the backlog).

Every reading carries a distinct timestamp and ``energy_kwh_total = seq``; a redelivered
reading overwrites itself (same series and timestamp), so ``count`` equal to the number
published and ``sum`` equal to the sum of the sequence numbers prove both properties.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

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
from tests.gateway.rig import running_gateway, settings_for, unique_db
from tests.servers import Influxd, Mosquitto

pytestmark = pytest.mark.servers


def energy_sum(influxd: Influxd, db: str) -> float:
    series = influxd.query('SELECT sum("energy_kwh_total") FROM telemetry', db=db)
    return float(series[0]["values"][0][1]) if series else 0.0


def per_device_counts(influxd: Influxd, db: str) -> dict[str, int]:
    out = {}
    for s in influxd.query(
        'SELECT count("energy_kwh_total") FROM telemetry GROUP BY device', db=db
    ):
        out[s["tags"]["device"]] = int(s["values"][0][1])
    return out


def test_sigkill_mid_stream_then_restart(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    devices = ["meter-0", "meter-1", "meter-2"]
    n = 8000
    write_registry(tmp_path / "registry.toml", devices)
    db = unique_db("sigkill")
    env = gateway_env(
        broker=mosquitto,
        influxd=influxd_session,
        db=db,
        data_dir=tmp_path / "data",
        registry=tmp_path / "registry.toml",
        client_id="gw-kill",
    )
    gw = GatewayProcess(env, tmp_path / "gw.log").start()
    try:
        pubs = [
            PacedPublisher(
                mosquitto,
                topic(d),
                [reading_line(s, device_index=i) for s in range(n)],
                chunk=1000,
                pause_s=0.3,
            ).start()
            for i, d in enumerate(devices)
        ]
        wait_for(lambda: count_points(influxd_session, db) > 2000, 20, "some points stored")
        gw.kill()  # SIGKILL: no flush, no acknowledgement of the open batches
        killed_at = count_points(influxd_session, db)
        assert killed_at < n * len(devices), "killed mid-stream"
        time.sleep(1.0)
        gw = GatewayProcess(env, tmp_path / "gw.log").start()  # same client id
        for p in pubs:
            p.join()
        assert wait_count(influxd_session, db, n * len(devices), 60) == n * len(devices)
        time.sleep(1.0)  # anything late (a double write) would show in the checks below
        assert per_device_counts(influxd_session, db) == {d: n for d in devices}
        assert energy_sum(influxd_session, db) == len(devices) * sum(range(n))
    finally:
        assert gw.stop() == 0, gw.log()


def test_influxd_down_30_s_mid_stream(
    mosquitto: Mosquitto, influxd: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("outage")
    n = 12_000
    settings = settings_for(mosquitto, influxd, tmp_path, db, mqtt_client_id="gw-outage")
    with running_gateway(settings) as agent:
        pub = PacedPublisher(
            mosquitto, topic("meter-0"), [reading_line(s) for s in range(n)], chunk=400, pause_s=1.0
        ).start()
        wait_for(lambda: count_points(influxd, db) > 500, 20, "points before the outage")
        influxd.stop()
        t_down = time.monotonic()
        wait_for(lambda: agent.stats.spooled_batches > 0, 10, "spooling")
        health = agent.health()
        assert health["status"] == "degraded" and not health["store_reachable"]
        time.sleep(max(0.0, 30 - (time.monotonic() - t_down)))
        spooled = agent.spool.points
        assert spooled > 5000, "live traffic kept flowing into the spool"
        wait_for(
            lambda: agent.stats.acked == agent.stats.received,
            5,
            "spooled messages acknowledged",
            0.02,
        )
        influxd.start()
        pub.join()
        assert wait_count(influxd, db, n, 60) == n
        wait_for(lambda: agent.spool.empty, 10, "spool replayed")
        assert energy_sum(influxd, db) == sum(range(n))
        assert agent.stats.replayed_points >= spooled
        assert agent.health()["status"] == "ok"
        assert not list((settings.spool_dir).glob("*.seg")), "replayed segments deleted"


def test_broker_restart_mid_stream(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("brokerrestart")
    n = 10_000
    lines = [reading_line(s) for s in range(n)]
    settings = settings_for(mosquitto, influxd_session, tmp_path, db, mqtt_client_id="gw-brk")
    with running_gateway(settings) as agent:
        first = PacedPublisher(
            mosquitto, topic("meter-0"), lines[: n // 2], chunk=1000, pause_s=0.1
        )
        first.start().join()
        mosquitto.restart()  # while the gateway still works through the first half
        assert agent.source.wait_connected(20)
        wait_for(lambda: agent.source.connects >= 2, 20, "reconnect")
        PacedPublisher(
            mosquitto, topic("meter-0"), lines[n // 2 :], chunk=1000, pause_s=0.1
        ).start().join()
        assert wait_count(influxd_session, db, n, 60) == n
        assert energy_sum(influxd_session, db) == sum(range(n))
        health = agent.health()
        assert health["mqtt_connected"]
        wait_for(lambda: agent.source.broker_dropped is not None, 5, "$SYS dropped count")
        assert agent.source.broker_dropped == 0


def test_spool_bound_stops_acknowledging_broker_holds_backlog(
    mosquitto: Mosquitto, influxd: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("bound")
    n = 20_000
    bound = 1 << 20  # the smallest bound the settings accept: about 9,000 readings here
    settings = settings_for(
        mosquitto, influxd, tmp_path, db, mqtt_client_id="gw-bound", spool_max_bytes=bound
    )
    influxd.stop()
    with running_gateway(settings) as agent:
        PacedPublisher(
            mosquitto, topic("meter-0"), [reading_line(s) for s in range(n)], chunk=5000, pause_s=0
        ).start().join()
        wait_for(lambda: agent.stats.held_batches > 0, 30, "spool full")
        time.sleep(1.0)
        acked = agent.stats.acked
        time.sleep(1.0)
        assert agent.stats.acked == acked < n, "no acknowledgement at the bound"
        assert agent.spool.disk_bytes <= bound
        # held in memory: at most ReceiveMaximum (+ a batch on its way); mosquitto 2.0.11 sends
        # past ReceiveMaximum, so the gateway disconnects and the broker holds the backlog
        assert agent.output.held_messages <= agent.source.receive_maximum + settings.batch_size
        health = agent.health()
        assert health["status"] == "degraded"
        influxd.start()
        assert wait_count(influxd, db, n, 90) == n
        wait_for(
            lambda: agent.spool.empty and not agent.output.suspended and agent.source.connected,
            20,
            "spool drained, source resumed",
        )
        assert energy_sum(influxd, db) == sum(range(n))
        assert agent.source.broker_dropped == 0


@pytest.mark.slow
def test_influxd_stopped_20_s_health_tells_and_spool_takes_over(
    mosquitto: Mosquitto, influxd: Influxd, tmp_path: Path
) -> None:
    """SIGSTOP keeps influxd's socket open and answers nothing: the write in progress
    stalls. Past ``store_slow_s`` health is degraded with ``store_slow``, every held message
    is counted, and live batches are spooled and acknowledged; after SIGCONT the stalled
    write completes, the spool is replayed, nothing is lost or counted twice."""
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("stall")
    n = 12_000
    settings = settings_for(
        mosquitto, influxd, tmp_path, db, mqtt_client_id="gw-stall", store_slow_s=2.0
    )
    assert influxd.proc is not None
    with running_gateway(settings) as agent:
        pub = PacedPublisher(
            mosquitto, topic("meter-0"), [reading_line(s) for s in range(n)], chunk=400, pause_s=0.5
        ).start()
        wait_for(lambda: count_points(influxd, db) > 1000, 20, "points before the stall")
        influxd.proc.send_signal(signal.SIGSTOP)
        t_stop = time.monotonic()
        try:
            wait_for(lambda: agent.health()["store_slow"], 10, "store reported slow")
            health = agent.health()
            assert health["status"] == "degraded" and health["held_messages"] > 0
            wait_for(lambda: agent.stats.spooled_batches > 0, 10, "spooling while stalled")
            acked = agent.stats.acked
            wait_for(lambda: agent.stats.acked > acked, 10, "acknowledging while stalled")

            def every_message_accounted() -> bool:
                h = agent.health()
                # one reading per message, none rejected: received = stored + held
                return h["received"] == h["readings_written"] + h["held_messages"] and (
                    h["held"]["spooled"] > 0
                )

            wait_for(every_message_accounted, 10, "held_messages = received - stored", 0.01)
            assert agent.health()["status"] == "degraded"
            time.sleep(max(0.0, 20 - (time.monotonic() - t_stop)))
            assert agent.health()["store_slow"], "still stalled after 20 s"
        finally:
            influxd.proc.send_signal(signal.SIGCONT)
        pub.join()
        assert wait_count(influxd, db, n, 60) == n
        wait_for(lambda: agent.health()["status"] == "ok", 30, "healthy again")
        assert energy_sum(influxd, db) == sum(range(n))
        assert agent.stats.store_slow >= 1
        h = agent.health()
        assert h["held_messages"] == 0 and h["received"] == h["acked"] == n


@pytest.mark.slow
def test_50000_messages_through_5_gateway_kills_and_influxd_stop_and_kill(
    mosquitto: Mosquitto, influxd: Influxd, tmp_path: Path
) -> None:
    """One stream of 50,000 messages from 5 devices; meanwhile the gateway is SIGKILLed 5
    times (restarted with the same client id each time), influxd is stopped (SIGSTOP) for
    20 s and later SIGKILLed and restarted. Published = stored, per device, and the sum of
    the sequence numbers shows no reading counted twice (a redelivery overwrites itself)."""
    devices = [f"meter-{i}" for i in range(5)]
    per_device = 10_000
    total = per_device * len(devices)
    write_registry(tmp_path / "registry.toml", devices)
    db = unique_db("reliability")
    env = gateway_env(
        broker=mosquitto,
        influxd=influxd,
        db=db,
        data_dir=tmp_path / "data",
        registry=tmp_path / "registry.toml",
        client_id="gw-reliability",
    )
    env["TANZHANG_STORE_SLOW_S"] = "2"
    log = tmp_path / "gw.log"
    assert influxd.proc is not None
    kills = 0

    def kill_and_restart() -> GatewayProcess:
        nonlocal kills
        gw.kill()
        kills += 1
        time.sleep(0.5)
        return GatewayProcess(env, log).start()

    gw = GatewayProcess(env, log).start()
    pubs = [
        PacedPublisher(
            mosquitto,
            topic(d),
            [reading_line(s, device_index=i) for s in range(per_device)],
            chunk=200,
            pause_s=1.3,  # a stream of about 70 s
        ).start()
        for i, d in enumerate(devices)
    ]
    try:
        wait_for(lambda: count_points(influxd, db) > 2000, 30, "stream under way")
        gw = kill_and_restart()  # 1
        influxd.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(8)
            gw = kill_and_restart()  # 2: while the store stalls
            time.sleep(12)
        finally:
            influxd.proc.send_signal(signal.SIGCONT)
        stored = count_points(influxd, db)
        wait_for(lambda: count_points(influxd, db) > stored, 30, "progress after SIGCONT")
        gw = kill_and_restart()  # 3
        influxd.stop(signal.SIGKILL)
        time.sleep(2)
        gw = kill_and_restart()  # 4: while the store is down
        time.sleep(2)
        influxd.start()
        stored = count_points(influxd, db)
        wait_for(lambda: count_points(influxd, db) > stored, 30, "progress after restart")
        inside = any(p.sent < per_device for p in pubs)
        gw = kill_and_restart()  # 5
        for p in pubs:
            p.join(180)
        assert kills == 5
        assert wait_count(influxd, db, total, 120) == total
        time.sleep(1.0)  # anything late (a double write) would show in the checks below
        assert per_device_counts(influxd, db) == {d: per_device for d in devices}
        assert energy_sum(influxd, db) == len(devices) * sum(range(per_device))
        assert inside, "the last kill fell after the stream"
    finally:
        assert gw.stop() == 0, gw.log()
