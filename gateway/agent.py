r"""The gateway pipeline, assembled; the one place that draws it.

::

    devices ──MQTT QoS 1──▶ broker (persistent session, ReceiveMaximum ≥ batch)
                              │  ▲
                     PUBLISH  │  │ PUBACK, in order, only once the batch is durable
                              ▼  │
    ┌─────────────────────────────────────────────────────────────────────────────┐
    │ MqttSource ──▶ Batcher ──────────▶ Output ────────────────▶ store            │
    │ (paho, its     (decode against     (one thread:              (InfluxDB|SQLite)│
    │  own thread)    the contract;       write, or spool behind    ▲               │
    │                 size / age cut)     the backlog; bisect 4xx)  │ replay, big   │
    │                    │                  │        │              │ batches       │
    │          status ◀──┘                  │        └──▶ spool/ ───┘               │
    │       (latest per device)             │            (segments, fsync, bounded) │
    │                                       └──▶ dead letters: tanzhang/dead-letter/│
    │ RegistryWatcher (mtime poll) ──▶ Batcher.decoder.registry                    │
    │ Stats ──▶ /metrics, /health (HttpServer) and every 10 s the `gateway` measure│
    └─────────────────────────────────────────────────────────────────────────────┘

Start order: HTTP, Output (the sink), then the source. Stop order, reversed: the source
pauses (no more deliveries), the Batcher flushes its open batch, the Output makes every
batch durable and acknowledges it, the source disconnects (the session stays), HTTP stops.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.batcher import Batcher
from gateway.http import HttpServer
from gateway.output import Output
from gateway.registry_watch import RegistryWatcher
from gateway.source import Source
from gateway.spool import Spool
from gateway.stats import Stats
from gateway.status import DeviceStatus
from sitetime.clock import now_ms
from telemetry.registry import Registry
from telemetry.store import StoreError, TelemetryStore

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 10.0


class Agent:
    """One gateway: source → batcher → output, with its spool, stats and HTTP endpoints.

    Build it with :func:`gateway.service.build`; tests may assemble it from parts.
    """

    def __init__(
        self,
        *,
        gateway_id: str,
        source: Source,
        batcher: Batcher,
        output: Output,
        spool: Spool,
        store: TelemetryStore,
        stats: Stats,
        status: DeviceStatus,
        watcher: RegistryWatcher | None = None,
        http: HttpServer | None = None,
        stats_interval_s: float = STATS_INTERVAL_S,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        self.gateway_id = gateway_id
        self.source = source
        self.batcher = batcher
        self.output = output
        self.spool = spool
        self.store = store
        self.stats = stats
        self.status = status
        self.watcher = watcher
        self.http = http
        self.stats_interval_s = stats_interval_s
        self.metrics = metrics
        self._last_stats = time.monotonic()
        self._last_dropped: int | None = None
        self.started_ms: int | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self.http:
            self.http.start()
        self.output.start()
        self.source.start(self.batcher.add)
        self.started_ms = now_ms()
        log.info("event=gateway_started gateway=%s", self.gateway_id)

    def stop(self) -> None:
        log.info("event=gateway_stopping gateway=%s", self.gateway_id)
        self.source.pause()
        self.batcher.flush()
        self.output.stop()
        try:
            self.write_stats()
        finally:
            self.output.close()
            self.source.close()
            if self.http:
                self.http.stop()
        log.info(
            "event=gateway_stopped gateway=%s received=%d acked=%d spool_batches=%d",
            self.gateway_id,
            self.stats.received,
            self.stats.acked,
            self.spool.batches,
        )

    # -- called by the Output thread about once a second ---------------------------------
    def housekeeping(self) -> None:
        if self.watcher and self.watcher.poll():
            self.stats.registry_reloads += 1
        dropped = getattr(self.source, "broker_dropped", None)
        if dropped is not None and dropped != self._last_dropped:
            if self._last_dropped is not None and dropped > self._last_dropped:
                log.error(
                    "event=broker_dropped_messages total=%d (raise max_queued_messages)", dropped
                )
            self._last_dropped = dropped
        if time.monotonic() - self._last_stats >= self.stats_interval_s:
            self._last_stats = time.monotonic()
            self.write_stats()

    def write_stats(self) -> None:
        """One sample of the counters into the store's ``gateway`` measurement."""
        if not self.output.store_up or self.output.store_slow:
            return
        fields = {**self.stats.snapshot(), **self.gauges()}
        try:  # on the output's writer thread: a stalled store cannot block the caller
            self.output.call_store(
                self.store.write_gateway_stats, self.gateway_id, now_ms(), fields
            )
        except StoreError as exc:
            log.warning("event=stats_write_failed error=%r", str(exc))

    def set_registry(self, registry: Registry) -> None:
        self.batcher.decoder.registry = registry

    # -- observability -------------------------------------------------------------------
    def held(self) -> dict[str, int]:
        """Messages the gateway holds, by where [messages].

        batching : in the batcher's open batch (unacknowledged)
        output : handed to the output stage, queued, pending or being written (unacknowledged)
        spooled : acknowledged, their records in the spool waiting for the store
        """
        return {
            "batching": self.batcher.open_messages,
            "output": self.output.held_messages,
            "spooled": self.spool.messages,
        }

    def gauges(self) -> dict[str, float]:
        oldest = self.spool.oldest_ms
        held = self.held()
        out = {
            "spool_bytes": float(self.spool.disk_bytes),
            "spool_batches": float(self.spool.batches),
            "spool_points": float(self.spool.points),
            "spool_oldest_age_seconds": (now_ms() - oldest) / 1000 if oldest else 0.0,
            "held_messages": float(sum(held.values())),
            "unacked_messages": float(held["batching"] + held["output"]),
            "store_up": 1.0 if self.output.store_up and not self.output.store_error else 0.0,
            "store_slow": 1.0 if self.store_stalled() else 0.0,
            "mqtt_connected": 1.0 if self.source.connected else 0.0,
            **self.status.counts(),
        }
        dropped = getattr(self.source, "broker_dropped", None)
        if dropped is not None:
            out["broker_dropped_messages"] = float(dropped)
        return out

    def store_stalled(self) -> bool:
        """True while a store call has run longer than the output's ``slow_s``."""
        return self.output.store_slow or self.output.writing_s > self.output.slow_s

    def health(self) -> dict[str, Any]:
        """What ``/health`` answers: status ``ok`` | ``degraded`` | ``failing`` and why.

        ``held_messages`` counts every message the gateway holds (``held`` says where);
        ``store_slow`` is true while a store call has run longer than its limit.
        """
        out = self.output
        oldest = self.spool.oldest_ms
        held = self.held()
        slow = self.store_stalled()
        if out.store_error:
            status = "failing"
        elif (
            not self.source.connected
            or not out.store_up
            or slow
            or not self.spool.empty
            or out.suspended
        ):
            status = "degraded"
        else:
            status = "ok"
        return {
            "status": status,
            "gateway": self.gateway_id,
            "mqtt_connected": self.source.connected,
            "store_reachable": out.store_up,
            "store_slow": slow,
            "store_write_s": round(out.writing_s, 1),
            "store_error": out.store_error,
            "held_messages": sum(held.values()),
            "held": held,
            "last_write_ms": out.last_write_ms,
            "spool": {
                "bytes": self.spool.disk_bytes,
                "max_bytes": self.spool.max_bytes,
                "batches": self.spool.batches,
                "points": self.spool.points,
                "oldest_age_s": (now_ms() - oldest) / 1000 if oldest else 0.0,
                "held_messages": sum(held.values()),
                "mqtt_suspended": out.suspended,
            },
            "last_replay": out.last_replay,
            "broker_dropped_messages": getattr(self.source, "broker_dropped", None),
            "received": self.stats.received,
            "acked": self.stats.acked,
            "readings_written": self.stats.readings_written,
            "replayed_points": self.stats.replayed_points,
            "spooled_points": self.stats.spooled_points,
            "rejected": dict(self.stats.rejected),
            "devices": {
                dev: {"entity": s.entity, "status": s.status, "since_ms": s.since_ms}
                for dev, s in self.status.snapshot().items()
            },
        }
