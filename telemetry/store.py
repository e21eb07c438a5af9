"""The telemetry store interface, implemented by the InfluxDB store and the embedded SQLite store.

Schema (the same in both):

- measurement ``telemetry``: tags ``entity``, ``device``; one float field per value name of the
  contract (``energy_kwh_total``, ``power_kw`` ...), plus ``ts_stamped`` = 1.0 when the gateway
  stamped the arrival time. Timestamp precision: milliseconds. Same series and timestamp
  overwrite (idempotent), so a redelivered reading never double-counts.
- measurement ``events``: tags ``entity``, ``device``, ``type``; fields are the record's
  attributes (numbers as floats, text as strings, flags as 0.0/1.0) and ``id``; timestamp
  :attr:`telemetry.model.Event.ts_ns` (nanoseconds, stable per id).
- measurement ``rejects``: tags ``reason`` and ``source`` (the gateway or ``api`` that
  quarantined it); fields ``topic``, ``detail``, ``item``, ``entity``, ``device``,
  ``ordinal``, and on the first reject of each message only (``ordinal`` 0) ``payload_b64``
  (a bounded excerpt), ``payload_sha256`` and ``payload_size``: the quarantine an operator
  lists and replays. Timestamp: the message's identity plus the ordinal
  (:func:`reject_ts_ns`), unique per source.
- measurement ``gateway``: tag ``gateway`` (replica id); the gateway's own counters.

Every store raises :class:`StoreUnavailable` when the write may succeed later (connection
refused, timeout, HTTP 5xx, 429) and :class:`StoreRejected` when the data itself was refused
(HTTP 4xx such as a field-type conflict): the gateway retries the first and quarantines the
second. Anything else is :class:`StoreError`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from telemetry.model import Event, Reading, Reject


class StoreError(RuntimeError):
    """A store failure that is neither retryable nor the data's fault."""


class StoreUnavailable(StoreError):
    """The store could not take the write now; retry later.

    retry_after_s : the server's Retry-After hint [s], when it gave one
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreRejected(StoreError):
    """The store refused the data itself (HTTP 4xx); retrying the same data cannot succeed."""


@dataclass(frozen=True, slots=True)
class Series:
    """One field of one device over time: ``ts_ms`` [ms, int64, ascending] and ``values`` [float64]."""

    ts_ms: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_ms)


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The last value of a field of a device, for live pages."""

    entity: str
    device: str
    field: str
    ts_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class StoredReject:
    """A quarantined message (or one refused item of it) as listed for an operator.

    id : ``{source}:{timestamp ns}`` (``{timestamp ns}`` for a reject stored without source)
    payload : the stored excerpt of the message's payload (shared by all its rejects)
    message : id of the message's first reject: every reject of one message has the same
    payload_sha256, payload_size : digest (hex) and length [bytes] of the whole payload
        ("" and -1 for rejects stored before they were kept)
    """

    id: str
    reason: str
    detail: str
    topic: str
    payload: bytes
    received_ms: int
    item: int | None
    entity: str | None
    device: str | None
    message: str = ""
    payload_sha256: str = ""
    payload_size: int = -1

    @property
    def truncated(self) -> bool:
        """True when only an excerpt of the payload was kept (it cannot be replayed)."""
        return self.payload_size > len(self.payload)

    def replay_problem(self) -> str | None:
        """Why this message cannot be replayed as it arrived, or None if it can."""
        if self.truncated:
            return (
                f"only an excerpt of the payload was kept ({len(self.payload)} of "
                f"{self.payload_size} bytes): it cannot be replayed"
            )
        if self.payload_sha256 and hashlib.sha256(self.payload).hexdigest() != self.payload_sha256:
            return "the stored payload does not match its SHA-256: it cannot be replayed"
        return None


#: Aggregates :meth:`TelemetryStore.downsample` knows; each is the InfluxQL function of that name.
Aggregate = Literal["mean", "max", "min", "first", "last", "sum", "count"]
AGGREGATES: tuple[str, ...] = ("mean", "max", "min", "first", "last", "sum", "count")

