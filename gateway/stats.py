"""The gateway's own counters, as Prometheus metrics and as its InfluxDB measurement.

Counters are plain integers incremented by the one thread that owns each (no lock on the hot
path); gauges are read from the components when scraped. :meth:`Stats.snapshot` is what the
gateway writes every 10 s into the ``gateway`` measurement (tag ``gateway`` = client id), and
:class:`StatsCollector` exposes the same figures under ``tanzhang_gateway_*`` on ``/metrics``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from telemetry.model import Reject

#: Buckets of the store write latency histogram [s].
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_COUNTERS = {
    "received": ("received_messages", "MQTT messages received"),
    "acked": ("acked_messages", "MQTT messages acknowledged after their batch was durable"),
    "readings_written": ("written_readings", "readings written to the store"),
    "events_written": ("written_events", "field records written to the store"),
    "rejects_written": ("written_rejects", "rejects written to the store's quarantine"),
    "batches_written": ("written_batches", "batches written to the store"),
    "spooled_batches": ("spooled_batches", "batches written to the on-disk spool"),
    "spooled_points": ("spooled_points", "records written to the on-disk spool"),
    "replayed_points": ("replayed_points", "records replayed from the spool into the store"),
    "store_unavailable": ("store_unavailable", "writes refused as retryable (down, 5xx, 429)"),
    "store_rejected_writes": ("store_rejected_writes", "writes refused as bad data (4xx)"),
    "store_slow": ("store_slow", "times the store fell behind and live batches went to the spool"),
    "store_errors": ("store_errors", "writes failed with a non-retryable store error"),
    "held_batches": ("spool_full_held_batches", "batches held unacknowledged at the spool bound"),
    "suspends": ("mqtt_suspends", "disconnects at the spool bound (the broker holds the backlog)"),
    "deadletters": ("deadletter_published", "rejects republished on the dead-letter topic"),
    "quarantine_failed": ("quarantine_failed", "rejects the store refused to quarantine"),
    "registry_reloads": ("registry_reloads", "registry file reloads"),
}


@dataclass
class Stats:
    """Counters of one gateway process (see the table ``_COUNTERS`` for meanings)."""

    received: int = 0
    acked: int = 0
    readings_written: int = 0
    events_written: int = 0
    rejects_written: int = 0
    batches_written: int = 0
    spooled_batches: int = 0
    spooled_points: int = 0
    replayed_points: int = 0
    store_unavailable: int = 0
    store_rejected_writes: int = 0
    store_errors: int = 0
    store_slow: int = 0
    held_batches: int = 0
    suspends: int = 0
    deadletters: int = 0
    quarantine_failed: int = 0
    registry_reloads: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def count_rejects(self, rejects: Iterable[Reject]) -> None:
        for r in rejects:
            self.rejected[r.reason] += 1

    def snapshot(self) -> dict[str, float]:
        """Every counter as a float field, rejects as ``rejected_{reason}``."""
        out = {name: float(getattr(self, name)) for name in _COUNTERS}
        out["rejected"] = float(sum(self.rejected.values()))
        for reason, n in self.rejected.items():
            out[f"rejected_{reason}"] = float(n)
        return out


Gauges = Callable[[], dict[str, float]]


class StatsCollector(Collector):
    """Prometheus view of :class:`Stats` plus live gauges from ``gauges()``."""

    def __init__(self, stats: Stats, gauges: Gauges) -> None:
        self._stats = stats
        self._gauges = gauges

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self._stats
        for attr, (name, doc) in _COUNTERS.items():
            yield CounterMetricFamily(f"tanzhang_gateway_{name}", doc, value=getattr(s, attr))
        rej = CounterMetricFamily(
            "tanzhang_gateway_rejected", "rejected messages or items by reason", labels=["reason"]
        )
        for reason, n in sorted(s.rejected.items()):
            rej.add_metric([reason], n)
        yield rej
        for name, value in self._gauges().items():
            yield GaugeMetricFamily(f"tanzhang_gateway_{name}", name.replace("_", " "), value=value)


def make_registry(stats: Stats, gauges: Gauges) -> tuple[CollectorRegistry, Histogram]:
    """A Prometheus registry of one gateway and its write-latency histogram."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(stats, gauges))
    latency = Histogram(
        "tanzhang_gateway_write_seconds",
        "store write latency per batch [s]",
        buckets=WRITE_BUCKETS,
        registry=registry,
    )
    return registry, latency
