"""The records that flow from the gateway into a store: readings, events and rejects."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Reading:
    """One accepted reading of one device.

    entity, device : ids from the registry
    ts_ms : time of the reading [ms since the Unix epoch, UTC]
    values : value name -> value, all floats, already checked against the contract
    seq : the device's sequence number, when it sent one
    stamped : True when the device sent no ``ts`` and the gateway stamped arrival time
    """

    entity: str
    device: str
    ts_ms: int
    values: dict[str, float]
    seq: int | None = None
    stamped: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted field record (``event`` channel or HTTP).

    id : the device's idempotency key; the same id always lands on the same stored point
    type : ``fertilizer_applied``, ``fuel_used``, ``harvest``, ``practice``, ``tree_survey``,
        ``pesticide_applied``
    attrs : the record's other fields (numbers as floats, text as str, flags as bool)
    """

    entity: str
    device: str
    ts_ms: int
    id: str
    type: str
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def ts_ns(self) -> int:
        """Storage timestamp [ns]: ``ts_ms`` plus a stable sub-millisecond offset from ``id``.

        Two different records at the same millisecond get different points, and a redelivered
        record (same id, same ts) overwrites itself: idempotent without a high-cardinality tag.
        """
        digest = hashlib.blake2b(self.id.encode(), digest_size=8).digest()
        return self.ts_ms * 1_000_000 + int.from_bytes(digest, "big") % 1_000_000

    def as_dict(self) -> dict[str, Any]:
        """The record as the accounting engine reads it: ``{"type", "id", "ts_ms", **attrs}``."""
        return {
            "type": self.type,
            "id": self.id,
            "ts_ms": self.ts_ms,
            "device": self.device,
            **self.attrs,
        }


@dataclass(frozen=True, slots=True)
class Reject:
    """A message, or one item of it, refused by the contract, kept for an operator.

    reason : a code from :data:`telemetry.contract.REJECT_REASONS`
    detail : what exactly was wrong, in words a device developer can act on
    topic : the MQTT topic it arrived on (or ``http:/v1/...`` for HTTP records)
    payload : the raw bytes of the message (the whole message, so a replay resends it)
    received_ms : arrival time [ms since the Unix epoch]
    item : index of the refused item within a batch, or None for the whole message
    """

    reason: str
    detail: str
    topic: str
    payload: bytes
    received_ms: int
    item: int | None = None
    entity: str | None = None
    device: str | None = None
