"""The ingest benchmark's Markdown table (docs/benchmarks.md, ## Ingest)."""

from __future__ import annotations

from typing import Any


def markdown(r: dict[str, Any]) -> str:
    ra, lat, rep = r["ratios"], r["latency"], r["replay"]
    rss = max(r["gateway1_rss_kb"], r["gateway2_rss_kb"], lat["rss_kb"], rep["rss_kb"]) / 1024
    rows = [
        (
            "load generator alone (mosquitto_pub, QoS 1)",
            f"{r['loadgen_rate']:,.0f} msg/s",
            f"{ra['loadgen_vs_bare']:.2f}× bare",
        ),
        ("bare paho subscriber, MQTT 5, QoS 1 (raw limit)", f"{r['bare_rate']:,.0f} msg/s", "1.00"),
        (
            "bare paho subscriber, MQTT 5, QoS 1, with the gateway's `Properties.clear` speedup",
            f"{r['bare_fast_rate']:,.0f} msg/s",
            f"{r['bare_fast_rate'] / r['bare_rate']:.2f}× bare",
        ),
        (
            "bare paho subscriber, MQTT 3.1.1, QoS 1",
            f"{r['bare311_rate']:,.0f} msg/s",
            f"{r['bare311_rate'] / r['bare_rate']:.2f}× bare",
        ),
        ("bulk line protocol, 5,000/POST (raw limit)", f"{r['influx_raw_rate']:,.0f} points/s", ""),
        (
            "1 gateway, sustained into InfluxDB",
            f"{r['gateway1_rate']:,.0f} readings/s",
            f"{ra['gateway1_vs_bare']:.2f}× bare, {ra['gateway1_vs_bare_fast']:.2f}× sped-up bare",
        ),
        (
            "2 gateways, shared subscription",
            f"{r['gateway2_rate']:,.0f} readings/s",
            f"{ra['gateway2_vs_bare']:.2f}× bare",
        ),
        (
            f"publish-to-queryable at {lat['rate']:,.0f} msg/s (target {lat['target_rate']:,.0f} = 50 %)",
            f"p50 {lat['p50_s']:.3f} s, p99 {lat['p99_s']:.3f} s",
            f"max {lat['max_s']:.3f} s",
        ),
        (
            f"spool replay ({rep['backlog']:,} backlog) vs live",
            f"{rep['replay_rate']:,.0f} vs {rep['live_rate']:,.0f} readings/s",
            f"{ra['replay_vs_live']:.1f}×",
        ),
        ("gateway peak RSS", f"{rss:.0f} MB", ""),
    ]
    m = r["machine"]
    out = [
        f"{m['date']} · {m['nproc']} cores · {m['cpu']} · Python {m['python']} · N = {r['messages']:,} "
        f"readings from M = {r['devices']} devices · batch {r['batch_size']}",
        "",
        f"machine: {m['cpu']}, {m['nproc']} cores; broker, database, gateways and load generator all on it",
        "",
        "| what | figure | ratio |",
        "|---|---|---|",
    ]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out)
