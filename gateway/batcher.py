"""The batching stage: decode each message and gather consecutive messages into batches.

Contract:

- :meth:`Batcher.add` is called by the source for every message, in arrival order, from one
  thread. It decodes the message with :class:`telemetry.contract.Decoder` (which never
  raises on bad input, and refuses a payload over its size limit before decoding it),
  stamps the message's rejects with an identity of their own
  (:class:`telemetry.model.RejectStamper`: a bounded excerpt of the payload on the first
  reject only, the SHA-256 of the whole on each), appends its readings, events and rejects to the open batch, records
  a status message in the :class:`~gateway.status.DeviceStatus` table, and keeps the
  message's acknowledgement token.
- A batch is handed to ``emit`` when it holds ``size`` messages or ``max_points`` records
  (:meth:`add`), or when its first message is ``age_ms`` old (:meth:`tick`, called by the
  output thread a few times per ``age_ms``). Batches are emitted in order; a message is in
  exactly one batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gateway.message import Batch, Message
from gateway.stats import Stats
from gateway.status import DeviceStatus
from telemetry.contract import Decoder
from telemetry.model import RejectStamper

Emit = Callable[[Batch], None]


class Batcher:
    """Decode messages and cut them into batches by size and age.

    decoder : the contract decoder (its registry may be swapped while running)
    emit : receives each full or aged batch
    size : messages per batch (at most the source's Receive Maximum)
    age_ms : oldest a batch may get before it is emitted [ms]
    max_points : records per batch before it is emitted regardless of ``size``
    stamper : gives each refused message its identity (default: source ``gateway``)
    """

    def __init__(
        self,
        decoder: Decoder,
        emit: Emit,
        *,
        size: int,
        age_ms: int,
        stats: Stats,
        status: DeviceStatus,
        max_points: int = 20_000,
        stamper: RejectStamper | None = None,
    ) -> None:
        self.decoder = decoder
        self._emit = emit
        self.size = size
        self.age_s = age_ms / 1000
        self.max_points = max_points
        self.stamper = stamper or RejectStamper("gateway")
        self._stats = stats
        self._status = status
        self._lock = threading.Lock()
        self._batch = Batch()
        self._points = 0

    def add(self, msg: Message) -> None:
        decoded = self.decoder.decode(msg.topic, msg.payload, msg.received_ms)
        if decoded.status is not None:
            self._status.update(decoded.entity, decoded.device, decoded.status, msg.received_ms)
        stats = self._stats
        stats.received += 1
        if decoded.rejects:
            decoded.rejects = self.stamper.stamp(decoded.rejects, msg.payload)
            stats.count_rejects(decoded.rejects)
        full = None
        with self._lock:
            batch = self._batch
            if not batch.messages:
                batch.created_s = time.monotonic()
            batch.messages += 1
            batch.tokens.append(msg.token)
            if decoded.readings:
                batch.readings.extend(decoded.readings)
            if decoded.events:
                batch.events.extend(decoded.events)
            if decoded.rejects:
                batch.rejects.extend(decoded.rejects)
            self._points += len(decoded.readings) + len(decoded.events) + len(decoded.rejects)
            if batch.messages >= self.size or self._points >= self.max_points:
                full = self._cut()
            # emit under the lock: keeps batches in order against a concurrent tick()
            if full is not None:
                self._emit(full)

    @property
    def open_messages(self) -> int:
        """Messages in the open batch (not yet emitted)."""
        return self._batch.messages

    def tick(self, now_s: float | None = None) -> None:
        """Emit the open batch if its first message is ``age_ms`` old."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            if self._batch.messages and now_s - self._batch.created_s >= self.age_s:
                self._emit(self._cut())

    def flush(self) -> None:
        """Emit the open batch now, whatever its age (used when stopping)."""
        with self._lock:
            if self._batch.messages:
                self._emit(self._cut())

    def _cut(self) -> Batch:
        batch, self._batch, self._points = self._batch, Batch(), 0
        return batch
