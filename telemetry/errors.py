"""Named errors of the telemetry services (:mod:`telemetry.records`, :mod:`telemetry.replay`).

Like :class:`ledger.errors.ServiceError` (which telemetry, a lower layer, cannot import),
each carries a ``kind`` (``not_found``, ``conflict``, ``invalid``, ``unavailable``), a stable
snake_case ``code``, a ``message`` a person can act on and optional JSON-able ``details``;
``api.errors`` maps ``kind`` to an HTTP status. The store's own failures stay
:class:`telemetry.store.StoreError` / :class:`telemetry.store.StoreUnavailable`.
"""

from __future__ import annotations


class TelemetryServiceError(Exception):
    """A telemetry service cannot do what was asked (see the module docstring)."""

    kind = "invalid"
    code = "telemetry_error"

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class DeviceEntityMismatch(TelemetryServiceError):
    """Records name a device that is not registered to the entity they are posted for."""

    kind, code = "invalid", "device_entity_mismatch"

    def __init__(self, device: str, entity_id: str) -> None:
        self.device = device
        self.entity_id = entity_id
        super().__init__(
            f"device {device!r} is not registered to entity {entity_id!r}: "
            "leave `device` out or name one of the entity's devices"
        )


class RecordsRejected(TelemetryServiceError):
    """None of the posted records was accepted; ``details`` lists each record's problem
    (``index``, ``id``, ``reason``, ``detail``). The refused records are quarantined."""

    kind, code = "invalid", "records_rejected"
