"""Assembly of the HTTP API: ``create_app(settings)`` includes each domain's router.

``app.state`` holds what the dependencies of :mod:`api.deps` hand to routes: ``settings``,
``store``, ``registry``, ``engine``, ``sessions``, ``entity_lookup``, ``publisher`` (MQTT
republish used by reject replay), ``gateway_health_url`` and the service objects made once
here: ``savings`` (:class:`ledger.savings_service.SavingsService`), ``emc``
(:class:`ledger.emc_service.EmcService`) and ``reports``
(:class:`reports.service.ReportService`). Tests pass their own store,
registry and engine; ``tanzhang api`` passes none and gets the configured ones.

Errors: every 4xx and 5xx answer has the body ``{"error": {"code", "message"}}``
(:class:`api.errors.ErrorPublic`); request validation problems are 422
``invalid_request`` with per-field ``details``. Keys are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine, select

from api import errors as api_errors
from api import ops as api_ops
from api.params import single_query_values
from api.routes import (
    accounts,
    consent,
    emc,
    factories,
    orchards,
    reports,
    statement_page,
    telemetry,
)
from dashboards import routes as dashboards
from ledger.models import Account
from tanzhang.headers import SecurityHeadersMiddleware
from tanzhang.settings import Settings
from telemetry import stores

log = logging.getLogger("tanzhang.api")

OPENAPI_TAGS = [
    {"name": "health", "description": "Liveness, gateway health and Prometheus metrics (open)."},
    {"name": "accounts", "description": "Carbon accounts: balances, statements, redemptions."},
    {"name": "orchards", "description": "Four-colour orchard labels, history and what-if."},
    {"name": "factories", "description": "Line savings against baselines; benchmarking lists."},
    {"name": "registry", "description": "Entities and devices known to the system."},
    {"name": "telemetry", "description": "Field records over HTTP, latest readings."},
    {"name": "rejects", "description": "Quarantined messages: list and replay (staff)."},
]

#: connection pool of the accounts database: as many connections as the thread pool has
#: threads (anyio's default 40), so a route never waits for a connection that a finished
#: request still holds (sessions close after the response is sent)
POOL = {"pool_size": 10, "max_overflow": 30}

#: every router of the API, in the order their routes are matched
ROUTERS: tuple[APIRouter, ...] = (
    telemetry.router,
    accounts.router,
    orchards.router,
    factories.router,
    emc.router,
    statement_page.router,
    reports.router,
    consent.router,
    dashboards.router,
)


def _default_store(settings: Settings) -> Any:
    """The configured telemetry store (telemetry.stores), or None when it cannot be opened."""
    try:
        store = stores.open_store_from_settings(settings)
        store.ensure_ready()
        return store
    except Exception as exc:  # the API still serves the ledger without telemetry
        log.warning("telemetry store unavailable: %s", exc)
        return None


def _entity_lookup(app: FastAPI) -> Callable[[str], tuple[str, str | None] | None]:
    """id -> (kind, parent) from the registry, else from the accounts table."""

    def lookup(entity_id: str) -> tuple[str, str | None] | None:
        registry = app.state.registry
        if registry is not None:
            ent = registry.entities.get(entity_id)
            if ent is not None:
                return ent.kind, ent.parent
        with app.state.sessions() as session:
            row = session.execute(
                select(Account.kind, Account.parent).where(Account.entity_id == entity_id)
            ).first()
        return (row[0], row[1]) if row else None

    return lookup


def mqtt_publisher(settings: Settings) -> Callable[[str, bytes], None]:
    """Publish one message over MQTT 5 at QoS 1 to the configured broker (reject replay).

    Returns only once the broker answered the PUBACK with reason code 0 (Success); raises
    :class:`mqttlink.PublishRefused` with the broker's reason otherwise (135 "Not
    authorized" when the configured MQTT user may not write device topics), and
    ConnectionError when the broker cannot be reached (:func:`mqttlink.publish_one`).
    """
    from mqttlink import parse_mqtt_url, publish_one

    target = parse_mqtt_url(settings.mqtt_url or "mqtt://127.0.0.1:1883")

    def publisher(topic: str, payload: bytes) -> None:
        publish_one(target, topic, payload, timeout_s=10.0)

    return publisher


def create_app(
    settings: Settings,
    *,
    store: Any = None,
    registry: Any = None,
    engine: Engine | None = None,
    publisher: Callable[[str, bytes], None] | None = None,
) -> FastAPI:
    """The tanzhang API with every domain's routes.

    Parameters
    ----------
    settings : Settings
    store : TelemetryStore, optional
        Default: the configured store (InfluxDB, or the embedded SQLite one).
    registry : telemetry.registry.Registry, optional
        Default: loaded from ``settings.registry_path``.
    engine : sqlalchemy.Engine, optional
        The accounts database. Default: ``settings.accounts_url``. Its tables are created,
        or upgraded to the newest revision of the migrations (:func:`ledger.db.upgrade`).
    publisher : callable(topic, payload), optional
        Republishes replayed rejects; default: QoS 1 to ``settings.mqtt_url``.
    """
    from ledger.db import make_engine, make_session_factory, upgrade
    from ledger.emc_service import EmcService
    from ledger.savings_service import SavingsService
    from reports.service import ReportService
    from telemetry.registry import Registry

    app = FastAPI(
        title="tanzhang 碳账 API",
        version="1",
        summary="Carbon accounts, orchard labels, line savings and telemetry of farms and factories.",
        description=(
            "Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`; keys are "
            "created with `tanzhang keys create`. Every error has the body "
            '`{"error": {"code": ..., "message": ...}}`. See docs/api.md.'
        ),
        openapi_tags=OPENAPI_TAGS,
        dependencies=[Depends(single_query_values)],
    )
    if engine is None:
        engine = make_engine(settings.accounts_url, **POOL)
    upgrade(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.registry = registry if registry is not None else Registry.load(settings.registry_path)
    app.state.store = store if store is not None else _default_store(settings)
    app.state.entity_lookup = _entity_lookup(app)
    # the services that keep state between requests (fitted baselines), one per app
    app.state.savings = SavingsService(app.state.store, app.state.registry)
    app.state.emc = EmcService(app.state.savings)
    app.state.reports = ReportService(
        settings,
        registry=app.state.registry,
        store=app.state.store,
        savings=app.state.savings,
        emc=app.state.emc,
    )
    app.state.publisher = publisher or mqtt_publisher(settings)
    app.state.gateway_health_url = settings.gateway_health_url or (
        f"http://127.0.0.1:{settings.gateway_http_port}/health"
        if settings.gateway_http_port
        else None
    )

    api_errors.install(app)
    api_ops.install(app)
    docs = frozenset(
        p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p
    )
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs)
    for router in ROUTERS:
        app.include_router(router)
    return app
