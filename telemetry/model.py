"""The records that flow from the gateway into a store: readings, events and rejects."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace
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
    payload : the raw bytes of the message; once stamped (:func:`stamp_rejects`) only the
        message's first reject (``ordinal`` 0) carries them, cut to a bounded excerpt, and
        the others carry ``b""``
    received_ms : arrival time [ms since the Unix epoch]
    item : index of the refused item within a batch, or None for the whole message
    source : who quarantined it (the gateway's client id, ``api`` for HTTP records)
    message_ns : the message's identity [ns since the Unix epoch], unique per ``source``;
        0 for a reject that was never stamped (its key is then derived from its content)
    ordinal : position of this reject among the message's rejects (0, 1, ...)
    payload_sha256 : hex SHA-256 of the whole payload ("" until stamped)
    payload_size : length of the whole payload [bytes] (-1 until stamped)
    """

    reason: str
    detail: str
    topic: str
    payload: bytes
    received_ms: int
    item: int | None = None
    entity: str | None = None
    device: str | None = None
    source: str = ""
    message_ns: int = 0
    ordinal: int = 0
    payload_sha256: str = ""
    payload_size: int = -1

    @property
    def key_ns(self) -> int:
        """Storage timestamp of a stamped reject [ns]: ``message_ns + ordinal``."""
        return self.message_ns + self.ordinal


class RejectStamper:
    """Gives every refused message an identity that no other message of ``source`` shares.

    A message with ``n`` rejects reserves ``n`` consecutive nanoseconds starting at its
    arrival time [ns] (or right after the previous message's, if that is later), so the key
    ``(source, message_ns + ordinal)`` of each reject is unique: the 1,000 rejects of one
    batch never overwrite each other, and neither do two messages of the same millisecond.
    Thread-safe; one per process and source.

    source : the quarantining process's name (a gateway's client id, ``api``)
    excerpt_bytes : how much of a payload the first reject keeps [bytes]
    """

    def __init__(self, source: str, *, excerpt_bytes: int = 64 * 1024) -> None:
        self.source = source
        self.excerpt_bytes = excerpt_bytes
        self._next_ns = 0
        self._lock = threading.Lock()

    def reserve(self, received_ms: int, count: int) -> int:
        """Reserve ``count`` nanoseconds for one message; return the first [ns]."""
        with self._lock:
            base = max(received_ms * 1_000_000, self._next_ns)
            self._next_ns = base + max(1, count)
        return base

    def stamp(self, rejects: list[Reject], payload: bytes) -> list[Reject]:
        """The rejects of one message (``payload``: its whole raw bytes), stamped.

        The first keeps a bounded excerpt of the payload, the others none; all carry the
        payload's SHA-256 and size. Returns new :class:`Reject` objects in the same order.
        """
        if not rejects:
            return rejects
        base = self.reserve(rejects[0].received_ms, len(rejects))
        digest = hashlib.sha256(payload).hexdigest()
        excerpt = bytes(payload[: self.excerpt_bytes])
        return [
            replace(
                r,
                payload=excerpt if i == 0 else b"",
                source=self.source,
                message_ns=base,
                ordinal=i,
                payload_sha256=digest,
                payload_size=len(payload),
            )
            for i, r in enumerate(rejects)
        ]
