"""The telemetry store interface, implemented by the InfluxDB store and the embedded SQLite store.

Schema (the same in both):

- measurement ``telemetry``: tags ``entity``, ``device``; one float field per value name of the
  contract (``energy_kwh_total``, ``power_kw`` ...), plus ``ts_stamped`` = 1.0 when the gateway
  stamped the arrival time. Timestamp precision: milliseconds. Same series and timestamp
  overwrite (idempotent), so a redelivered reading never double-counts.
- measurement ``events``: tags ``entity``, ``device``, ``type``; fields are the record's
  attributes (numbers as floats, text as strings, flags as 0.0/1.0) and ``id``; timestamp
  :attr:`telemetry.model.Event.ts_ns` (nanoseconds, stable per id).
- measurement ``rejects``: tag ``reason``; fields ``topic``, ``payload_b64``, ``detail``,
  ``item``, ``entity``, ``device``: the quarantine an operator lists and replays.
- measurement ``gateway``: tag ``gateway`` (replica id); the gateway's own counters.

Every store raises :class:`StoreUnavailable` when the write may succeed later (connection
refused, timeout, HTTP 5xx, 429) and :class:`StoreRejected` when the data itself was refused
(HTTP 4xx such as a field-type conflict): the gateway retries the first and quarantines the
second. Anything else is :class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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
    """A quarantined message as listed for an operator."""

    id: str
    reason: str
    detail: str
    topic: str
    payload: bytes
    received_ms: int
    item: int | None
    entity: str | None
    device: str | None


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

    def latest(self, *, entities: Sequence[str] | None = None) -> list[LatestValue]:
        """The last value of every field of every device (of these entities)."""

    def rejects(
        self, *, since_ms: int | None = None, reason: str | None = None, limit: int = 100
    ) -> list[StoredReject]:
        """Quarantined messages, newest first."""

    def close(self) -> None:
        """Release connections."""
