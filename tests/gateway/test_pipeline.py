"""Pipeline unit tests with a fake source and a fake store (the real ones: test_*_servers.py)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from gateway.agent import Agent
from gateway.service import build, receive_maximum
from sitetime import clock
from tanzhang.settings import Settings
from tests.gateway.fakes import FakeSource, FakeStore
from tests.gateway.helpers import reading_line, topic, wait_for, write_registry


def now_ms() -> int:
    return clock.now_ms()


@pytest.fixture
def rig(tmp_path: Path):
    write_registry(tmp_path / "registry.toml", ["meter-0", "meter-1"])
    settings = Settings(
        data_dir=tmp_path / "data",
        registry=tmp_path / "registry.toml",
        batch_size=4,
        batch_age_ms=50,
        mqtt_client_id="gw-unit",
    )
    source, store = FakeSource(), FakeStore()
    agent = build(settings, store=store, source=source, stats_interval_s=0.5)
    agent.start()
    yield agent, source, store
    store.gate.set()  # a test that stalled the store and failed must not hang the writer
    agent.stop()


def feed(source: FakeSource, seqs: range, device: str = "meter-0") -> list[int]:
    return [source.feed(topic(device), reading_line(s).encode(), now_ms()) for s in seqs]


def written_seqs(store: FakeStore) -> list[int]:
    return [r.seq for r in store.readings]


def test_receive_maximum_covers_a_batch() -> None:
    # docs/design-notes.md trap 1: the broker sends at most ReceiveMaximum unacknowledged messages.
    for size in (1, 20, 1000, 20_000, 65_535):
        assert size <= receive_maximum(size) <= 65_535


def test_size_batches_written_then_acknowledged_in_order(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    tokens = feed(source, range(10))
    wait_for(lambda: len(source.acked) == 10, 5, "10 acks")
    assert source.acked == tokens
    assert written_seqs(store) == list(range(10))
    assert all(isinstance(v, float) for r in store.readings for v in r.values.values())
    assert agent.stats.received == 10 and agent.stats.acked == 10


def test_age_flushes_a_partial_batch(rig: tuple[Agent, FakeSource, FakeStore]) -> None:
    _, source, store = rig
    feed(source, range(2))  # fewer than batch_size=4
    wait_for(lambda: len(source.acked) == 2, 2, "aged batch acknowledged")
    assert written_seqs(store) == [0, 1]


def test_nothing_acknowledged_before_durable(rig: tuple[Agent, FakeSource, FakeStore]) -> None:
    agent, source, store = rig
    store.mode = "error"  # non-retryable: stays unacknowledged, health red
    feed(source, range(8))
    wait_for(lambda: agent.health()["status"] == "failing", 3, "health failing")
    time.sleep(0.3)
    assert source.acked == [] and store.readings == []
    assert agent.spool.empty, "a non-retryable failure must not be spooled"
    agent.output.fail_retry_s = 0.1
    agent.output._retry_at = 0.0
    store.mode = "up"
    wait_for(lambda: len(source.acked) == 8, 5, "acks after recovery")
    assert written_seqs(store) == list(range(8))
    assert agent.health()["status"] == "ok"


def test_failing_store_holds_at_most_the_hold_limit(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    agent.output.hold_limit = 8
    agent.output.fail_retry_s = 0.2
    store.mode = "error"
    feed(source, range(4))
    wait_for(lambda: agent.health()["status"] == "failing", 3, "failing")
    feed(source, range(4, 20))  # as if the broker sent past ReceiveMaximum
    wait_for(lambda: source.suspended >= 1, 3, "suspended")
    assert agent.output.held_messages <= 8 and source.acked == []
    wait_for(lambda: source.resumed >= 1, 3, "retry after fail_retry_s")
    assert agent.health()["status"] == "failing"


def test_store_down_spools_acks_and_replays_in_order(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    store.mode = "down"
    feed(source, range(40))
    wait_for(lambda: len(source.acked) == 40, 5, "spooled batches acknowledged")
    assert store.readings == []
    assert agent.spool.points == 40
    assert agent.health()["status"] == "degraded"
    store.mode = "up"
    feed(source, range(40, 60))  # live traffic while the backlog replays
    wait_for(lambda: len(store.readings) == 60 and agent.spool.empty, 5, "replay")
    assert written_seqs(store) == list(range(60)), "order kept across spool and live"
    assert len(source.acked) == 60
    assert agent.stats.replayed_points >= 40
    assert store.ready_calls >= 1, "ensure_ready again after the store came back"


def test_store_rejected_bisects_and_quarantines_only_the_bad_reading(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    store.refuse = lambda r: r.seq == 5
    feed(source, range(12))
    wait_for(lambda: len(source.acked) == 12, 5, "acks")
    assert written_seqs(store) == [s for s in range(12) if s != 5]
    (rej,) = store.rejects
    assert rej.reason == "store_rejected" and "field type conflict" in rej.detail
    assert rej.topic == topic("meter-0")
    doc = json.loads(rej.payload)
    assert doc["seq"] == 5 and doc["values"]["energy_kwh_total"] == 5.0
    assert agent.stats.rejected["store_rejected"] == 1
    assert agent.stats.readings_written == 11
    dead = [(t, json.loads(p)) for t, p in source.published]
    assert [t for t, _ in dead] == ["tanzhang/dead-letter/store_rejected"]
    assert base64.b64decode(dead[0][1]["payload"]) == rej.payload


def test_contract_rejects_quarantined_and_dead_lettered_valid_kept(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    batch = {
        "batch": [
            {"ts": 1_767_225_600_000, "seq": 1, "values": {"energy_kwh_total": 1.0}},
            {"ts": 1_767_225_601_000, "seq": 2, "values": {"energy_kwh_total": -5.0}},
        ]
    }
    source.feed(topic("meter-0"), json.dumps(batch).encode(), now_ms())
    source.feed(topic("ghost"), b'{"values": {"power_kw": 1}}', now_ms())
    source.feed(topic("meter-1"), b"{not json", now_ms())
    wait_for(lambda: len(source.acked) == 3, 3, "acks")
    assert written_seqs(store) == [1]
    reasons = sorted(r.reason for r in store.rejects)
    assert reasons == ["device_unknown", "payload_not_json", "value_out_of_bounds"]
    assert dict(agent.stats.rejected) == {
        "device_unknown": 1,
        "payload_not_json": 1,
        "value_out_of_bounds": 1,
    }
    by_topic = {t: json.loads(p) for t, p in source.published}
    ghost = by_topic["tanzhang/dead-letter/device_unknown"]
    assert ghost["topic"] == topic("ghost")
    assert base64.b64decode(ghost["payload"]) == b'{"values": {"power_kw": 1}}'


def test_spool_bound_holds_unacknowledged_then_drains(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    agent.spool.max_bytes = 600  # room for about two batches of four readings
    store.mode = "down"
    tokens = feed(source, range(40))
    wait_for(lambda: agent.stats.held_batches >= 1, 3, "spool full")
    time.sleep(0.2)
    acked = len(source.acked)
    assert 0 < acked < 40, "acknowledges what the spool holds, no more"
    assert agent.output.held_messages == 40 - acked
    assert agent.spool.disk_bytes <= 600
    store.mode = "up"
    wait_for(lambda: len(source.acked) == 40, 5, "all acknowledged after the store returned")
    assert source.acked == tokens
    assert written_seqs(store) == list(range(40))


def test_broker_overrunning_receive_maximum_suspends_then_resumes(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    agent.spool.max_bytes = 600
    agent.output.hold_limit = 8  # as if the broker sent past ReceiveMaximum = 8
    store.mode = "down"
    feed(source, range(40))
    wait_for(lambda: source.suspended == 1, 3, "suspended")
    acked = list(source.acked)
    assert agent.output.held_messages == 0, "held messages dropped: the broker redelivers them"
    assert agent.health()["spool"]["mqtt_suspended"]
    store.mode = "up"
    wait_for(lambda: source.resumed == 1, 5, "resumed once the spool has room")
    assert source.acked == acked, "nothing dropped was acknowledged"
    assert written_seqs(store) == [s for s in range(40)][: len(acked)]


def test_slow_store_spools_and_catches_up(rig: tuple[Agent, FakeSource, FakeStore]) -> None:
    agent, source, store = rig
    agent.output.hold_limit = 8
    store.delay_s = 0.3  # each write takes 0.3 s: slower than the traffic below
    tokens = []
    for k in range(10):
        tokens += feed(source, range(k * 8, k * 8 + 8))
        time.sleep(0.05)
    wait_for(lambda: agent.stats.store_slow >= 1, 5, "slow store noticed")
    assert agent.stats.spooled_batches > 0
    store.delay_s = 0.0
    wait_for(lambda: len(store.readings) == 80 and agent.spool.empty, 10, "caught up")
    assert written_seqs(store) == list(range(80)), "order kept"
    wait_for(lambda: len(source.acked) == 80, 5, "acks")
    assert source.acked == tokens


def test_stalled_write_reported_spooled_and_every_message_counted(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    agent.output.slow_s = 0.2
    store.gate.clear()  # the next write hangs, like a write to a SIGSTOPped influxd
    tokens = feed(source, range(4))
    wait_for(lambda: agent.health()["store_slow"], 3, "stall reported")
    assert agent.health()["status"] == "degraded"
    tokens += feed(source, range(4, 12))
    wait_for(lambda: len(source.acked) == 12, 3, "spooled and acknowledged while stalled")
    assert source.acked == tokens, "in order, the stalled batch too"
    health = agent.health()
    assert health["held"] == {"batching": 0, "output": 0, "spooled": 12}
    assert health["held_messages"] == 12 and health["store_write_s"] > 0
    store.gate.set()
    wait_for(lambda: agent.spool.empty and not agent.health()["store_slow"], 5, "replayed")
    assert sorted(set(written_seqs(store))) == list(range(12))
    wait_for(lambda: agent.health()["status"] == "ok", 3, "ok again")
    assert agent.health()["held_messages"] == 0


def test_a_stalled_stats_write_counts_as_a_stalled_store(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    agent.output.slow_s = 0.2
    store.gate.clear()  # no traffic: the gateway's own stats write (every 0.5 s) hangs
    wait_for(lambda: agent.stats.store_slow == 1, 3, "stall counted")
    assert agent.health()["store_slow"] and agent.health()["status"] == "degraded"
    tokens = feed(source, range(4))
    wait_for(lambda: len(source.acked) == 4, 3, "spooled and acknowledged")
    assert source.acked == tokens and agent.stats.store_slow == 1
    store.gate.set()
    wait_for(lambda: agent.health()["status"] == "ok", 5, "ok again")
    assert written_seqs(store) == list(range(4))


def test_a_message_of_1000_rejects_keeps_its_payload_once(
    rig: tuple[Agent, FakeSource, FakeStore],
) -> None:
    agent, source, store = rig
    items = [{"ts": 1_767_225_600_000 + i, "values": {"bogus_x": 1}} for i in range(1000)]
    payload = json.dumps({"batch": items}).encode()
    source.feed(topic("meter-0"), payload, now_ms())
    wait_for(lambda: len(source.acked) == 1, 3, "ack")
    assert len(store.rejects) == 1000
    assert [r.ordinal for r in store.rejects] == list(range(1000))
    assert len({r.key_ns for r in store.rejects}) == 1000
    assert store.rejects[0].payload == payload
    assert {r.payload for r in store.rejects[1:]} == {b""}
    letters = [json.loads(p) for t, p in source.published]
    assert len(letters) == 1000
    assert base64.b64decode(letters[0]["payload"]) == payload[:1024]
    assert {d["payload"] for d in letters[1:]} == {None}
    assert max(len(p) for _, p in source.published) < 2000


def test_status_channel_kept_per_device(rig: tuple[Agent, FakeSource, FakeStore]) -> None:
    agent, source, store = rig
    source.feed(topic("meter-0", "status"), b"online", 1000)
    source.feed(topic("meter-1", "status"), b"online", 1000)
    source.feed(topic("meter-1", "status"), b"offline", 2000)
    wait_for(lambda: len(source.acked) == 3, 3, "acks")
    assert agent.status.get("meter-0").status == "online"
    assert agent.status.get("meter-1").status == "offline"
    assert agent.status.get("meter-1").since_ms == 2000
    assert agent.gauges()["devices_online"] == 1.0
    assert agent.health()["devices"]["meter-1"]["status"] == "offline"


def test_gateway_stats_written_to_store(rig: tuple[Agent, FakeSource, FakeStore]) -> None:
    agent, source, store = rig
    feed(source, range(4))
    wait_for(lambda: any(f.get("received") == 4.0 for _, _, f in store.stats), 5, "stats sample")
    gid, _, fields = store.stats[-1]
    assert gid == "gw-unit"
    for name in (
        "acked",
        "readings_written",
        "spool_bytes",
        "spool_oldest_age_seconds",
        "store_up",
    ):
        assert name in fields


def test_registry_reload_accepts_a_new_device(
    tmp_path: Path, rig: tuple[Agent, FakeSource, FakeStore]
) -> None:
    agent, source, store = rig
    agent.watcher.interval_s = 0.05
    source.feed(topic("meter-9"), reading_line(1).encode(), now_ms())
    wait_for(lambda: len(store.rejects) == 1, 3, "device_unknown")
    write_registry(tmp_path / "registry.toml", ["meter-0", "meter-1", "meter-9"])
    wait_for(lambda: agent.stats.registry_reloads >= 1, 5, "registry reload")
    source.feed(topic("meter-9"), reading_line(1).encode(), now_ms())
    wait_for(lambda: len(store.readings) == 1, 3, "reading of the new device")
    assert store.readings[0].device == "meter-9"


def test_stop_flushes_and_acknowledges(tmp_path: Path) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    settings = Settings(
        data_dir=tmp_path / "data",
        registry=tmp_path / "registry.toml",
        batch_size=1000,
        batch_age_ms=60_000,
    )
    source, store = FakeSource(), FakeStore()
    agent = build(settings, store=store, source=source)
    agent.start()
    feed(source, range(7))
    agent.stop()
    assert len(source.acked) == 7 and written_seqs(store) == list(range(7))
    assert source.paused and source.closed
