"""FastAPI dependencies, as ``Annotated`` aliases routes put in their signatures.

``tanzhang.app.create_app`` fills ``app.state``: ``settings``, ``store`` (a
:class:`telemetry.store.TelemetryStore`), ``registry`` (:class:`telemetry.registry.Registry`),
``engine`` and ``sessions`` (the accounts database), ``entity_lookup`` (entity id -> kind
and parent, from the registry and the accounts table), ``publisher`` (MQTT republish for
reject replay) and the service objects that keep state between requests: ``savings``
(:class:`ledger.savings_service.SavingsService`, :data:`SavingsDep`), ``emc``
(:class:`ledger.emc_service.EmcService`, :data:`EmcDep`) and ``reports``
(:class:`reports.service.ReportService`, :data:`ReportsDep`).

Authentication: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A missing, unknown
or revoked key is a 401, and so is the development demo key outside development; a key whose role or entities don't allow the request is a 403.
A ``lender`` key is refused (403 ``role_not_allowed``) by :func:`authenticate` and
:func:`principal_from_request`, so by every route and page, except those that take the
caller from :func:`authenticate_lender_too` (the credit report's
``api.routes.reports.ReportReaderDep``, which then asks for a valid consent).
Keys are never logged, echoed or accepted in a query string.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from access.keys import find_key, hash_key, principal_of
from access.roles import AGRONOMIST_KINDS, EntityLookup, Principal
from api.errors import ApiError
from api.params import EntityId
from ledger import book
from ledger.accounts_query import ALL, Scope
from ledger.emc_service import EmcService
from ledger.models import Account
from ledger.savings_service import SavingsService
from reports.service import ReportService

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tanzhang"'}


def _state(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise ApiError(503, f"{name}_unavailable", f"the API was started without a {name}")
    return value


# Dependencies are ``async def`` where they do no blocking I/O (or, for the key lookup and
# the session, only a sub-millisecond indexed read): a sync dependency costs a thread-pool
# round trip per request, which dominated the balance lookup's latency (docs/benchmarks.md).
async def get_settings(request: Request) -> Any:
    return request.app.state.settings


async def get_store(request: Request) -> Any:
    return _state(request, "store")


async def get_registry(request: Request) -> Any:
    return _state(request, "registry")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the route (no connection is taken until the route uses it)."""
    sessions = _state(request, "sessions")
    with sessions() as session:
        yield session


async def get_savings(request: Request) -> SavingsService:
    """The app's :class:`ledger.savings_service.SavingsService` (503 without a store)."""
    _state(request, "store")
    return _state(request, "savings")


async def get_emc(request: Request) -> EmcService:
    """The app's :class:`ledger.emc_service.EmcService` (503 without a store)."""
    _state(request, "store")
    return _state(request, "emc")


SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[Any, Depends(get_store)]
RegistryDep = Annotated[Any, Depends(get_registry)]
SettingsDep = Annotated[Any, Depends(get_settings)]
SavingsDep = Annotated[SavingsService, Depends(get_savings)]
EmcDep = Annotated[EmcService, Depends(get_emc)]


async def get_reports(request: Request) -> ReportService:
    """The app's :class:`reports.service.ReportService`."""
    return _state(request, "reports")


ReportsDep = Annotated[ReportService, Depends(get_reports)]