#: Fields of ``telemetry`` that are bookkeeping, not values of the contract.
BOOKKEEPING_FIELDS = frozenset({"ts_stamped"})

_DURATION_RE = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def check_downsample(fn: str, every_s: int) -> None:
    """Refuse a downsample request every store would refuse: unknown ``fn``, bucket < 1 s."""
    if fn not in AGGREGATES:
        raise ValueError(f"fn must be one of {AGGREGATES}, not {fn!r}")
    if every_s < 1:
        raise ValueError("every_s must be at least 1 s")


def duration_ms(text: str) -> int:
    """An InfluxQL duration such as ``104w``, ``30d``, ``12h`` [ms]; ``INF`` or ``0`` gives 0 (keep all)."""
    t = text.strip().lower()
    if t in ("inf", "0", "0s"):
        return 0
    parts = re.findall(r"\d+(?:ms|s|m|h|d|w)", t)
    if not parts or "".join(parts) != t:
        raise ValueError(f"not an InfluxQL duration: {text!r} (examples: 104w, 730d, 12h)")
    total = 0
    for p in parts:
        m = _DURATION_RE.match(p)
        assert m is not None
        total += int(m.group(1)) * _DURATION_MS[m.group(2)]
    return total


def reject_ts_ns(reject: Reject) -> int:
    """Storage timestamp of a quarantined reject [ns]; with its source, its key.

    A stamped reject (see :class:`telemetry.model.RejectStamper`) is stored at its message's
    identity plus its ordinal, which no other reject of the same source shares. An
    unstamped one (written by hand) falls back to ``received_ms`` plus a sub-millisecond
    offset from its content, which two different rejects may share.
    """
    if reject.message_ns:
        return reject.key_ns
    h = hashlib.blake2b(digest_size=8)
    for part in (reject.reason, reject.topic, reject.detail, str(reject.item)):
        h.update(part.encode())
        h.update(b"\0")
    h.update(reject.payload)
    return reject.received_ms * 1_000_000 + int.from_bytes(h.digest(), "big") % 1_000_000


def reject_id(source: str, ts_ns: int) -> str:
    """The listed id of a stored reject: ``{source}:{ts_ns}``, or ``{ts_ns}`` without source."""
    return f"{source}:{ts_ns}" if source else str(ts_ns)


def parse_reject_id(rid: str) -> tuple[str, int]:
    """``(source, ts_ns)`` of a listed id; raises ValueError for anything else."""
    source, _, ts = rid.rpartition(":")
    return source, int(ts)


#: the entries of one message lie within this many ns of its first (a message reserves one
#: ns per reject, and has at most a batch of them: see telemetry.model.RejectStamper)
MESSAGE_SPAN_NS = 1_000_000


def parse_reject_ids(ids: Sequence[str]) -> list[tuple[str, int]]:
    """The distinct ``(source, ts_ns)`` of the well-formed ids among ``ids``, in order."""
    keys: dict[tuple[str, int], None] = {}
    for rid in ids:
        try:
            source, ts = parse_reject_id(rid)
        except ValueError:
            continue
        if 0 <= ts < 2**63:
            keys[(source, ts)] = None
    return list(keys)


def event_fields(event: Event) -> dict[str, float | str]:
    """The stored fields of an event: ``id`` plus attrs, numbers as floats, flags as 0.0/1.0.

    Raises ValueError for a non-finite number or a value of another type, or an attribute
    named like a tag (``entity``, ``device``, ``type``).
    """
    out: dict[str, float | str] = {"id": event.id}
    for k, v in event.attrs.items():
        if k in ("entity", "device", "type", "id", "time"):
            raise ValueError(f"event attribute {k!r} clashes with a stored column")
        if isinstance(v, bool):
            out[k] = 1.0 if v else 0.0
        elif isinstance(v, int | float):
            f = float(v)
            if not math.isfinite(f):
                raise ValueError(f"event attribute {k}={v!r} is not finite")
            out[k] = f
        elif isinstance(v, str):
            out[k] = v
        elif v is None:
            continue
        else:
            raise ValueError(f"event attribute {k}={v!r}: only numbers, text and flags are stored")
    return out


