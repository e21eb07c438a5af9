"""Registers only go down at an injected reset or swap; each fault does what it says."""

from __future__ import annotations

from collections import Counter
from datetime import date

from simulators.messages import encode, split_topic
from tests.simulators.conftest import ms

LO, HI = ms(date(2026, 2, 1)), ms(date(2026, 2, 4))


def _register_drops(messages):
    """(device, register, ts) wherever a register is lower than the device's previous one."""
    last: dict[tuple[str, str], float] = {}
    drops = []
    for m in messages:
        p = m.payload
        if not (isinstance(p, dict) and m.topic.endswith("/data")):
            continue
        device = split_topic(m.topic)[2]
        for r in p.get("batch", [p]):
            for name, v in r["values"].items():
                if name.endswith("_total"):
                    key = (device, name)
                    if key in last and v < last[key]:
                        drops.append((device, name, r["ts"]))
                    last[key] = v
    return drops


def test_registers_never_decrease_without_faults(fleet) -> None:
    msgs = list(fleet.messages(LO, HI, 300))
    assert _register_drops(msgs) == []
    # and across a year boundary, hourly
    year = list(fleet.messages(ms(date(2025, 12, 30)), ms(date(2026, 1, 2)), 3600))
    assert _register_drops(year) == []


def test_registers_drop_only_at_reset_and_swap(fleet) -> None:
    plan = fleet.fault_plan(["reset", "swap"], LO, HI)
    assert plan.reset_device and plan.swap_device and plan.reset_device != plan.swap_device
    drops = _register_drops(fleet.messages(LO, HI, 300, faults="reset,swap"))
    assert {(d, ts) for d, _, ts in drops} == {
        (plan.reset_device, _first_step(plan.reset_ms, 300)),
        (plan.swap_device, _first_step(plan.swap_ms, 300)),
    }
    after = {}
    for m in fleet.messages(LO, HI, 300, faults="reset,swap"):
        dev = split_topic(m.topic)[2]
        if dev in (plan.reset_device, plan.swap_device) and m.topic.endswith("/data"):
            after.setdefault(dev, []).append(m.payload)
    reset_vals = [
        v
        for p in after[plan.reset_device]
        if p["ts"] >= plan.reset_ms
        for k, v in p["values"].items()
        if k.endswith("_total")
    ]
    assert reset_vals[0] < 100  # restarted near zero
    swap_vals = [
        v
        for p in after[plan.swap_device]
        if p["ts"] >= plan.swap_ms
        for k, v in p["values"].items()
        if k.endswith("_total")
    ]
    assert plan.swap_start <= swap_vals[0] < plan.swap_start + 1000


def _first_step(t: int, step_s: int) -> int:
    step = step_s * 1000
    return -(-t // step) * step


def test_duplicates_and_out_of_order(fleet) -> None:
    clean = [m for m in fleet.messages(LO, HI, 300) if m.topic.endswith("/data")]
    dup = [m for m in fleet.messages(LO, HI, 300, faults="dup") if m.topic.endswith("/data")]
    assert len(dup) == len(clean) + len(clean) // 97
    counts = Counter((m.topic, encode(m.payload)) for m in dup)
    assert sum(c - 1 for c in counts.values()) == len(clean) // 97

    ooo = [m for m in fleet.messages(LO, HI, 300, faults="ooo") if m.topic.endswith("/data")]
    assert sorted(ooo, key=lambda m: (m.topic, m.payload["seq"])) == sorted(
        clean, key=lambda m: (m.topic, m.payload["seq"])
    )
    late = 0
    newest: dict[str, int] = {}
    for m in ooo:
        seq = m.payload["seq"]
        if seq < newest.get(m.topic, -1):
            late += 1
        newest[m.topic] = max(seq, newest.get(m.topic, -1))
    assert late > 0


def test_offline_device_empties_its_buffer_as_a_batch(fleet) -> None:
    plan = fleet.fault_plan(["offline"], LO, HI)
    msgs = list(fleet.messages(LO, HI, 300, faults="offline"))
    dev = plan.offline_device
    mine = [m for m in msgs if split_topic(m.topic)[2] == dev]
    statuses = [(m.payload, m.retain) for m in mine if m.topic.endswith("/status")]
    assert statuses == [("offline", True), ("online", True)]
    batches = [m for m in mine if isinstance(m.payload, dict) and "batch" in m.payload]
    held = [r["ts"] for b in batches for r in b.payload["batch"]]
    expected = [
        t for t in range(_first_step(plan.offline_from_ms, 300), plan.offline_to_ms, 300_000)
    ]
    assert held == expected
    # nothing of the device is lost or doubled
    singles = [
        m.payload["ts"] for m in mine if isinstance(m.payload, dict) and "values" in m.payload
    ]
    clean = [m.payload["ts"] for m in fleet.messages(LO, HI, 300) if split_topic(m.topic)[2] == dev]
    assert sorted(singles + held) == clean
    # the batch comes right after 'online', once the device is back
    i = next(k for k, m in enumerate(mine) if m.payload == "online")
    assert "batch" in mine[i + 1].payload


def test_clock_skew_shifts_one_device(fleet) -> None:
    plan = fleet.fault_plan(["skew"], LO, HI)
    clean = {
        (m.topic, m.payload["seq"]): m.payload["ts"]
        for m in fleet.messages(LO, HI, 3600)
        if m.topic.endswith("/data")
    }
    for m in fleet.messages(LO, HI, 3600, faults="skew"):
        if m.topic.endswith("/data"):
            shift = m.payload["ts"] - clean[(m.topic, m.payload["seq"])]
            skewed = split_topic(m.topic)[2] == plan.skew_device
            assert shift == (plan.skew_ms if skewed else 0)
