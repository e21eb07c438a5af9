"""Faults on demand: the ways real devices misbehave, injected into a message stream.

=========  ===================================================================================
flag       what happens
=========  ===================================================================================
dup        every ``dup_every``-th reading is sent twice in a row (same ts, seq, values)
ooo        every ``ooo_every``-th reading of a device is held back and sent after the next
           ``ooo_delay`` readings of that device (out of order)
reset      one device's registers restart from zero at ``reset_ms`` (a counter reset)
swap       one device's meter is replaced at ``swap_ms``: its registers continue from the
           new meter's reading ``swap_start`` (a meter swap)
offline    one device goes silent from ``offline_from_ms`` to ``offline_to_ms``: its broker
           publishes ``offline`` (the last will), then on reconnect it sends ``online`` and
           empties its buffer as batch payloads (split to the contract's limits)
garbage    after every ``garbage_every``-th reading, a malformed message on the same topic
           (not UTF-8, not JSON, a string value, an unknown value name, a value out of
           bounds, empty values) in rotation
skew       one device's clock runs ``skew_ms`` fast (its ts shifted, seq unchanged)
=========  ===================================================================================

Faults apply to single-reading messages, before any batching. :class:`FaultPlan` names the
devices and times, so tests know exactly where a register goes down.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulators.messages import Message, make_topic, rng_for, split_batch, split_topic

FAULTS = ("dup", "ooo", "reset", "swap", "offline", "garbage", "skew")
GARBAGE = (
    b"\xff\xfe\x00garbage",
    b'{"ts": 17, "values": {',
    b'{"values": {"power_kw": "high"}}',
    b'{"values": {"flux_capacitor_gw": 1.21}}',
    b'{"values": {"humidity_pct": 250}}',
    b'{"values": {}}',
)


def parse_faults(text: str | Iterable[str] | None) -> frozenset[str]:
    """``"dup,ooo"`` -> ``{"dup", "ooo"}``; ``"all"`` means every fault; unknown flags raise."""
    if not text:
        return frozenset()
    items = text.split(",") if isinstance(text, str) else list(text)
    flags = {f.strip() for f in items if f.strip()}
    if "all" in flags:
        return frozenset(FAULTS)
    unknown = flags - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    return frozenset(flags)


@dataclass(frozen=True)
class FaultPlan:
    """Which faults, on which devices, when [epoch ms]."""

    faults: frozenset[str]
    dup_every: int = 97
    ooo_every: int = 89
    ooo_delay: int = 3
    garbage_every: int = 211
    reset_device: str | None = None
    reset_ms: int = 0
    swap_device: str | None = None
    swap_ms: int = 0
    swap_start: float = 12.5
    offline_device: str | None = None
    offline_from_ms: int = 0
    offline_to_ms: int = 0
    skew_device: str | None = None
    skew_ms: int = 420_000
    extra: dict[str, Any] = field(default_factory=dict)


def plan_faults(
    faults: Iterable[str],
    *,
    register_devices: Sequence[str],
    data_devices: Sequence[str],
    start_ms: int,
    end_ms: int | None,
    seed: int,
) -> FaultPlan:
    """Choose fault devices and times deterministically for ``seed``.

    register_devices : devices with ``_total`` registers (candidates for reset and swap)
    data_devices : every device sending readings (candidates for offline and skew)
    The window [start_ms, end_ms) places the faults (a week when ``end_ms`` is None):
    reset at 40 %, swap at 60 %, offline from 20 % for 2 % of the window (10 min to 3 days).
    """
    flags = frozenset(faults)
    span = (end_ms - start_ms) if end_ms is not None else 7 * 86_400_000
    rng = rng_for(seed, "faults")
    regs = list(register_devices)
    order = [int(i) for i in rng.permutation(len(regs))] if regs else []
    reset_dev = regs[order[0]] if "reset" in flags and regs else None
    swap_dev = regs[order[min(1, len(regs) - 1)]] if "swap" in flags and regs else None
    data = list(data_devices)
    pick = [int(i) for i in rng.permutation(len(data))] if data else []
    offline_dev = data[pick[0]] if "offline" in flags and data else None
    skew_dev = data[pick[min(1, len(data) - 1)]] if "skew" in flags and data else None
    off_len = int(min(max(span * 0.02, 600_000), 3 * 86_400_000))
    off_from = start_ms + int(span * 0.2)
    return FaultPlan(
        flags,
        reset_device=reset_dev,
        reset_ms=start_ms + int(span * 0.4),
        swap_device=swap_dev,
        swap_ms=start_ms + int(span * 0.6),
        offline_device=offline_dev,
        offline_from_ms=off_from,
        offline_to_ms=off_from + off_len,
        skew_device=skew_dev,
    )


def _is_reading(msg: Message) -> bool:
    return isinstance(msg.payload, dict) and "values" in msg.payload and msg.topic.endswith("/data")


class _Registers:
    """Rewrites one device's registers after a reset or swap at ``at_ms``."""

    def __init__(self, at_ms: int, new_start: float) -> None:
        self.at_ms = at_ms
        self.new_start = new_start
        self.last: dict[str, float] = {}
        self.offset: dict[str, float] | None = None

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        values = payload["values"]
        if payload["ts"] < self.at_ms:
            self.last = {k: v for k, v in values.items() if k.endswith("_total")}
            return payload
        if self.offset is None:
            self.offset = self.last or {k: v for k, v in values.items() if k.endswith("_total")}
        new = dict(values)
        for k, v in values.items():
            if k.endswith("_total") and k in self.offset:
                new[k] = round(max(v - self.offset[k], 0.0) + self.new_start, 3)
        return {**payload, "values": new}