class KeyCache:
    """Principals of recently seen keys, by key digest, for :data:`KEY_CACHE_TTL_S`.

    Saves a database read per request; the price is that a revoked key keeps working for at
    most ``KEY_CACHE_TTL_S`` seconds in each API process. Only valid keys are cached.
    """

    def __init__(self, ttl_s: float = 5.0, max_size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        hit = self._items.get(hash_key(key))
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            return None
        return hit[1]

    def put(self, key: str, principal: Principal) -> None:
        if len(self._items) >= self.max_size:
            self._items.clear()
        self._items[hash_key(key)] = (time.monotonic(), principal)


def _one_key(header: str | None, bearer: str | None) -> str | None:
    """The key sent in ``X-API-Key`` and/or ``Authorization: Bearer``; 401 when the two
    headers carry different keys."""
    keys = {k.strip() for k in (header, bearer) if k and k.strip()}
    if len(keys) > 1:
        raise ApiError(
            401,
            "conflicting_api_keys",
            "'Authorization: Bearer' and 'X-API-Key' carry different keys: send one of them",
            headers=_CHALLENGE,
        )
    return keys.pop() if keys else None


def _key_from_headers(request: Request) -> str | None:
    """The key of the request (:func:`_one_key`), read from the raw headers."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return _one_key(request.headers.get("x-api-key"), value if scheme.lower() == "bearer" else None)


def principal_for_key(request: Request, key: str | None) -> Principal:
    """The caller holding ``key``, or a 401 that says what is wrong with the credentials."""
    if not key:
        raise ApiError(
            401,
            "missing_api_key",
            "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "(an admin creates one with `tanzhang keys create`)",
            headers=_CHALLENGE,
        )
    sessions = _state(request, "sessions")
    with sessions() as session:
        row = find_key(session, key)
        if row is None:
            raise ApiError(
                401,
                "unknown_api_key",
                "the API key is not known: check that it was copied whole, or ask an admin "
                "for a new one",
                headers=_CHALLENGE,
            )
        if row.revoked:
            raise ApiError(
                401,
                "revoked_api_key",
                f"API key {row.id} was revoked on {row.revoked_at:%Y-%m-%d}: ask an admin "
                "for a new one",
                headers=_CHALLENGE,
            )
        if row.development_only and _environment(request) != "development":
            raise ApiError(
                401,
                "development_key_refused",
                f"API key {row.id} is the development demo key of `tanzhang run`, refused "
                "outside development: ask an admin for a key (`tanzhang keys create`)",
                headers=_CHALLENGE,
            )
        principal = principal_of(row)
    request.state.principal = principal
    return principal


def _environment(request: Request) -> str:
    """The app's ``settings.environment``; "production" when it cannot be told."""
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "environment", None) or "production"


def principal_from_request(request: Request) -> Principal:
    """Authenticate a request outside FastAPI's dependency system (live stream, pages).

    Synchronous: on a cache miss it reads the database, so call it from a worker thread
    (a sync route or ``run_in_threadpool``), not from the event loop.
    """
    key = _key_from_headers(request)
    if key is None:
        return principal_for_key(request, None)  # raises the 401
    cache = _key_cache(request)
    principal = cache.get(key)
    if principal is None:
        principal = principal_for_key(request, key)
        cache.put(key, principal)
    refuse_lender(principal)
    request.state.principal = principal
    return principal


def refuse_lender(principal: Principal) -> None:
    """403 for a ``lender`` key: it reads credit reports by consent and nothing else."""
    if principal.is_lender:
        raise ApiError(
            403,
            "role_not_allowed",
            f"{principal.describe()} reads only the credit reports of entities that granted "
            "its lender consent (GET /v1/accounts/{id}/credit-report)",
        )


def _key_cache(request: Request) -> KeyCache:
    return request.app.state.__dict__.setdefault("key_cache", KeyCache())


def entity_lookup(request: Request) -> EntityLookup:
    """Entity id -> (kind, parent) or None, from the registry and the accounts table."""
    return request.app.state.entity_lookup


