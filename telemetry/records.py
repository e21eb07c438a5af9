"""Field records posted over HTTP (``POST /v1/entities/{id}/records``), without the HTTP.

:func:`write_records` decodes each record with the same :func:`telemetry.contract.decode_event`
as the MQTT ``event`` channel (and the store's age limit, as the gateway) and writes the
events with ``store.write(events=...)``, so the same id and timestamp overwrite the same point
(idempotent). Refused records are quarantined like refused MQTT messages, each a message of
its own on topic ``http:/v1/entities/{id}/records``, stamped by this process's
:class:`~telemetry.model.RejectStamper` (source :func:`api_source`), and listed in the
result. It raises :class:`~telemetry.errors.DeviceEntityMismatch` for a device of another
entity and :class:`~telemetry.errors.RecordsRejected` when no record was accepted; store
failures propagate as :class:`~telemetry.store.StoreError`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from telemetry.contract import ContractError, age_limit_of, decode_event
from telemetry.errors import DeviceEntityMismatch, RecordsRejected
from telemetry.model import Event, Reject, RejectStamper

#: the device of records posted without one (typed in)
HTTP_DEVICE = "http"

_stampers: dict[int, RejectStamper] = {}
_stampers_lock = threading.Lock()


def api_source() -> str:
    """The quarantine source of this API process: ``api-{host}-{pid}``. Reject ids are
    ``{source}:{ns}``, unique per source only, so several API processes (workers, hosts)
    writing to one store each need their own."""
    host = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-") or "host"
    return f"api-{host}-{os.getpid()}"


def stamper() -> RejectStamper:
    """This process's stamper (a forked worker makes its own: the pid is in the source)."""
    pid = os.getpid()
    with _stampers_lock:
        if pid not in _stampers:
            _stampers[pid] = RejectStamper(api_source())
        return _stampers[pid]


def records_topic(entity_id: str) -> str:
    """The quarantine topic of records posted over HTTP for ``entity_id``."""
    return f"http:/v1/entities/{entity_id}/records"


@dataclass(frozen=True)
class RecordProblem:
    """Why the record at ``index`` of a request was refused (``id``: its id, if a string)."""

    index: int
    id: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class RecordsResult:
    """Ids of the records stored, and the problems of the others (quarantined)."""

    accepted: list[str]
    rejected: list[RecordProblem]


def write_records(
    store: Any,
    registry: Any,
    entity_id: str,
    device: str | None,
    records: Sequence[dict[str, Any]],
    now_ms: int,
) -> RecordsResult:
    """Decode ``records`` of ``entity_id`` (from ``device``, default :data:`HTTP_DEVICE`),
    write the accepted ones and quarantine the others (see the module docstring)."""
    if device is not None and registry.entity_of(device) != entity_id:
        raise DeviceEntityMismatch(device, entity_id)
    device = device or HTTP_DEVICE
    limit = age_limit_of(store)  # as the gateway: the oldest the store keeps
    topic = records_topic(entity_id)
    events: list[Event] = []
    rejects: list[Reject] = []
    problems: list[RecordProblem] = []
    for index, doc in enumerate(records):
        try:
            events.append(decode_event(entity_id, device, doc, now_ms, limit.ms, limit.text))
        except ContractError as exc:
            rid = doc.get("id") if isinstance(doc.get("id"), str) else None
            problems.append(RecordProblem(index, rid, exc.reason, exc.detail))
            payload = json.dumps(doc, ensure_ascii=False, default=str).encode()
            rej = Reject(exc.reason, exc.detail, topic, payload, now_ms, index, entity_id, device)
            rejects += stamper().stamp([rej], payload)  # each record is a message of its own
    store.write(events=events, rejects=rejects)
    if not events:
        raise RecordsRejected(
            f"none of the {len(problems)} records was accepted: {problems[0].detail}",
            details=[asdict(p) for p in problems],
        )
    return RecordsResult(accepted=[e.id for e in events], rejected=problems)