def apply_faults(messages: Iterable[Message], plan: FaultPlan) -> Iterator[Message]:
    """``messages`` with the faults of ``plan`` injected (see module docstring)."""
    f = plan.faults
    rewrite: dict[str, _Registers] = {}
    if "reset" in f and plan.reset_device:
        rewrite[plan.reset_device] = _Registers(plan.reset_ms, 0.0)
    if "swap" in f and plan.swap_device:
        rewrite[plan.swap_device] = _Registers(plan.swap_ms, plan.swap_start)
    held: dict[str, list[Any]] = {}  # ooo: device -> [message, readings still to pass]
    buffered: list[dict[str, Any]] = []
    offline_topic: str | None = None
    n = 0
    per_device: dict[str, int] = {}
    garbage_i = 0
    for msg in messages:
        if not _is_reading(msg):
            yield msg
            continue
        _, entity, device, _ = split_topic(msg.topic)
        payload = msg.payload
        assert isinstance(payload, dict)
        if device in rewrite:
            payload = rewrite[device](payload)
        if "skew" in f and device == plan.skew_device:
            payload = {**payload, "ts": payload["ts"] + plan.skew_ms}
        msg = Message(msg.topic, payload, msg.retain)
        ts = payload["ts"]
        if "offline" in f and device == plan.offline_device:
            status = make_topic(msg.topic.rsplit("/", 3)[0], entity, device, "status")
            if plan.offline_from_ms <= ts < plan.offline_to_ms:
                if not buffered:
                    yield Message(status, "offline", True)
                buffered.append(payload)
                offline_topic = msg.topic
                continue
            if buffered and ts >= plan.offline_to_ms:
                yield Message(status, "online", True)
                yield from split_batch(msg.topic, buffered)
                buffered = []
        n += 1
        per_device[device] = per_device.get(device, 0) + 1
        out = [msg]
        if "dup" in f and n % plan.dup_every == 0:
            out.append(msg)
        if "garbage" in f and n % plan.garbage_every == 0:
            out.append(Message(msg.topic, GARBAGE[garbage_i % len(GARBAGE)]))
            garbage_i += 1
        if "ooo" in f:
            h = held.get(device)
            if h is not None:
                h[1] -= 1
                if h[1] <= 0:
                    out.append(h[0])
                    del held[device]
            elif per_device[device] % plan.ooo_every == 0:
                held[device] = [msg, plan.ooo_delay]
                out = out[1:]
        yield from out
    for h in held.values():
        yield h[0]
    if buffered and offline_topic:
        prefix, entity, device, _ = split_topic(offline_topic)
        yield Message(make_topic(prefix, entity, device, "status"), "online", True)
        yield from split_batch(offline_topic, buffered)
