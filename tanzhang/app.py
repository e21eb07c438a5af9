"""Assembly of the HTTP API: ``create_app(settings)`` includes each domain's router.

``app.state`` holds what the dependencies of :mod:`access.deps` hand to routes: ``settings``,
``store``, ``registry``, ``engine``, ``sessions``, ``entity_lookup``, ``publisher`` (MQTT
republish used by reject replay) and ``gateway_health_url``. Tests pass their own store,
registry and engine; ``tanzhang api`` passes none and gets the configured ones.

Errors: every 4xx and 5xx answer has the body ``{"error": {"code", "message"}}``
(:class:`access.errors.ErrorPublic`); request validation problems are 422
``invalid_request`` with per-field ``details``. Keys are never logged.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.errors import ApiError
from access.models import create_schema as create_access_schema
from access.params import single_query_values
from sitetime.calendar import InvalidPeriodError
from tanzhang import api_ops
from tanzhang.settings import Settings

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

#: routers of each domain, ``module:attribute``; a module that is missing is skipped
ROUTERS = (
    "telemetry.routes:router",
    "ledger.routes:router",
    "reports.routes:router",
    "reports.consent_routes:router",
    "dashboards.routes:router",
)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def error_json(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = body.pop("headers", None)
    return JSONResponse({"error": jsonable_encoder(body)}, status_code=status, headers=headers)


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_json(
            exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return error_json(422, "invalid_request", _validation_message(errors), details=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allow = _allowed_methods(request, (exc.headers or {}).get("Allow"))
            return error_json(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {', '.join(allow)}",
                headers={"Allow": ", ".join(allow)},
            )
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            return error_json(422, "invalid_json", "the request body is not valid JSON")
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route: see /docs for the routes of this API"
        return error_json(exc.status_code, code, message, headers=exc.headers)

    try:
        from ledger import errors as acc
    except ImportError:  # pragma: no cover - accounts always present in this repo
        acc = None
    if acc is not None:
        mapping: list[tuple[type[Exception], int, str]] = [
            (acc.UnknownAccount, 404, "account_not_found"),
            (acc.InsufficientBalance, 409, "insufficient_balance"),
            (acc.IdempotencyConflict, 409, "idempotency_conflict"),
            (acc.InvalidPeriod, 422, "invalid_period"),
            (InvalidPeriodError, 422, "invalid_period"),
            (acc.InvalidAmount, 422, "invalid_amount"),
            (acc.InvalidStatement, 422, "invalid_statement"),
            (acc.AccountsError, 400, "accounts_error"),
        ]
        for exc_type, status, code in mapping:
            app.add_exception_handler(exc_type, _fixed(status, code))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, "internal_error", "an unexpected error; it was logged")


def _allowed_methods(request: Request, fallback: str | None) -> list[str]:
    """Every method the OpenAPI schema documents for this path (Starlette's own ``Allow``
    lists only the first matching route's); ``fallback`` for undocumented paths."""
    table = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for template, ops in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{pattern}$"), sorted(m.upper() for m in ops)))
        request.app.state.allow_table = table
    for regex, methods in table:
        if regex.match(request.url.path):
            return methods
    return [m.strip() for m in (fallback or "").split(",") if m.strip()]


def _fixed(status: int, code: str) -> Callable[[Request, Exception], Any]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return error_json(status, code, str(exc))

    return handler


def _default_store(settings: Settings) -> Any:
    """The configured telemetry store (telemetry.stores), or None when it cannot be opened."""
    try:
        stores = importlib.import_module("telemetry.stores")
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
        try:
            from ledger.models import Account
        except ImportError:  # pragma: no cover
            return None
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
        The accounts database. Default: ``settings.accounts_url``. The ``api_key`` table and
        the ledger's tables are created when missing.
    publisher : callable(topic, payload), optional
        Republishes replayed rejects; default: QoS 1 to ``settings.mqtt_url``.
    """
    from ledger.db import create_schema, make_engine, make_session_factory
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
    create_schema(engine)
    create_access_schema(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.registry = registry if registry is not None else Registry.load(settings.registry_path)
    app.state.store = store if store is not None else _default_store(settings)
    app.state.entity_lookup = _entity_lookup(app)
    app.state.publisher = publisher or mqtt_publisher(settings)
    app.state.gateway_health_url = settings.gateway_health_url or (
        f"http://127.0.0.1:{settings.gateway_http_port}/health"
        if settings.gateway_http_port
        else None
    )

    _install_error_handlers(app)
    api_ops.install(app)
    from tanzhang.headers import SecurityHeadersMiddleware

    docs = frozenset(
        p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p
    )
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs)
    for spec in ROUTERS:
        module_name, attr = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.warning("%s is not there yet; its routes are skipped", module_name)
            continue
        app.include_router(getattr(module, attr))
    return app