def event_from_fields(
    entity: str, device: str, type_: str, ts_ms: int, fields: dict[str, Any]
) -> Event:
    """Rebuild an :class:`Event` from its stored fields (the inverse of :func:`event_fields`)."""
    attrs = {
        k: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for k, v in fields.items()
        if k != "id" and v is not None
    }
    return Event(
        entity=entity, device=device, ts_ms=ts_ms, id=str(fields["id"]), type=type_, attrs=attrs
    )


class TelemetryStore(Protocol):
    """What the gateway writes to and the accounting, API and dashboards read from."""

    def ensure_ready(self) -> None:
        """Create the database and retention policy (idempotent)."""

    def write(
        self,
        readings: Sequence[Reading] = (),
        events: Sequence[Event] = (),
        rejects: Sequence[Reject] = (),
    ) -> None:
        """Write a batch durably, or raise StoreUnavailable / StoreRejected / StoreError."""

    def write_gateway_stats(self, gateway_id: str, ts_ms: int, fields: dict[str, float]) -> None:
        """Write one sample of a gateway's own counters."""

    def series(
        self,
        field: str,
        start_ms: int,
        end_ms: int,
        *,
        entities: Sequence[str] | None = None,
        previous: bool = False,
    ) -> dict[tuple[str, str], Series]:
        """Raw values of one field in ``[start_ms, end_ms)``, keyed by ``(entity, device)``.

        entities : restrict to these entities (None: all)
        previous : also include, per series, the last value before ``start_ms`` (needed to take
            the first interval delta of a cumulative register)
        """

    def events(
        self,
        start_ms: int,
        end_ms: int,
        *,
        entities: Sequence[str] | None = None,
        type: str | None = None,
    ) -> list[Event]:
        """Field records with ``start_ms <= ts < end_ms``, ordered by time."""

    def latest(
        self, *, entities: Sequence[str] | None = None, since_ms: int | None = None
    ) -> list[LatestValue]:
        """The last value of every field of every device (of these entities).

        since_ms : only values stamped at or after this time [ms] (cheaper on InfluxDB: live
            pages pass "now minus a day")
        """

    def rejects(
        self, *, since_ms: int | None = None, reason: str | None = None, limit: int = 100
    ) -> list[StoredReject]:
        """Quarantined messages, newest first."""

    def rejects_by_id(
        self, ids: Sequence[str], *, whole_messages: bool = False
    ) -> list[StoredReject]:
        """The quarantined rejects with these :attr:`StoredReject.id` (unknown or malformed
        ids are left out), newest first; with ``whole_messages`` also every other reject of
        their messages (same :attr:`StoredReject.message`). One lookup per id by key, not a
        scan of the quarantine."""

    def downsample(
        self,
        field: str,
        start_ms: int,
        end_ms: int,
        every_s: int,
        *,
        entities: Sequence[str] | None = None,
        fn: Aggregate = "mean",
    ) -> dict[tuple[str, str], Series]:
        """One aggregate per ``every_s`` bucket of one field in ``[start_ms, end_ms)``.

        Buckets are aligned to the Unix epoch (InfluxQL ``GROUP BY time(every_s s)``); each
        point's ``ts_ms`` is its bucket's start; empty buckets are left out (``fill(none)``).
        fn : one of :data:`AGGREGATES`
        """

    def gateway_stats(
        self, start_ms: int, end_ms: int, *, gateway_id: str | None = None
    ) -> dict[tuple[str, str], Series]:
        """Gateway counters in ``[start_ms, end_ms)``, keyed by ``(gateway_id, counter)``."""

    def purge_older_than(self, cutoff_ms: int) -> None:
        """Delete everything stamped before ``cutoff_ms`` [ms] (retention by hand)."""

    def delete_rejects(self, ids: Sequence[str]) -> None:
        """Remove quarantined messages by :attr:`StoredReject.id` (after a successful replay)."""

    def close(self) -> None:
        """Release connections."""
