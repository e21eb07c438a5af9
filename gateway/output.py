"""The output stage: make batches durable, then acknowledge them.

Contract (one thread owns the store, the spool and all acknowledgements):

- A live batch goes to the store when the spool is empty, otherwise to the spool's tail, so
  that the store receives batches in arrival order. Its messages are acknowledged, in order,
  once the store took it or the spool fsynced it.
- Write failures are sorted (see :mod:`telemetry.store`):

  ============================  =========================================================
  ``StoreUnavailable``          retry: the batch goes to the spool; the spool is replayed,
                                in big batches, once a retry (backoff, or the server's
                                Retry-After) succeeds
  ``StoreRejected``             quarantine: the batch is bisected to find the records the
                                store refuses; those become rejects with reason
                                ``store_rejected`` (the server's message as detail), the
                                rest is written
  ``StoreError``                fail: logged, health red, messages stay unacknowledged and
                                the write is retried every ``fail_retry_s``
  ============================  =========================================================

- Every store call runs on a writer thread; the output thread waits for it at most
  ``slow_s``. A call still running then (a stalled store: a stopped server keeps the
  connection open and answers nothing until the client's 30 s timeout) marks the store
  *slow*: health says so, and the batch and everything arriving after it go to the spool
  and are acknowledged, until the stalled call returns. Its outcome decides what follows
  (success: replay the spool; failure: as any failed write).
- A slow store (more than ``hold_limit`` messages waiting for it) is treated like a down
  one: the waiting batches go to the spool and are acknowledged; the spool is replayed in
  big writes, which a slow store takes faster than many small ones.
- :attr:`Output.held_messages` counts every message submitted and not yet acknowledged:
  queued for the output thread, pending, or in a write.
- At the spool bound a batch is held in memory, unacknowledged; the broker stops sending
  once ``ReceiveMaximum`` messages are unacknowledged and queues the rest in the session.
- Rejects (from the decoder or ``store_rejected``) are republished on the dead-letter topic
  once durable.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from prometheus_client import Histogram

from gateway.deadletter import publish_rejects
from gateway.isolate import STORE_REJECTED, write_isolating
from gateway.message import Batch
from gateway.source import Source
from gateway.spool import Spool, encode
from gateway.stats import Stats
from sitetime.clock import now_ms
from telemetry.model import Event, Reading, Reject, RejectStamper
from telemetry.store import StoreError, StoreRejected, StoreUnavailable, TelemetryStore

log = logging.getLogger(__name__)

_STOP = object()


class StoreSlow(StoreUnavailable):
    """A store call did not return within ``slow_s``; it is still running on the writer."""


class Output:
    """Writes batches to the store or the spool and acknowledges them (its own thread).

    store : the telemetry store
    source : acknowledgements and dead-letter publishing go back through it
    spool : the on-disk spool
    stats, latency : counters and the write-latency histogram
    prefix : topic prefix (for the topics of ``store_rejected`` quarantine records)
    tick : called every ``tick_s`` (the batcher's age check)
    housekeeping : called about once a second (registry reload, own stats)
    replay_points : records per store write when replaying or catching up
    hold_limit : messages held unacknowledged at the spool bound before the source is
        suspended (the source's ReceiveMaximum; see :meth:`gateway.source.Source.suspend`)
    stamper : gives ``store_rejected`` quarantine records their identity
    slow_s : longest the output thread waits for one store call before it calls the store
        stalled and spools [s]
    """

    def __init__(
        self,
        *,
        store: TelemetryStore,
        source: Source,
        spool: Spool,
        stats: Stats,
        latency: Histogram,
        prefix: str,
        tick: Callable[[], None] = lambda: None,
        tick_s: float = 0.05,
        housekeeping: Callable[[], None] = lambda: None,
        replay_points: int = 20_000,
        fail_retry_s: float = 10.0,
        max_backoff_s: float = 5.0,
        hold_limit: int = 65535,
        stamper: RejectStamper | None = None,
        slow_s: float = 5.0,
    ) -> None:
        self.store = store
        self.source = source
        self.spool = spool
        self.stats = stats
        self.latency = latency
        self.prefix = prefix
        self._tick = tick
        self._tick_s = tick_s
        self._housekeeping = housekeeping
        self.replay_points = replay_points
        self.fail_retry_s = fail_retry_s
        self.max_backoff_s = max_backoff_s
        self.hold_limit = hold_limit
        self.stamper = stamper
        self.slow_s = slow_s
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-store")
        self._inflight: Future[Any] | None = None  # a store call that outlived slow_s
        self._inflight_since = 0.0
        self.store_slow = False  # a store call has been running for more than slow_s
        self._unacked = 0  # messages submitted, not yet acknowledged or dropped
        self._unacked_lock = threading.Lock()
        self.suspended = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: deque[Batch] = deque()  # live batches not yet durable, in order
        self._thread = threading.Thread(target=self._run, name="gateway-output", daemon=True)
        self._retry_at = 0.0
        self._backoff_s = 0.0
        self._last_housekeeping = 0.0
        self.store_up = True
        self.needs_ready = True  # call store.ensure_ready() before the next write
        self.store_error: str | None = None  # last non-retryable failure (health red)
        self.last_write_ms: int | None = None
        self._replay_t0: float | None = None
        self._replay_points = 0
        #: the last complete replay: points, seconds, rate [points/s], finished_ms
        self.last_replay: dict[str, Any] | None = None

    # -- control -------------------------------------------------------------------------
    def submit(self, batch: Batch) -> None:
        """Hand over a batch (any thread); non-blocking."""
        self._count_unacked(batch.messages)
        self._queue.put(batch)

    def _count_unacked(self, n: int) -> None:
        with self._unacked_lock:
            self._unacked += n

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Make every submitted batch durable if the store or the spool can take it; stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        self.spool.close()

    def close(self) -> None:
        """Release the writer thread (after :meth:`stop` and the last :meth:`call_store`)."""
        self._writer.shutdown(wait=False)

    @property
    def held_messages(self) -> int:
        """Messages received but not acknowledged: queued, pending or being written."""
        return self._unacked

    @property
    def writing_s(self) -> float:
        """How long the store call that outlived ``slow_s`` has been running [s] (0: none)."""
        inflight = self._inflight
        if inflight is None or inflight.done():
            return 0.0
        return time.monotonic() - self._inflight_since

    def _pending_messages(self) -> int:
        return sum(b.messages for b in self._pending)

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                busy = not self.spool.empty and self._can_try_store()
                try:
                    first = self._queue.get(timeout=0 if busy else self._tick_s)
                except queue.Empty:
                    first = None
                self._tick()
                live = [] if first is None else [first]
                while True:
                    try:
                        live.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if _STOP in live:
                    stopping = True
                    live = [b for b in live if b is not _STOP]
                self._pending.extend(live)
                self._check_inflight()
                self._drain_pending()
                if not stopping:
                    self._replay_step()
                    self._maybe_resume()
                    now = time.monotonic()
                    if now - self._last_housekeeping >= 1.0:
                        self._last_housekeeping = now
                        self._housekeeping()
            except Exception as exc:  # a bug must not silently stop acknowledging
                log.exception("event=output_loop_error error=%r", exc)
                self.store_error = f"internal error: {exc!r}"
                time.sleep(1.0)
        if self._pending:
            log.warning("event=stop_with_unacknowledged messages=%d", self.held_messages)

    def _can_try_store(self) -> bool:
        return self._inflight is None and time.monotonic() >= self._retry_at

    # -- the writer thread ---------------------------------------------------------------
    def call_store(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store call on the writer thread; wait at most ``slow_s``.

        Raises :class:`StoreSlow` when it takes longer (the call goes on; its outcome is
        taken up by :meth:`_check_inflight`) or when an earlier one is still running, and
        whatever the call raised otherwise. Called from one thread at a time.
        """
        if self._inflight is not None:
            raise StoreSlow(f"a store call has been running for {self.writing_s:.1f} s")
        fut = self._writer.submit(fn, *args)
        try:
            return fut.result(timeout=self.slow_s)
        except FutureTimeout:
            self._inflight, self._inflight_since = fut, time.monotonic() - self.slow_s
            exc = StoreSlow(f"a store call took more than {self.slow_s:g} s")
            self._stalled(exc)  # whichever call it was: a data write, ensure_ready, stats
            raise exc from None

    def _check_inflight(self) -> None:
        """Take up the outcome of a stalled store call once it returned."""
        fut = self._inflight
        if fut is None or not fut.done():
            return
        self._inflight = None
        self.store_slow = False
        exc = fut.exception()
        if exc is None:
            log.info("event=store_stall_over seconds=%.1f", time.monotonic() - self._inflight_since)
            self._store_ok()
        elif isinstance(exc, StoreUnavailable):
            self._unavailable(exc)
        elif isinstance(exc, StoreRejected):
            pass  # the batch is in the spool; replaying it isolates the refused records
        elif isinstance(exc, StoreError):
            self._failed(exc)
        else:
            log.error("event=store_call_error error=%r", exc)

    def _stalled(self, exc: StoreSlow) -> None:
        if not self.store_slow:
            self.stats.store_slow += 1
            log.warning(
                "event=store_stalled error=%r held_messages=%d (spooling)",
                str(exc),
                self.held_messages,
            )
        self.store_slow = True

    def _drain_pending(self) -> None:
        # 1. straight to the store while nothing is spooled before these batches and the
        #    store keeps up (more than hold_limit waiting: the store is slow, spool instead)
        while (
            self._pending
            and self.spool.empty
            and self._can_try_store()
            and self.held_messages <= self.hold_limit
        ):
            merged, parts = self._take_pending()
            try:
                refused = self._write_isolating(merged)
            except StoreSlow as exc:
                self._stalled(exc)
                self._pending.extendleft(reversed(parts))
                break
            except StoreUnavailable as exc:
                self._unavailable(exc)
                self._pending.extendleft(reversed(parts))
                break
            except StoreError as exc:
                self._failed(exc)
                self._pending.extendleft(reversed(parts))
                return
            self._count_written(merged, refused)
            self._durable(merged)
        if not self._pending:
            return
        if self.store_error:  # failing: hold, unacknowledged, within the hold limit
            self._bound_memory()
            return
        slow = self.held_messages > self.hold_limit
        if self.spool.empty and self._can_try_store() and not slow:
            return
        if slow and self.spool.empty:
            self.stats.store_slow += 1
            log.warning("event=store_slow held_messages=%d (spooling)", self.held_messages)
        # 2. behind the spooled backlog (the store is down or slow): append to the spool
        spooled: list[Batch] = []
        ts = now_ms()
        while self._pending:
            batch = self._pending[0]
            line = encode(batch, ts)
            if not self.spool.has_room(len(line)):
                if not batch.held:
                    batch.held = True
                    self.stats.held_batches += 1
                    log.warning(
                        "event=spool_full bytes=%d max_bytes=%d held_messages=%d",
                        self.spool.disk_bytes,
                        self.spool.max_bytes,
                        self.held_messages,
                    )
                break
            self.spool.append_line(line, batch.points, ts, batch.messages)
            spooled.append(self._pending.popleft())
        if spooled:
            self.spool.sync()
            for batch in spooled:
                self.stats.spooled_batches += 1
                self.stats.spooled_points += batch.points
                self._durable(batch)
        self._bound_memory()

    def _bound_memory(self) -> None:
        if self._pending and (self.suspended or self.held_messages > self.hold_limit):
            self._suspend()

    def _suspend(self) -> None:
        """Drop what is held (the broker redelivers it) and disconnect until there is room."""
        dropped = self._pending_messages()
        self._pending.clear()
        self._count_unacked(-dropped)
        if self.suspended:
            return  # stale batches that were still on their way
        self.suspended = True
        self.stats.suspends += 1
        log.warning(
            "event=spool_full_suspend held_messages=%d hold_limit=%d (the broker keeps them)",
            dropped,
            self.hold_limit,
        )
        self.source.suspend()

    def _maybe_resume(self) -> None:
        if (
            self.suspended
            and self.spool.disk_bytes <= self.spool.max_bytes // 2
            and (not self.store_error or self._can_try_store())  # failing: retry every 10 s
        ):
            self.suspended = False
            log.info("event=spool_room_resume bytes=%d", self.spool.disk_bytes)
            self.source.resume()

    def _take_pending(self) -> tuple[Batch, list[Batch]]:
        """Merge pending batches up to ``replay_points`` records (at least one batch).

        Returns the merged batch and its parts (put back as they were if the write fails).
        """
        parts = [self._pending.popleft()]
        if not self._pending or parts[0].points >= self.replay_points:
            return parts[0], parts
        merged = Batch()
        merged.extend(parts[0])
        while self._pending and merged.points + self._pending[0].points <= self.replay_points:
            parts.append(self._pending.popleft())
            merged.extend(parts[-1])
        return merged, parts

    def _count_written(self, batch: Batch, refused: tuple[int, int]) -> None:
        self.stats.readings_written += len(batch.readings) - refused[0]
        self.stats.events_written += len(batch.events) - refused[1]
        self.stats.rejects_written += len(batch.rejects)
        self.stats.batches_written += 1

    def _durable(self, batch: Batch) -> None:
        if batch.rejects:
            self.stats.deadletters += publish_rejects(
                self.source.publish, [r for r in batch.rejects if r.reason != STORE_REJECTED]
            )
        if batch.tokens:
            self.stats.acked += self.source.ack(batch.tokens)
        self._count_unacked(-batch.messages)

    def _replay_step(self) -> None:
        if self.spool.empty or not self._can_try_store():
            return
        t0 = time.perf_counter()
        batch, count = self.spool.read(self.replay_points)
        try:
            refused = self._write_isolating(batch)
        except StoreSlow as exc:
            self._stalled(exc)
            return
        except StoreUnavailable as exc:
            self._unavailable(exc)
            return
        except StoreError as exc:
            self._failed(exc)
            return
        self.spool.commit(count)
        if self._replay_t0 is None:  # the first chunk the store took
            self._replay_t0, self._replay_points = t0, 0
        self._replay_points += batch.points
        self.stats.replayed_points += batch.points
        self._count_written(batch, refused)
        if self.spool.empty:
            seconds = time.perf_counter() - self._replay_t0
            self.last_replay = {
                "points": self._replay_points,
                "seconds": round(seconds, 3),
                "rate": round(self._replay_points / seconds, 1) if seconds > 0 else None,
                "finished_ms": now_ms(),
            }
            self._replay_t0 = None
            log.info(
                "event=spool_replayed points=%d seconds=%.2f rate=%s",
                self._replay_points,
                seconds,
                self.last_replay["rate"],
            )

    # -- writing -------------------------------------------------------------------------
    def _store_write(
        self, readings: Sequence[Reading], events: Sequence[Event], rejects: Sequence[Reject]
    ) -> None:
        self.call_store(self._write_now, readings, events, rejects)
        self._store_ok()

    def _write_now(
        self, readings: Sequence[Reading], events: Sequence[Event], rejects: Sequence[Reject]
    ) -> None:
        """One write, on the writer thread."""
        if self.needs_ready:
            self.store.ensure_ready()
            self.needs_ready = False
        t0 = time.perf_counter()
        self.store.write(readings, events, rejects)
        self.latency.observe(time.perf_counter() - t0)

    def _store_ok(self) -> None:
        self.last_write_ms = now_ms()
        if not self.store_up:
            log.info("event=store_back")
        self.store_up = True
        self.store_error = None
        self._backoff_s = 0.0

    def _write_isolating(self, batch: Batch) -> tuple[int, int]:
        return write_isolating(
            self._store_write,
            batch,
            prefix=self.prefix,
            stats=self.stats,
            publish=self.source.publish,
            stamper=self.stamper,
        )

    def _unavailable(self, exc: StoreUnavailable) -> None:
        self.stats.store_unavailable += 1
        if self.store_up:
            log.warning("event=store_unavailable error=%r (spooling)", str(exc))
        self.store_up = False
        self.needs_ready = True
        self._backoff_s = min(self.max_backoff_s, max(0.25, self._backoff_s * 2))
        wait = exc.retry_after_s if exc.retry_after_s is not None else self._backoff_s
        self._retry_at = time.monotonic() + wait

    def _failed(self, exc: StoreError) -> None:
        self.stats.store_errors += 1
        self.store_error = str(exc) or repr(exc)
        log.error(
            "event=store_failed error=%r (messages stay unacknowledged; retry in %.0f s)",
            self.store_error,
            self.fail_retry_s,
        )
        self._retry_at = time.monotonic() + self.fail_retry_s
