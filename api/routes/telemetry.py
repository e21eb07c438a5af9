"""HTTP routes of the telemetry domain: registry, field records, latest readings, rejects.

Field records posted over HTTP (``POST /v1/entities/{id}/records``) go through the same
:func:`telemetry.contract.decode_event` as the MQTT ``event`` channel and are written with
``store.write(events=...)``, so the same id and timestamp overwrite the same point
(idempotent); refused records are quarantined like refused MQTT messages (topic
``http:/v1/entities/{id}/records``) and listed in the answer.

Replaying a reject republishes its message's raw payload (once per message) on its original
topic through ``app.state.publisher`` (MQTT 5, QoS 1), so it passes through the gateway
again; a reject that came over HTTP is decoded and written again directly. With ``delete``
the message's entries leave the quarantine only after the broker confirmed the publish with
reason code Success; a refusal (135 "Not authorized" ...) keeps them and is reported in
``failed``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import APIRouter, Query, Request

from api.deps import (
    AdminDep,
    LookupDep,
    PrincipalDep,
    RegistryDep,
    StaffDep,
    StoreDep,
    VisibleEntity,
    WriterDep,
    ensure_visible,
)
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import ID_PATTERN, EntityId, Limit, Offset, parse_when, when_query
from api.schemas import (
    DevicePublic,
    EntityDetailPublic,
    EntityPublic,
    LatestValuePublic,
    Page,
    RecordRejectPublic,
    RecordsCreate,
    RecordsResultPublic,
    RejectPublic,
    ReplayCreate,
    ReplayResultPublic,
)
from sitetime import clock
from telemetry.contract import ContractError, age_limit_of, decode_event
from telemetry.model import Event, Reject, RejectStamper
from telemetry.registry import Device, Entity
from telemetry.store import StoredReject, StoreError, StoreUnavailable

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)

HTTP_DEVICE = "http"
#: the latest time a store can hold (int64 nanoseconds) [ms]
MAX_TS_MS = 9_000_000_000_000
_stampers: dict[int, RejectStamper] = {}
_stampers_lock = threading.Lock()
_P = ParamSpec("_P")
_T = TypeVar("_T")


def api_source() -> str:
    """The quarantine source of this API process: ``api-{host}-{pid}``. Reject ids are
    ``{source}:{ns}``, unique per source only, so several API processes (workers, hosts)
    writing to one store each need their own."""
    host = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-") or "host"
    return f"api-{host}-{os.getpid()}"


def _stamper() -> RejectStamper:
    """This process's stamper (a forked worker makes its own: the pid is in the source)."""
    pid = os.getpid()
    with _stampers_lock:
        if pid not in _stampers:
            _stampers[pid] = RejectStamper(api_source())
        return _stampers[pid]


def _entity_public(ent: Entity) -> EntityPublic:
    return EntityPublic(id=ent.id, kind=ent.kind, parent=ent.parent, name=ent.name, attrs=ent.attrs)


def _device_public(dev: Device) -> DevicePublic:
    return DevicePublic(id=dev.id, entity=dev.entity, role=dev.role, attrs=dev.attrs)