async def authenticate_lender_too(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    """The caller of this request, a ``lender`` key included: only for a dependency that
    then checks the lender's consent (``api.routes.reports.report_reader``)."""
    key = _one_key(header, bearer.credentials if bearer else None)
    if key is None:
        return principal_for_key(request, None)  # raises the 401
    cache = _key_cache(request)
    principal = cache.get(key)
    if principal is None:
        # the database read runs in a worker thread: the event loop must never wait for a
        # pooled connection (it would deadlock with the routes holding them)
        principal = await run_in_threadpool(principal_for_key, request, key)
        cache.put(key, principal)
    request.state.principal = principal
    return principal


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    """The caller of this request (the security schemes document both headers in OpenAPI);
    403 for a ``lender`` key (see :func:`refuse_lender`)."""
    principal = await authenticate_lender_too(request, bearer, header)
    refuse_lender(principal)
    return principal


async def _lookup_dep(request: Request) -> EntityLookup:
    return request.app.state.entity_lookup


PrincipalDep = Annotated[Principal, Depends(authenticate)]
LookupDep = Annotated[EntityLookup, Depends(_lookup_dep)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only keys of ``roles`` through (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise ApiError(
                403,
                "role_not_allowed",
                f"this request needs a key with role {' or '.join(roles)}; "
                f"{principal.describe()} may not make it",
            )
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
StaffDep = Annotated[Principal, Depends(require_roles("admin", "operator"))]


async def writer(principal: PrincipalDep) -> Principal:
    if not principal.can_write:
        raise ApiError(
            403,
            "read_only_key",
            f"{principal.describe()} is read-only: use an admin key or the entity's own key",
        )
    return principal


WriterDep = Annotated[Principal, Depends(writer)]


def ensure_visible(principal: Principal, entity_id: str, lookup: EntityLookup) -> None:
    """404 for an entity nobody knows; 403 for one this key may not see."""
    if lookup(entity_id) is None:
        raise ApiError(
            404,
            "entity_not_found",
            f"entity {entity_id!r} is not in the registry or the accounts database",
        )
    if not principal.can_see(entity_id, lookup):
        raise ApiError(
            403,
            "entity_not_allowed",
            f"{principal.describe()} may not access entity {entity_id!r}",
        )


# -- what the caller may see -----------------------------------------------------------------
def scope_of(principal: Principal) -> Scope:
    """The accounts ``principal`` may list, as the ledger's plain :class:`Scope` (the rule of
    :meth:`access.roles.Principal.can_see`, in SQL: an entity of the key or its child)."""
    if principal.sees_all:
        return ALL
    ents = frozenset(principal.entities)
    if principal.role == "agronomist":
        return Scope(entities=ents or None, kinds=frozenset(AGRONOMIST_KINDS))
    return Scope(entities=ents)  # a lender (refused before) would see nothing


async def visible_scope(principal: PrincipalDep) -> Scope:
    return scope_of(principal)


#: what the caller may list (:func:`scope_of`)
ScopeDep = Annotated[Scope, Depends(visible_scope)]


# Dependencies of one entity of the path. Plain ``def``: the entity lookup may read the
# accounts database, so FastAPI runs them in its thread pool, never on the event loop. Each
# declares the ``entity_id`` path parameter (documented in OpenAPI as the routes' own) and
# authenticates (a lender key is refused: :func:`authenticate`).
def visible_entity(entity_id: EntityId, principal: PrincipalDep, lookup: LookupDep) -> str:
    """The ``entity_id`` of the path, once :func:`ensure_visible` let the caller see it."""
    ensure_visible(principal, entity_id, lookup)
    return entity_id


#: the path's ``entity_id``: 404 ``entity_not_found``, 403 ``entity_not_allowed``
VisibleEntity = Annotated[str, Depends(visible_entity)]


def visible_account(entity_id: VisibleEntity, session: SessionDep) -> Account:
    """The account of the path's entity (404 ``account_not_found`` without one)."""
    return book.get_account(session, entity_id)


#: the account of the path's entity, read with the route's session (:data:`SessionDep`)
VisibleAccount = Annotated[Account, Depends(visible_account)]


def visible_orchard(acct: VisibleAccount) -> Account:
    """The account of the path's entity, an orchard (422 ``not_an_orchard`` otherwise)."""
    if acct.kind != "orchard":
        raise ApiError(
            422,
            "not_an_orchard",
            f"entity {acct.entity_id!r} is a {acct.kind}; labels are for orchards",
        )
    return acct


VisibleOrchard = Annotated[Account, Depends(visible_orchard)]


def visible_line(entity_id: VisibleEntity, registry: RegistryDep) -> Any:
    """The registry entity of the path's line (422 ``not_a_line`` for another kind)."""
    line = registry.entities.get(entity_id)
    if line is None or line.kind != "line":
        kind = line.kind if line is not None else "unregistered entity"
        raise ApiError(422, "not_a_line", f"{entity_id!r} is a {kind}; savings are for lines")
    return line


#: the registry entity of the path's line (:class:`telemetry.registry.Entity`)
VisibleLine = Annotated[Any, Depends(visible_line)]
