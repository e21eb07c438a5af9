"""Messages as the simulators emit them, and the helpers every simulator shares.

A :class:`Message` is ``(topic, payload, retain)``: ``payload`` is a ``dict`` (JSON on the
``data`` and ``event`` channels), a ``str`` (``online``/``offline`` on the ``status``
channel) or ``bytes`` (only for injected garbage). :func:`encode` turns it into the bytes
sent over MQTT. The wire contract itself is described in docs/protocol.md; this module only
builds messages that follow it (simulators never import ``telemetry``).

Time: all timestamps are epoch milliseconds (UTC). Calendar arithmetic (shifts, weekdays,
seasons) uses China Standard Time, UTC+8, which has no daylight saving.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

import numpy as np

from sitetime import clock
from sitetime.calendar import site_calendar

DEFAULT_PREFIX = "tanzhang/v1"
MAX_PAYLOAD_BYTES = 64 * 1024
#: Batches are cut below the contract's 64 KiB with room for a topic-independent margin.
BATCH_MAX_BYTES = 60_000
MAX_BATCH = 1000
#: Registers are integrated from this instant, so a value depends only on (seed, device, time).
ORIGIN_YEAR = 2020
SLOT_S = 900  # the models' internal resolution [s]: 15 minutes
SLOTS_PER_DAY = 96
DAY_MS = 86_400_000


class Message(NamedTuple):
    """One MQTT message: topic, payload (dict, status text or garbage bytes), retain flag."""

    topic: str
    payload: dict[str, Any] | str | bytes
    retain: bool = False


def make_topic(prefix: str, entity: str, device: str, channel: str) -> str:
    """``{prefix}/{entity}/{device}/{channel}``."""
    return f"{prefix.rstrip('/')}/{entity}/{device}/{channel}"


def split_topic(topic: str) -> tuple[str, str, str, str]:
    """``(prefix, entity, device, channel)`` of a topic built by :func:`make_topic`."""
    prefix, entity, device, channel = topic.rsplit("/", 3)
    return prefix, entity, device, channel


def encode(payload: dict[str, Any] | str | bytes) -> bytes:
    """The bytes on the wire: compact JSON for a dict, UTF-8 for text, bytes unchanged."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def message_time_ms(msg: Message) -> int | None:
    """The newest timestamp a message carries [ms], or None (status, garbage)."""
    p = msg.payload
    if not isinstance(p, dict):
        return None
    if "batch" in p and isinstance(p["batch"], list) and p["batch"]:
        ts = p["batch"][-1].get("ts")
    else:
        ts = p.get("ts")
    return ts if isinstance(ts, int) else None


def message_due_ms(msg: Message) -> int | None:
    """When a message is due in simulated time [ms]: the true time of its (newest) reading.

    The simulators' ``seq`` is the reading's true time in seconds, also when the ``skew``
    fault moved ``ts``; pacing by it lets a skewed device publish on time with a wrong clock.
    """
    p = msg.payload
    if isinstance(p, dict):
        item = p["batch"][-1] if isinstance(p.get("batch"), list) and p["batch"] else p
        seq = item.get("seq") if isinstance(item, dict) else None
        if isinstance(seq, int) and seq > 10**9:
            return seq * 1000
    return message_time_ms(msg)


def key_of(*parts: str | int) -> int:
    """A stable 32-bit key for names (crc32; Python's ``hash`` is salted per process)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    """A numpy Generator for one stream, e.g. ``rng_for(seed, "line-a1", "slots", 2025)``."""
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, key_of(*parts)]))


def hash01(key: int, t_s: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on ``key`` and each time ``t_s`` [s].

    splitmix64 finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom number
    generators", OOPSLA 2014): window-independent noise for readings between model slots.
    """
    z = np.asarray(t_s, dtype=np.uint64) + np.uint64(key)
    z = z * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def year_start_ms(year: int) -> int:
    """Local midnight (site calendar) of 1 January of ``year`` [epoch ms]."""
    return site_calendar().midnight_ms(date(year, 1, 1))


def local_date(ts_ms: int) -> date:
    """The site calendar's local date of an instant [epoch ms]."""
    return site_calendar().local_date(int(ts_ms))


def date_ms(d: date, hour: float = 0.0) -> int:
    """Epoch ms of local (site calendar) ``d`` at ``hour``."""
    return int(site_calendar().midnight_ms(d) + hour * 3_600_000)


def parse_time(text: str) -> int:
    """Epoch ms from an ISO date (local midnight) or an RFC 3339 date-time (a date-time
    without an offset is read in the site's zone)."""
    if len(text) == 10:
        return date_ms(date.fromisoformat(text))
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=site_calendar().zone)
    return int(dt.timestamp() * 1000)


def now_ms() -> int:
    """The current instant [epoch ms] from the product's clock (:mod:`sitetime.clock`)."""
    return clock.now_ms()


def _size(reading: dict[str, Any]) -> int:
    """Encoded size of one reading plus its separating comma [bytes].

    Fast path for the simulators' own ``{"ts", "seq", "values"}`` readings: JSON renders
    ints with ``str`` and finite floats with ``repr``, so the size is exact without encoding.
    """
    values = reading.get("values")
    if reading.keys() == {"ts", "seq", "values"} and isinstance(values, dict):
        n = 26 + len(str(reading["ts"])) + len(str(reading["seq"]))
        for k, v in values.items():
            if type(v) not in (int, float) or not k.isascii() or "\\" in k or '"' in k:
                return len(encode(reading)) + 1
            n += len(k) + 4 + len(repr(v))
        return n - (1 if values else 0) + 1
    return len(encode(reading)) + 1


def batch_messages(
    messages: Iterable[Message],
    *,
    max_readings: int = MAX_BATCH,
    max_bytes: int = BATCH_MAX_BYTES,
) -> Iterator[Message]:
    """Group single readings of each ``data`` topic into ``{"batch": [...]}`` payloads.

    A batch holds at most ``max_readings`` readings and its JSON at most ``max_bytes`` bytes
    (the contract allows 1,000 and 64 KiB). Other messages pass through; a device's buffer is
    flushed before any other message of that device so its order is kept.
    """
    buffers: dict[str, list[dict[str, Any]]] = {}
    sizes: dict[str, int] = {}
    overhead = len(b'{"batch":[]}')
    for msg in messages:
        p = msg.payload
        is_reading = (
            isinstance(p, dict) and "values" in p and msg.topic.endswith("/data") and not msg.retain
        )
        if not is_reading:
            dev = msg.topic.rsplit("/", 1)[0]
            for t in [t for t in buffers if t.rsplit("/", 1)[0] == dev]:
                yield Message(t, {"batch": buffers.pop(t)})
                sizes.pop(t)
            yield msg
            continue
        assert isinstance(p, dict)
        size = _size(p)
        buf = buffers.get(msg.topic)
        if buf is not None and (
            len(buf) >= max_readings or sizes[msg.topic] + size + overhead > max_bytes
        ):
            yield Message(msg.topic, {"batch": buffers.pop(msg.topic)})
            buf = None
        if buf is None:
            buffers[msg.topic] = [p]
            sizes[msg.topic] = size
        else:
            buf.append(p)
            sizes[msg.topic] += size
    for t, buf in buffers.items():
        yield Message(t, {"batch": buf})


def split_batch(
    topic: str, readings: list[dict[str, Any]], *, max_bytes: int = BATCH_MAX_BYTES
) -> list[Message]:
    """``readings`` of one topic as as few batch messages as the contract limits allow."""
    return list(batch_messages((Message(topic, r) for r in readings), max_bytes=max_bytes))
