"""Ingest benchmark: readings/s into InfluxDB, publish-to-queryable latency, spool replay, RSS.

Starts its own mosquitto and influxd (tests/servers.py), then measures, in one run:

1. the load generator alone (``mosquitto_pub`` processes, QoS 1, no subscriber);
2. a bare paho-mqtt subscriber at QoS 1 on the same broker (the raw MQTT-client limit);
3. bulk line-protocol writes (5,000 points per POST) to the same influxd (the raw store limit);
4. one gateway process (``tanzhang gateway``): sustained readings/s into InfluxDB;
5. two gateway processes sharing the subscription (``$share/bench/...``);
6. publish-to-queryable latency p50/p99 at 50 % of the one-gateway rate;
7. spool replay rate while live traffic continues at 50 %, vs that live rate;

and the gateways' peak resident memory. Prints JSON and a Markdown table with ratios.

``python -m bench.ingest.run --messages 100000 --devices 10``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.ingest.loadgen import (
    T0_MS,
    Feeder,
    paced,
    payload,
    publish_lines,
    publish_parallel,
)
from bench.ingest.procs import Gateway, machine
from bench.ingest.report import markdown
from telemetry.registry import Device, Entity, Registry
from tests.servers import Influxd, Mosquitto

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "tanzhang/v1"
ENTITY = "line-b1"


def topic(device: str) -> str:
    return f"{PREFIX}/{ENTITY}/{device}/data"


def wait_written(gateways: list[Gateway], n: int, timeout_s: float) -> float:
    """Block until the gateways together wrote ``n`` readings; return that time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(g.health()["readings_written"] for g in gateways) >= n:
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"gateways did not write {n} readings within {timeout_s} s")


def bench_loadgen(broker: Mosquitto, work: dict[str, list[str]]) -> float:
    n = sum(len(v) for v in work.values())
    return n / publish_parallel(broker.port, work)


def bench_bare(
    broker: Mosquitto, work: dict[str, list[str]], protocol: str = "5", fast: bool = False
) -> float:
    n = sum(len(v) for v in work.values())
    sub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.ingest.bare_subscriber",
            "--port",
            str(broker.port),
            "--topic",
            f"{PREFIX}/#",
            "--count",
            str(n),
            "--protocol",
            protocol,
            *(["--fast-properties"] if fast else []),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    assert sub.stdout.readline().strip() == "READY"
    publish_parallel(broker.port, work)
    out = json.loads(sub.stdout.readline())
    sub.wait(60)
    sub.stdout.close()
    return float(out["rate"])


def bench_influx_raw(influxd: Influxd, n: int, per_post: int = 5000) -> float:
    db = "bench_raw"
    httpx.post(f"{influxd.url}/query", data={"q": f"CREATE DATABASE {db}"}, timeout=30)
    bodies = []
    for i in range(0, n, per_post):
        bodies.append(
            "\n".join(
                f"telemetry,entity={ENTITY},device=raw-{s % 10} energy_kwh_total={float(s)},"
                f"power_kw=12.5 {(T0_MS + s * 1000) * 1_000_000}"
                for s in range(i, min(n, i + per_post))
            ).encode()
        )
    with httpx.Client(base_url=influxd.url, timeout=60) as client:
        t0 = time.perf_counter()
        for body in bodies:
            client.post(
                "/write", params={"db": db, "precision": "ns"}, content=body
            ).raise_for_status()
        return n / (time.perf_counter() - t0)


def bench_gateways(
    broker: Mosquitto, env: dict[str, str], folder: Path, work: dict[str, list[str]], replicas: int
) -> tuple[float, int]:
    n = sum(len(v) for v in work.values())
    gws = [Gateway(env, f"bench-gw-{replicas}-{i}", folder).start() for i in range(replicas)]
    try:
        t0 = time.perf_counter()
        publish_parallel(broker.port, work)
        t_done = wait_written(gws, n, 600)
        return n / (t_done - t0), max(g.rss_max_kb for g in gws)
    finally:
        for g in gws:
            g.stop()


