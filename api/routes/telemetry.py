"""HTTP routes of the telemetry domain: registry, field records, latest readings, rejects.

Field records posted over HTTP (``POST /v1/entities/{id}/records``) are decoded, written and
quarantined by :func:`telemetry.records.write_records` (the same contract as the MQTT
``event`` channel; refused records are listed in the answer). Replaying rejects
(``POST /v1/rejects/replay``) is :func:`telemetry.replay.replay_rejects`, which republishes
MQTT messages through ``app.state.publisher`` (MQTT 5, QoS 1) and re-decodes HTTP records.
Their named errors are answered by ``api.errors``; the store's failures by
:mod:`api.errors` too (503 ``store_unavailable`` / ``store_error``, for every route).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ParamSpec, TypeVar

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
from telemetry import replay
from telemetry.records import write_records
from telemetry.registry import Device, Entity
from telemetry.store import StoredReject

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)

#: the latest time a store can hold (int64 nanoseconds) [ms]
MAX_TS_MS = 9_000_000_000_000
_P = ParamSpec("_P")
_T = TypeVar("_T")


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
    result = write_records(store, registry, entity_id, body.device, body.records, clock.now_ms())
    return RecordsResultPublic(
        accepted=result.accepted,
        rejected=[
            RecordRejectPublic(index=p.index, id=p.id, reason=p.reason, detail=p.detail)
            for p in result.rejected
        ],
    )


@router.get(
    "/entities/{entity_id}/latest",
    tags=["telemetry"],
    summary="The last value of every field of every device of an entity",
    responses=error_responses(404, 503),
)
def latest(entity_id: VisibleEntity, store: StoreDep) -> list[LatestValuePublic]:
    values = store.latest(entities=[entity_id])
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
    rows = store.rejects(since_ms=since_ms, reason=reason, limit=limit + offset)
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
    result = replay.replay_rejects(store, body.ids, request.app.state.publisher, delete=body.delete)
    return ReplayResultPublic(
        replayed=result.replayed, not_found=result.not_found, failed=result.failed
    )