def _ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _store_call(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    try:
        return fn(*args, **kwargs)
    except StoreUnavailable as exc:
        raise ApiError(
            503, "store_unavailable", f"the telemetry store is unavailable: {exc}"
        ) from None
    except StoreError as exc:
        raise ApiError(503, "store_error", f"the telemetry store failed: {exc}") from None


@router.get("/entities", tags=["registry"], summary="Entities visible to this key")
def list_entities(
    principal: PrincipalDep,
    registry: RegistryDep,
    lookup: LookupDep,
    kind: Annotated[str | None, Query(pattern="^(factory|line|orchard|forest)$")] = None,
    parent: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[EntityPublic]:
    visible = [
        e
        for e in sorted(registry.entities.values(), key=lambda e: e.id)
        if (kind is None or e.kind == kind)
        and (parent is None or e.parent == parent)
        and principal.can_see(e.id, lookup)
    ]
    items = [_entity_public(e) for e in visible[offset : offset + limit]]
    return Page[EntityPublic](items=items, limit=limit, offset=offset, total=len(visible))


@router.get(
    "/entities/{entity_id}",
    tags=["registry"],
    summary="One entity with its devices and children",
    responses=error_responses(404),
)
def get_entity(
    entity_id: EntityId, principal: PrincipalDep, registry: RegistryDep, lookup: LookupDep
) -> EntityDetailPublic:
    ent = registry.entities.get(entity_id)
    if ent is None:
        raise ApiError(404, "entity_not_found", f"entity {entity_id!r} is not in the registry")
    ensure_visible(principal, entity_id, lookup)
    return EntityDetailPublic(
        **_entity_public(ent).model_dump(),
        devices=[_device_public(d) for d in registry.devices_of(entity_id)],
        children=sorted(c.id for c in registry.children(entity_id)),
    )


@router.get("/devices", tags=["registry"], summary="Devices of the entities visible to this key")
def list_devices(
    principal: PrincipalDep,
    registry: RegistryDep,
    lookup: LookupDep,
    entity: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    role: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DevicePublic]:
    visible = [
        d
        for d in sorted(registry.devices.values(), key=lambda d: d.id)
        if (entity is None or d.entity == entity)
        and (role is None or d.role == role)
        and principal.can_see(d.entity, lookup)
    ]
    items = [_device_public(d) for d in visible[offset : offset + limit]]
    return Page[DevicePublic](items=items, limit=limit, offset=offset, total=len(visible))


@router.post(
    "/entities/{entity_id}/records",
    tags=["telemetry"],
    summary="Post field records (fertiliser, fuel, harvest, practice, tree survey) over HTTP",
    responses=error_responses(404, 503),
)
def post_records(
    _: WriterDep,
    entity_id: VisibleEntity,
    body: RecordsCreate,
    registry: RegistryDep,
    store: StoreDep,
) -> RecordsResultPublic:
    device = body.device or HTTP_DEVICE
    if body.device is not None and registry.entity_of(body.device) != entity_id:
        raise ApiError(
            422,
            "device_entity_mismatch",
            f"device {body.device!r} is not registered to entity {entity_id!r}: "
            "leave `device` out or name one of the entity's devices",
        )
    now_ms = clock.now_ms()
    limit = age_limit_of(store)  # as the gateway: the oldest the store keeps
    topic = f"http:/v1/entities/{entity_id}/records"
    events: list[Event] = []
    rejects: list[Reject] = []
    problems: list[RecordRejectPublic] = []
    for index, doc in enumerate(body.records):
        try:
            events.append(decode_event(entity_id, device, doc, now_ms, limit.ms, limit.text))
        except ContractError as exc:
            rid = doc.get("id") if isinstance(doc.get("id"), str) else None
            problems.append(
                RecordRejectPublic(index=index, id=rid, reason=exc.reason, detail=exc.detail)
            )
            payload = json.dumps(doc, ensure_ascii=False, default=str).encode()
            rej = Reject(exc.reason, exc.detail, topic, payload, now_ms, index, entity_id, device)
            rejects += _stamper().stamp([rej], payload)  # each record is a message of its own
    _store_call(store.write, events=events, rejects=rejects)
    if not events:
        raise ApiError(
            422,
            "records_rejected",
            f"none of the {len(problems)} records was accepted: {problems[0].detail}",
            details=[p.model_dump() for p in problems],
        )
    return RecordsResultPublic(accepted=[e.id for e in events], rejected=problems)


@router.get(
    "/entities/{entity_id}/latest",
    tags=["telemetry"],
    summary="The last value of every field of every device of an entity",
    responses=error_responses(404, 503),
)
def latest(entity_id: VisibleEntity, store: StoreDep) -> list[LatestValuePublic]:
    values = _store_call(store.latest, entities=[entity_id])
    return [
        LatestValuePublic(
            entity=v.entity, device=v.device, field=v.field, ts=_dt(v.ts_ms), value=v.value
        )
        for v in values
    ]


def _reject_public(r: StoredReject) -> RejectPublic:
    return RejectPublic(
        id=r.id,
        reason=r.reason,
        detail=r.detail,
        topic=r.topic,
        payload=r.payload.decode("utf-8", errors="replace"),
        received_at=_dt(r.received_ms),
        item=r.item,
        entity=r.entity,
        device=r.device,
        message=r.message,
        payload_sha256=r.payload_sha256,
        payload_size=r.payload_size,
        truncated=r.truncated,
    )


@router.get("/rejects", tags=["rejects"], summary="Quarantined messages, newest first (staff)")
def list_rejects(
    _: StaffDep,
    store: StoreDep,
    since: Annotated[str | None, when_query("received at or after")] = None,
    reason: Annotated[str | None, Query(pattern="^[a-z_]{1,64}$")] = None,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Page[RejectPublic]:
    since_dt = parse_when(since, "since")
    # stores keep nanosecond int64 timestamps: 1970 .. 2262
    since_ms = min(max(_ms(since_dt), 0), MAX_TS_MS) if since_dt is not None else None
    rows = _store_call(store.rejects, since_ms=since_ms, reason=reason, limit=limit + offset)
    items = [_reject_public(r) for r in rows[offset : offset + limit]]
    return Page[RejectPublic](items=items, limit=limit, offset=offset)


@router.post(
    "/rejects/replay",
    tags=["rejects"],
    summary="Replay quarantined messages (admin): republish over MQTT, or re-decode HTTP records",
    responses=error_responses(503),
)
def replay_rejects(
    body: ReplayCreate, request: Request, _: AdminDep, store: StoreDep
) -> ReplayResultPublic:
    wanted = list(dict.fromkeys(body.ids))
    want = set(wanted)
    # by key: the named rejects and the other entries of their messages (deleted with them)
    scanned = _store_call(store.rejects_by_id, wanted, whole_messages=True)
    found = {r.id: r for r in scanned if r.id in want}
    # a message is replayed once, however many of its item rejects were named
    messages: dict[str, list[str]] = {}
    for rid in wanted:
        if rid in found:
            messages.setdefault(found[rid].message or rid, []).append(rid)
    publisher = request.app.state.publisher
    replayed: list[str] = []
    done_messages: set[str] = set()
    failed: dict[str, str] = {}
    for message, ids in messages.items():
        rej = found[ids[0]]
        try:
            why = rej.replay_problem()
            if why:
                raise ContractError("payload_too_large", why)
            if rej.topic.startswith("http:"):
                _replay_http(store, rej)
            else:
                publisher(rej.topic, rej.payload)  # raises unless the broker said Success
        except ContractError as exc:
            failed.update({rid: f"{exc.reason}: {exc.detail}" for rid in ids})
            continue
        except Exception as exc:  # refused, broker down, store down: keep the reject
            failed.update({rid: f"{type(exc).__name__}: {exc}" for rid in ids})
            continue
        replayed += ids
        done_messages.add(message)
    if body.delete and replayed:
        # every entry of a replayed message goes: the gateway quarantines anew what is still bad
        gone = [r.id for r in scanned if (r.message or r.id) in done_messages]
        _store_call(store.delete_rejects, sorted(set(gone) | set(replayed)))
    return ReplayResultPublic(
        replayed=replayed, not_found=[r for r in wanted if r not in found], failed=failed
    )


def _replay_http(store: Any, rej: StoredReject) -> None:
    """Decode a record that came over HTTP again (the registry or contract may have changed)."""
    doc = json.loads(rej.payload)
    if not isinstance(doc, dict) or rej.entity is None:
        raise ContractError("payload_not_object", "the quarantined record is not a JSON object")
    limit = age_limit_of(store)
    event = decode_event(
        rej.entity, rej.device or HTTP_DEVICE, doc, clock.now_ms(), limit.ms, limit.text
    )
    store.write(events=[event])
