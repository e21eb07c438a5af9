"""End to end on real servers: mosquitto_pub → mosquitto → gateway (in process) → influxd.

Every reject reason reachable through the gateway's subscription lands in the quarantine with
its reason and raw payload and on the dead-letter topic; valid readings of the same message
are kept; a device emptying its buffer out of order; the gateway's own measurement,
``/metrics`` and ``/health``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sitetime import clock
from tanzhang.settings import Settings
from telemetry.contract import REJECT_REASONS
from tests.gateway.helpers import (
    T0_MS,
    count_points,
    mosquitto_pub,
    publish_one,
    reading_line,
    topic,
    wait_count,
    wait_for,
    write_registry,
)
from tests.gateway.rig import running_gateway, settings_for, unique_db
from tests.servers import Influxd, Mosquitto

#: the gateway's payload limit in the reject test [bytes]
GATEWAY_MAX_PAYLOAD = 32 * 1024

pytestmark = pytest.mark.servers


def test_readings_from_mosquitto_pub_land_in_influxdb(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    devices = [f"meter-{i}" for i in range(3)]
    write_registry(tmp_path / "registry.toml", devices)
    db = unique_db("e2e")
    settings = settings_for(mosquitto, influxd_session, tmp_path, db)
    with running_gateway(settings) as agent:
        for i, dev in enumerate(devices):
            mosquitto_pub(
                mosquitto, topic(dev), [reading_line(s, device_index=i) for s in range(2000)]
            )
        assert wait_count(influxd_session, db, 6000, 30) == 6000
        rows = influxd_session.query(
            "SELECT energy_kwh_total, power_kw, device FROM telemetry "
            "WHERE device = 'meter-1' ORDER BY time LIMIT 3",
            db=db,
        )[0]
        times = [v[0] for v in rows["values"]]
        assert times == [T0_MS + 1, T0_MS + 1001, T0_MS + 2001]
        assert [v[1] for v in rows["values"]] == [0.0, 1.0, 2.0]
        wait_for(lambda: agent.stats.acked == 6000, 10, "all acknowledged")
        assert agent.stats.received == 6000
        assert agent.stats.readings_written == 6000
        # the HTTP endpoints
        assert agent.http is not None
        health = httpx.get(f"{agent.http.url}/health", timeout=5)
        assert health.status_code == 200
        doc = health.json()
        assert doc["status"] == "ok" and doc["mqtt_connected"] and doc["store_reachable"]
        assert doc["spool"]["batches"] == 0 and doc["last_write_ms"] is not None
        metrics = httpx.get(f"{agent.http.url}/metrics", timeout=5).text
        assert "tanzhang_gateway_received_messages_total 6000.0" in metrics
        assert "tanzhang_gateway_acked_messages_total 6000.0" in metrics
        assert "tanzhang_gateway_write_seconds_bucket" in metrics
        assert "tanzhang_gateway_spool_bytes 0.0" in metrics

        # its own measurement (written every stats_interval_s = 1 s in this rig)
        def last_acked() -> float | None:
            rows = influxd_session.query(
                "SELECT last(acked) FROM gateway WHERE gateway = 'gw-inproc'", db=db
            )
            return rows[0]["values"][0][1] if rows else None

        wait_for(lambda: last_acked() == 6000.0, 10, "gateway measurement")


def _bad_messages() -> list[tuple[str, str, bytes]]:
    """(expected reason, topic, payload) for every reason the subscription can receive."""
    ok_ts = T0_MS
    future = clock.now_ms() + 3_600_000

    def data(doc: object) -> bytes:
        return json.dumps(doc).encode()

    t, ev, st = topic("meter-0"), topic("meter-0", "event"), topic("meter-0", "status")
    return [
        ("id_invalid", "tanzhang/v1/Line-A1/meter-0/data", data({"values": {"power_kw": 1}})),
        ("channel_unknown", topic("meter-0", "telemetry"), data({"values": {"power_kw": 1}})),
        # over the gateway's limit (GATEWAY_MAX_PAYLOAD), under the broker's 64 KiB
        ("payload_too_large", t, b'{"values": {"power_kw": 1}, "pad": "' + b"x" * 40_000 + b'"}'),
        ("payload_not_utf8", t, b"\xff\xfe\x00garbage"),
        ("payload_not_json", t, b"{not json"),
        ("payload_not_object", t, b"[1, 2, 3]"),
        ("device_unknown", topic("ghost"), data({"values": {"power_kw": 1}})),
        (
            "device_entity_mismatch",
            "tanzhang/v1/line-b9/meter-0/data",
            data({"values": {"power_kw": 1}}),
        ),
        ("batch_invalid", t, data({"batch": []})),
        ("reading_invalid", t, data({"ts": ok_ts, "value": 3})),
        ("ts_invalid", t, data({"ts": "yesterday", "values": {"power_kw": 1}})),
        ("ts_in_future", t, data({"ts": future, "values": {"power_kw": 1}})),
        ("ts_too_old", t, data({"ts": 946_684_800_000, "values": {"power_kw": 1}})),
        ("seq_invalid", t, data({"ts": ok_ts, "seq": -1, "values": {"power_kw": 1}})),
        ("values_empty", t, data({"ts": ok_ts, "values": {}})),
        ("value_unknown", t, data({"ts": ok_ts, "values": {"power_mw": 1}})),
        ("value_not_number", t, data({"ts": ok_ts, "values": {"power_kw": "1.5"}})),
        ("value_out_of_bounds", t, data({"ts": ok_ts, "values": {"soil_moisture_pct": 140}})),
        ("event_invalid", ev, data({"type": "harvest", "mass_t": 1})),
        ("event_type_unknown", ev, data({"id": "e-1", "type": "party"})),
        ("event_field_invalid", ev, data({"id": "e-2", "type": "harvest"})),
        ("status_invalid", st, b"sleepy"),
    ]


def test_every_reject_reason_is_quarantined_and_dead_lettered(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    bad = _bad_messages()
    # topic_malformed cannot arrive: the subscription filter {prefix}/+/+/+ only matches
    # well-formed topics (the decoder's own tests cover it).
    assert {r for r, _, _ in bad} == set(REJECT_REASONS) - {"topic_malformed"}
    db = unique_db("rejects")
    settings = settings_for(
        mosquitto, influxd_session, tmp_path, db, max_payload_bytes=GATEWAY_MAX_PAYLOAD
    )
    sub = subprocess.Popen(
        [
            shutil.which("mosquitto_sub") or "mosquitto_sub",
            "-p",
            str(mosquitto.port),
            "-q",
            "1",
            "-t",
            "tanzhang/dead-letter/#",
            "-v",
            "-C",
            str(len(bad)),
            "-W",
            "60",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        _check_rejects(mosquitto, influxd_session, settings, bad, sub)
    finally:
        if sub.poll() is None:
            sub.kill()
            sub.wait()
        if sub.stdout:
            sub.stdout.close()


def _check_rejects(
    mosquitto: Mosquitto,
    influxd_session: Influxd,
    settings: Settings,
    bad: list[tuple[str, str, bytes]],
    sub: subprocess.Popen[bytes],
) -> None:
    db = settings.influx_db
    time.sleep(0.5)
    with running_gateway(settings) as agent:
        for _, tpc, payload in bad:
            publish_one(mosquitto, tpc, payload)
        # one message, two readings: the valid one is kept, the bad one quarantined
        mixed = {
            "batch": [
                {"ts": T0_MS, "seq": 1, "values": {"energy_kwh_total": 10.0}},
                {"ts": T0_MS + 1000, "seq": 2, "values": {"energy_kwh_total": -1.0}},
                {"ts": T0_MS + 2000, "seq": 3, "values": {"energy_kwh_total": 12.0, "power_mw": 3}},
            ]
        }
        publish_one(mosquitto, topic("meter-0"), json.dumps(mixed).encode())
        wait_for(lambda: agent.stats.acked == len(bad) + 1, 20, "all acknowledged")
        wait_for(lambda: len(agent.store.rejects(limit=100)) == len(bad) + 2, 10, "quarantine")
        stored = agent.store.rejects(limit=100)
    by_reason: dict[str, list] = {}
    for r in stored:
        by_reason.setdefault(r.reason, []).append(r)
    for reason, tpc, payload in bad:
        (rec,) = [x for x in by_reason[reason] if payload.startswith(x.payload)]
        assert rec.topic == tpc and rec.detail, reason
        assert rec.payload_size == len(payload)
        assert rec.payload_sha256 == hashlib.sha256(payload).hexdigest()
        # kept whole up to the gateway's limit, as an excerpt beyond it
        assert rec.payload == payload[:GATEWAY_MAX_PAYLOAD]
        assert rec.truncated == (reason == "payload_too_large")
    # the mixed message: two item rejects carry the whole raw payload and the item index
    items = sorted((r.item, r.reason) for r in stored if r.payload == json.dumps(mixed).encode())
    assert items == [(1, "value_out_of_bounds"), (2, "value_unknown")]
    assert count_points(influxd_session, db) == 2
    assert agent.stats.rejected["value_out_of_bounds"] == 2
    assert sum(agent.stats.rejected.values()) == len(bad) + 2
    # dead letters: one per reject of the bad list (mosquitto_sub stops after that many)
    out, _ = sub.communicate(timeout=60)
    letters = [line.split(b" ", 1) for line in out.splitlines()]
    assert len(letters) == len(bad)
    first = json.loads(letters[0][1])
    assert letters[0][0] == f"tanzhang/dead-letter/{first['reason']}".encode()
    assert {json.loads(p)["reason"] for _, p in letters} <= set(REJECT_REASONS)
    excerpt = base64.b64decode(first["payload"])
    assert any(p[: len(excerpt)] == excerpt for _, _, p in bad) and len(excerpt) <= 1024


def test_device_emptying_its_buffer_out_of_order(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("ooo")
    seqs = list(range(1000))
    random.Random(7).shuffle(seqs)
    readings = [
        {"ts": T0_MS + s * 60_000, "seq": s, "values": {"energy_kwh_total": float(s)}} for s in seqs
    ]
    # two buffer dumps of 500 shuffled readings each (1000 would exceed 64 KiB)
    dumps = [json.dumps({"batch": readings[i : i + 500]}, separators=(",", ":")) for i in (0, 500)]
    settings = settings_for(mosquitto, influxd_session, tmp_path, db)
    with running_gateway(settings) as agent:
        live = json.dumps({"ts": T0_MS + 2_000 * 60_000, "values": {"energy_kwh_total": 2000.0}})
        publish_one(mosquitto, topic("meter-0"), live.encode())  # newest first
        for dump in dumps:
            publish_one(mosquitto, topic("meter-0"), dump.encode())
        assert wait_count(influxd_session, db, 1001, 20) == 1001
        wait_for(lambda: agent.stats.acked == 3, 5, "acks")
        assert not agent.stats.rejected
        series = agent.store.series("energy_kwh_total", T0_MS, T0_MS + 10**9)
    s = series[("line-a1", "meter-0")]
    assert list(s.ts_ms[:1000]) == [T0_MS + i * 60_000 for i in range(1000)]
    assert list(s.values[:1000]) == [float(i) for i in range(1000)]


def test_status_retained_online_offline(
    mosquitto: Mosquitto, influxd_session: Influxd, tmp_path: Path
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0", "meter-1"])
    publish_one(mosquitto, topic("meter-0", "status"), b"online", retain=True)
    publish_one(mosquitto, topic("meter-1", "status"), b"offline", retain=True)
    settings = settings_for(mosquitto, influxd_session, tmp_path, unique_db("status"))
    with running_gateway(settings) as agent:
        wait_for(lambda: len(agent.status.snapshot()) == 2, 10, "retained statuses")
        assert agent.status.get("meter-0").status == "online"
        assert agent.status.get("meter-1").status == "offline"
        publish_one(mosquitto, topic("meter-1", "status"), b"online", retain=True)
        wait_for(lambda: agent.status.get("meter-1").status == "online", 10, "update")
        assert agent.health()["devices"]["meter-1"]["status"] == "online"