def bench_latency(
    broker: Mosquitto,
    influxd: Influxd,
    env: dict[str, str],
    folder: Path,
    rate: float,
    duration_s: float,
) -> dict[str, float]:
    """Latency of each 50 ms slice: hand-over to the first poll that counts it stored."""
    gw = Gateway(env, "bench-lat", folder).start()
    ticks: list[tuple[int, float]] = []
    polls: list[tuple[float, int]] = []
    stop = threading.Event()
    db = env["TANZHANG_INFLUX_DB"]
    q = f"SELECT count(energy_kwh_total) FROM telemetry WHERE device =~ /^lat-/ AND time >= {T0_MS}ms"

    def poll() -> None:
        with httpx.Client(base_url=influxd.url, timeout=10) as c:
            while not stop.is_set():
                series = (
                    c.get("/query", params={"db": db, "q": q}).json()["results"][0].get("series")
                )
                polls.append((time.perf_counter(), int(series[0]["values"][0][1]) if series else 0))
                time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    feeder = Feeder(broker.port, [topic(f"lat-{i}") for i in range(4)])
    poller.start()
    try:
        t0 = time.perf_counter()
        n = paced(
            feeder,
            rate,
            duration_s,
            lambda i, s: payload(s, i),
            on_tick=lambda k, t: ticks.append((k, t)),
        )
        feeder.close()
        achieved = n / (time.perf_counter() - t0)
        deadline = time.monotonic() + 30
        while (not polls or polls[-1][1] < n) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        poller.join(5)
        feeder.close()
        gw.stop()
    lat = []
    for k, t_sent in ticks:
        seen = next((t for t, count in polls if t >= t_sent and count >= k), None)
        if seen is None:
            raise RuntimeError(f"slice up to {k} never became queryable")
        lat.append(seen - t_sent)
    lat.sort()
    return {
        "rate": achieved,
        "target_rate": rate,
        "p50_s": lat[len(lat) // 2],
        "p99_s": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "max_s": lat[-1],
        "rss_kb": gw.rss_max_kb,
    }


def bench_replay(
    broker: Mosquitto,
    influxd: Influxd,
    env: dict[str, str],
    folder: Path,
    backlog: int,
    live_rate: float,
) -> dict[str, float]:
    """Spool ``backlog`` readings with InfluxDB down, then replay them under live traffic."""
    gw = Gateway(env, "bench-replay", folder).start()
    feeder = Feeder(broker.port, [topic(f"live-{i}") for i in range(4)])
    stop_live = threading.Event()
    live_sent = [0]
    try:
        influxd.stop()
        publish_lines(broker.port, topic("spool-0"), [payload(s, 0) for s in range(backlog)])
        deadline = time.monotonic() + 300
        while gw.health()["spooled_points"] < backlog and time.monotonic() < deadline:
            time.sleep(0.1)

        def live() -> None:
            live_sent[0] = paced(
                feeder, live_rate, 3600, lambda i, s: payload(s, 4 + i), stop=stop_live
            )

        live_thread = threading.Thread(target=live, daemon=True)
        t_live0 = time.perf_counter()
        live_thread.start()
        influxd.start()
        deadline = time.monotonic() + 600
        while gw.health()["last_replay"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
        replay = gw.health()["last_replay"]
        stop_live.set()
        live_thread.join(30)
        live_measured = live_sent[0] / (time.perf_counter() - t_live0)
        return {
            "backlog": backlog,
            "replay_rate": replay["rate"],
            "replay_points": replay["points"],
            "live_rate": live_measured,
            "rss_kb": gw.rss_max_kb,
        }
    finally:
        stop_live.set()
        feeder.close()
        gw.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=100_000, help="N readings per phase")
    p.add_argument("--devices", type=int, default=10, help="M simulated devices (topics)")
    p.add_argument("--batch-size", type=int, default=2000)
    p.add_argument("--latency-seconds", type=float, default=10.0)
    p.add_argument("--json", type=Path, help="also write the results here")
    ns = p.parse_args()
    n, m = ns.messages, ns.devices
    folder = Path(tempfile.mkdtemp(prefix="tanzhang-bench-"))
    results: dict[str, Any] = {
        "machine": machine(),
        "messages": n,
        "devices": m,
        "batch_size": ns.batch_size,
    }
    broker = Mosquitto(folder / "mosquitto").start()
    influxd = Influxd(folder / "influxd").start()
    try:
        devices = [f"dev-{i}" for i in range(m)] + ["spool-0"]
        devices += [f"lat-{i}" for i in range(4)] + [f"live-{i}" for i in range(4)]
        reg = Registry([Entity("factory-b", "factory"), Entity(ENTITY, "line", parent="factory-b")])
        for d in devices:
            reg.add_device(Device(d, ENTITY, "electricity_meter"))
        reg.save(folder / "registry.toml")
        per = n // m
        work = {topic(f"dev-{i}"): [payload(s, i) for s in range(per)] for i in range(m)}
        n = per * m
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
        env.update(
            TANZHANG_MQTT_URL=broker.url,
            TANZHANG_INFLUX_URL=influxd.url,
            TANZHANG_REGISTRY=str(folder / "registry.toml"),
            TANZHANG_DATA_DIR=str(folder / "data"),
            TANZHANG_BATCH_SIZE=str(ns.batch_size),
            TANZHANG_MQTT_SHARE_GROUP="bench",
            PYTHONPATH=str(ROOT),
        )
        step = lambda name: print(f"[bench] {name} ...", file=sys.stderr, flush=True)  # noqa: E731
        step("load generator alone")
        results["loadgen_rate"] = bench_loadgen(broker, work)
        step("bare paho subscriber, QoS 1")
        results["bare_rate"] = bench_bare(broker, work)
        step("bare paho subscriber, QoS 1, with the gateway's paho speedup (reference)")
        results["bare_fast_rate"] = bench_bare(broker, work, "5", fast=True)
        step("bare paho subscriber, QoS 1, MQTT 3.1.1 (reference)")
        results["bare311_rate"] = bench_bare(broker, work, "3.1.1")
        step("bulk line protocol to influxd")
        results["influx_raw_rate"] = bench_influx_raw(influxd, n)
        step("one gateway")
        rate1, rss1 = bench_gateways(
            broker, {**env, "TANZHANG_INFLUX_DB": "bench_gw1"}, folder, work, 1
        )
        results.update(gateway1_rate=rate1, gateway1_rss_kb=rss1)
        step("two gateways, shared subscription")
        rate2, rss2 = bench_gateways(
            broker, {**env, "TANZHANG_INFLUX_DB": "bench_gw2"}, folder, work, 2
        )
        results.update(gateway2_rate=rate2, gateway2_rss_kb=rss2)
        step("latency at 50 % of the one-gateway rate")
        results["latency"] = bench_latency(
            broker,
            influxd,
            {**env, "TANZHANG_INFLUX_DB": "bench_lat"},
            folder,
            rate1 / 2,
            ns.latency_seconds,
        )
        step("spool replay with live traffic at 50 %")
        results["replay"] = bench_replay(
            broker,
            influxd,
            {**env, "TANZHANG_INFLUX_DB": "bench_replay"},
            folder,
            n // 2,
            rate1 / 2,
        )
    finally:
        broker.stop()
        influxd.stop()
    results["ratios"] = {
        "gateway1_vs_bare": results["gateway1_rate"] / results["bare_rate"],
        "gateway2_vs_bare": results["gateway2_rate"] / results["bare_rate"],
        "gateway1_vs_bare_fast": results["gateway1_rate"] / results["bare_fast_rate"],
        "loadgen_vs_bare": results["loadgen_rate"] / results["bare_rate"],
        "gateway1_vs_influx_raw": results["gateway1_rate"] / results["influx_raw_rate"],
        "replay_vs_live": results["replay"]["replay_rate"] / results["replay"]["live_rate"],
    }
    print(json.dumps(results, indent=2))
    print(markdown(results))
    if ns.json:
        ns.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
