"""Build a gateway from :class:`~tanzhang.settings.Settings` and run it until told to stop.

``run(settings, stop_event)`` is what ``tanzhang gateway`` calls.
The store and the source can be injected: pipeline tests pass a fake source, the one-process
``tanzhang run`` may pass its embedded store.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gateway.agent import Agent
from gateway.batcher import Batcher
from gateway.http import HttpServer
from gateway.output import Output
from gateway.registry_watch import RegistryWatcher
from gateway.source import Source
from gateway.spool import Spool
from gateway.stats import Stats, make_registry
from gateway.status import DeviceStatus
from telemetry.contract import MAX_PAYLOAD_BYTES, Decoder, age_limit_of
from telemetry.model import RejectStamper
from telemetry.store import StoreError, TelemetryStore

log = logging.getLogger(__name__)


def receive_maximum(batch_size: int) -> int:
    """MQTT 5 Receive Maximum for a batch size: room for four batches in flight (≤ 65,535).

    Acknowledge-after-write needs at least one batch of unacknowledged messages in flight
    (docs/design-notes.md trap 1); four keep the broker sending while a batch is being written.
    """
    return min(65535, max(4 * batch_size, 100))


def default_source(settings: Any, *, protocol: str = "5") -> Source:
    """The paho-mqtt source the settings describe."""
    from gateway.mqtt import MqttSource

    if not settings.mqtt_url:
        raise ValueError(
            "TANZHANG_MQTT_URL is not set: `tanzhang gateway` needs a broker "
            "(`tanzhang run` starts an embedded one)"
        )
    return MqttSource(
        url=settings.mqtt_url,
        client_id=settings.mqtt_client_id,
        prefix=settings.mqtt_prefix,
        share_group=settings.mqtt_share_group,
        receive_maximum=receive_maximum(settings.batch_size),
        protocol=protocol,
    )


def build(
    settings: Any,
    *,
    store: TelemetryStore | None = None,
    source: Source | None = None,
    http_port: int | None = None,
    protocol: str | None = None,
    stats_interval_s: float = 10.0,
) -> Agent:
    """Assemble a gateway (nothing started yet).

    settings : :class:`tanzhang.settings.Settings`
    store : default :func:`telemetry.stores.open_store_from_settings`
    source : default :class:`gateway.mqtt.MqttSource` from the settings
    http_port : port of ``/metrics`` and ``/health``; None: no HTTP server; 0: any free port
    protocol : ``"5"`` or ``"3.1.1"`` (embedded amqtt broker); default ``settings.mqtt_protocol``
    """
    if source is None:  # config errors first
        if not protocol:
            protocol = getattr(settings, "mqtt_protocol", "5")
        source = default_source(settings, protocol=protocol)
    if store is None:
        from telemetry.stores import open_store_from_settings

        store = open_store_from_settings(settings)
    stats = Stats()
    status = DeviceStatus()

    def on_registry(registry: Any) -> None:
        batcher.decoder.registry = registry

    watcher = RegistryWatcher(settings.registry_path, on_registry)
    max_payload = getattr(settings, "max_payload_bytes", MAX_PAYLOAD_BYTES)
    # the oldest reading accepted is the oldest the store keeps (InfluxDB: the retention
    # setting; the embedded store: its own, by default none, so the 10-year limit)
    limit = age_limit_of(store)
    decoder = Decoder(
        watcher.load(), settings.mqtt_prefix, limit.ms, max_payload, max_age_text=limit.text
    )
    stamper = RejectStamper(settings.mqtt_client_id, excerpt_bytes=max_payload)
    spool = Spool(settings.spool_dir, settings.spool_max_bytes)
    agent_box: list[Agent] = []

    def gauges() -> dict[str, float]:
        return agent_box[0].gauges() if agent_box else {}

    registry, latency = make_registry(stats, gauges)
    hold_limit = getattr(source, "receive_maximum", receive_maximum(settings.batch_size))
    output = Output(
        store=store,
        source=source,
        spool=spool,
        stats=stats,
        latency=latency,
        prefix=settings.mqtt_prefix,
        tick=lambda: batcher.tick(),
        tick_s=min(0.05, settings.batch_age_ms / 4000),
        housekeeping=lambda: agent_box[0].housekeeping() if agent_box else None,
        hold_limit=hold_limit,
        stamper=stamper,
        slow_s=getattr(settings, "store_slow_s", 5.0),
    )
    batcher = Batcher(
        decoder,
        output.submit,
        size=settings.batch_size,
        age_ms=settings.batch_age_ms,
        stats=stats,
        status=status,
        stamper=stamper,
    )
    http = None
    if http_port is not None:
        http = HttpServer(registry, lambda: agent_box[0].health(), port=http_port)
    agent = Agent(
        gateway_id=settings.mqtt_client_id,
        source=source,
        batcher=batcher,
        output=output,
        spool=spool,
        store=store,
        stats=stats,
        status=status,
        watcher=watcher,
        http=http,
        stats_interval_s=stats_interval_s,
        metrics=registry,
    )
    agent_box.append(agent)
    return agent


def run(
    settings: Any,
    stop_event: threading.Event,
    *,
    store: TelemetryStore | None = None,
    source: Source | None = None,
    http_port: int | None = None,
    protocol: str | None = None,
    ready: threading.Event | None = None,
) -> int:
    """Run a gateway until ``stop_event`` is set; then stop gracefully. Returns an exit code.

    0 after a clean stop; 1 when the store was failing (non-retryable error) at the end.
    """
    agent = build(settings, store=store, source=source, http_port=http_port, protocol=protocol)
    try:  # on the output's writer thread: a stalled store must not delay the start
        agent.output.call_store(agent.store.ensure_ready)
        agent.output.needs_ready = False
    except StoreError as exc:
        log.warning("event=store_not_ready error=%r (spooling until it answers)", str(exc))
    agent.start()
    if ready is not None:
        ready.set()
    try:
        stop_event.wait()
    finally:
        agent.stop()
        agent.store.close()
    return 1 if agent.output.store_error else 0
