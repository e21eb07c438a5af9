"""Named errors of the services: :class:`ServiceError`, the base of every service's named
errors (telemetry is the lowest service layer; :mod:`ledger.errors` re-exports it), and those
of the telemetry services (:mod:`telemetry.records`, :mod:`telemetry.replay`).

Each carries a ``kind`` (``not_found``, ``conflict``, ``invalid``, ``unavailable``), a stable
snake_case ``code``, a ``message`` a person can act on and optional JSON-able ``details``;
``api.errors`` maps ``kind`` to an HTTP status. The store's own failures stay
:class:`telemetry.store.StoreError` / :class:`telemetry.store.StoreUnavailable`.
"""

from __future__ import annotations

#: what a :class:`ServiceError` means to a caller, whatever the transport
SERVICE_ERROR_KINDS = ("not_found", "conflict", "invalid", "unavailable")


class ServiceError(Exception):
    """A service cannot give what was asked: ``kind`` (one of :data:`SERVICE_ERROR_KINDS`),
    a stable snake_case ``code``, a ``message`` a person can act on and optional ``details``
    (JSON-able). The API maps ``kind`` to an HTTP status (``api.errors``); the credit report
    shows ``code`` and ``message`` as the reason a figure is missing.

    Subclasses fix ``kind`` and ``code``; an instance may override ``code``. The base of the
    named errors of every service: telemetry's here, the ledger's in :mod:`ledger.errors`.
    """

    kind = "invalid"
    code = "service_error"

    def __init__(self, message: str, *, code: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class DeviceEntityMismatch(ServiceError):
    """Records name a device that is not registered to the entity they are posted for."""

    kind, code = "invalid", "device_entity_mismatch"

    def __init__(self, device: str, entity_id: str) -> None:
        self.device = device
        self.entity_id = entity_id
        super().__init__(
            f"device {device!r} is not registered to entity {entity_id!r}: "
            "leave `device` out or name one of the entity's devices"
        )


class RecordsRejected(ServiceError):
    """None of the posted records was accepted; ``details`` lists each record's problem
    (``index``, ``id``, ``reason``, ``detail``). The refused records are quarantined."""

    kind, code = "invalid", "records_rejected"
