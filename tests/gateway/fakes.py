"""Fakes for pipeline unit tests: an MQTT source and a store (never used in integration tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from gateway.message import Message
from gateway.source import Deliver
from telemetry.model import Event, Reading, Reject
from telemetry.store import StoreError, StoreRejected, StoreUnavailable


class FakeSource:
    """Delivers what a test feeds it; records acknowledgements and publishes."""

    def __init__(self) -> None:
        self.deliver: Deliver | None = None
        self.acked: list[Any] = []
        self.published: list[tuple[str, bytes]] = []
        self.paused = False
        self.closed = False
        self.suspended = 0
        self.resumed = 0
        self._next = 0
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return not self.closed

    def start(self, deliver: Deliver) -> None:
        self.deliver = deliver

    def feed(self, topic: str, payload: bytes, received_ms: int) -> int:
        """Deliver one message; returns its token."""
        assert self.deliver is not None and not self.paused
        self._next += 1
        self.deliver(Message(topic, payload, received_ms, self._next))
        return self._next

    def ack(self, tokens: Sequence[Any]) -> int:
        with self._lock:
            self.acked.extend(tokens)
        return len(tokens)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        with self._lock:
            self.published.append((topic, payload))

    def pause(self) -> None:
        self.paused = True

    def close(self) -> None:
        self.closed = True

    def suspend(self) -> None:
        self.suspended += 1

    def resume(self) -> None:
        self.resumed += 1


class FakeStore:
    """Keeps writes in lists; ``mode`` makes it fail like a real store would.

    mode : ``"up"``, ``"down"`` (StoreUnavailable), ``"error"`` (StoreError)
    refuse : a reading predicate; a write holding a matching reading raises StoreRejected
        (InfluxDB's field-type conflict) and stores nothing
    """

    def __init__(self) -> None:
        self.mode = "up"
        self.delay_s = 0.0
        self.gate = threading.Event()  # cleared: every write waits for it (a stalled server)
        self.gate.set()
        self.refuse: Callable[[Reading], bool] = lambda r: False
        self.readings: list[Reading] = []
        self.events: list[Event] = []
        self.rejects: list[Reject] = []
        self.stats: list[tuple[str, int, dict[str, float]]] = []
        self.writes = 0
        self.calls = 0
        self.ready_calls = 0

    def ensure_ready(self) -> None:
        self.ready_calls += 1
        self._check()

    def _check(self) -> None:
        if self.mode == "down":
            raise StoreUnavailable("connection refused", retry_after_s=0.05)
        if self.mode == "error":
            raise StoreError("401 unauthorized")

    def write(
        self,
        readings: Sequence[Reading] = (),
        events: Sequence[Event] = (),
        rejects: Sequence[Reject] = (),
    ) -> None:
        self.calls += 1
        self.gate.wait()
        if self.delay_s:
            time.sleep(self.delay_s)
        self._check()
        bad = [r for r in readings if self.refuse(r)]
        if bad:
            raise StoreRejected(f"field type conflict: {bad[0].device}")
        self.writes += 1
        self.readings.extend(readings)
        self.events.extend(events)
        self.rejects.extend(rejects)

    def write_gateway_stats(self, gateway_id: str, ts_ms: int, fields: dict[str, float]) -> None:
        self.gate.wait()
        self._check()
        self.stats.append((gateway_id, ts_ms, fields))

    def close(self) -> None:
        pass
