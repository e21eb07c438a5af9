"""Isolate the records a store refuses (``StoreRejected``) and quarantine them.

Contract: :func:`write_isolating` writes a batch through ``write``; when the store refuses it
as bad data, the batch is bisected (halves written separately, recursively) until each
refused record stands alone. Each refused reading or event becomes a reject with reason
``store_rejected`` (:func:`quarantine_record`), written to the quarantine and republished on
the dead-letter topic; the other records are written. A refused *reject* cannot be
quarantined and is counted as ``quarantine_failed``. ``StoreUnavailable`` and ``StoreError``
propagate: the caller spools or holds the whole batch (what was written is idempotent).

Cost: about ``2 · log2(n)`` extra writes per refused record of a batch of ``n``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from gateway.deadletter import publish_rejects
from gateway.message import Batch
from gateway.stats import Stats
from sitetime import clock
from telemetry.model import Event, Reading, Reject, RejectStamper
from telemetry.store import StoreRejected

log = logging.getLogger(__name__)

STORE_REJECTED = "store_rejected"
Item = tuple[str, Any]  # ("r", Reading) | ("e", Event) | ("j", Reject)
Write = Callable[[Sequence[Reading], Sequence[Event], Sequence[Reject]], None]


def quarantine_record(
    kind: str,
    item: Reading | Event,
    detail: str,
    prefix: str,
    stamper: RejectStamper | None = None,
) -> Reject:
    """A ``store_rejected`` reject for one refused record, with a payload that replays it alone.

    The payload is the record as a device would send it (a reading or an event document) on
    the device's own topic, so ``tanzhang rejects replay`` runs it through the gateway again.
    With a ``stamper`` the record gets an identity of its own (a message of one reject).
    """
    if kind == "r":
        assert isinstance(item, Reading)
        doc: dict[str, Any] = {"ts": item.ts_ms, "values": item.values}
        if item.seq is not None:
            doc["seq"] = item.seq
        channel = "data"
    else:
        assert isinstance(item, Event)
        doc = {"id": item.id, "type": item.type, "ts": item.ts_ms, **item.attrs}
        channel = "event"
    topic = f"{prefix.rstrip('/')}/{item.entity}/{item.device}/{channel}"
    payload = json.dumps(doc, separators=(",", ":")).encode()
    received = clock.now_ms()
    rej = Reject(STORE_REJECTED, detail, topic, payload, received, None, item.entity, item.device)
    return stamper.stamp([rej], payload)[0] if stamper else rej


def bisect(write: Write, items: list[Item], detail: str) -> list[tuple[Item, str]]:
    """Write ``items`` in halves; return the refused ones with the store's message."""
    if len(items) == 1:
        return [(items[0], detail)]
    bad: list[tuple[Item, str]] = []
    mid = len(items) // 2
    for half in (items[:mid], items[mid:]):
        try:
            write(
                [x for k, x in half if k == "r"],
                [x for k, x in half if k == "e"],
                [x for k, x in half if k == "j"],
            )
        except StoreRejected as exc:
            bad += bisect(write, half, str(exc))
    return bad


def write_isolating(
    write: Write,
    batch: Batch,
    *,
    prefix: str,
    stats: Stats,
    publish: Callable[..., None],
    stamper: RejectStamper | None = None,
) -> tuple[int, int]:
    """Write a batch; on StoreRejected quarantine the refused records and write the rest.

    Returns how many readings and events the store refused (now quarantined).
    """
    try:
        write(batch.readings, batch.events, batch.rejects)
        return 0, 0
    except StoreRejected as exc:
        stats.store_rejected_writes += 1
        log.warning("event=store_rejected points=%d detail=%r", batch.points, str(exc))
        items: list[Item] = [("r", r) for r in batch.readings]
        items += [("e", e) for e in batch.events]
        items += [("j", j) for j in batch.rejects]
        bad = bisect(write, items, str(exc))
    quarantine: list[Reject] = []
    for (kind, item), detail in bad:
        if kind == "j":
            stats.quarantine_failed += 1
            log.error("event=quarantine_refused reason=%s detail=%r", item.reason, detail)
        else:
            quarantine.append(quarantine_record(kind, item, detail, prefix, stamper))
    stats.count_rejects(quarantine)
    if quarantine:
        try:
            write((), (), quarantine)
        except StoreRejected as exc:
            stats.quarantine_failed += len(quarantine)
            log.error("event=quarantine_refused count=%d detail=%r", len(quarantine), str(exc))
        stats.deadletters += publish_rejects(publish, quarantine)
    refused = [kind for (kind, _), _ in bad]
    return refused.count("r"), refused.count("e")
