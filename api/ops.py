"""Operational routes of the API process: health, gateway health passthrough, ``/metrics``.

``/v1/health`` and ``/metrics`` are open (no key): they reveal no account data, and a
Prometheus scraper on the site network needs no credentials. Put the API behind a proxy
that blocks ``/metrics`` from outside if that matters on a site (docs/api.md).
"""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_responses
from telemetry.redact import redact_url

router = APIRouter(tags=["health"])


class ComponentHealth(BaseModel):
    ok: bool
    detail: str = ""


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    components: dict[str, ComponentHealth] = Field(
        description="accounts database, telemetry store and registry"
    )


class GatewayHealthPublic(BaseModel):
    reachable: bool
    url: str | None
    status_code: int | None = None
    health: Any = Field(None, description="the gateway's own /health document, unchanged")
    detail: str = ""


@router.get("/v1/health", summary="Liveness of the API and its backing services")
def health(request: Request) -> HealthPublic:
    state = request.app.state
    comps: dict[str, ComponentHealth] = {}
    try:
        with state.sessions() as session:
            session.execute(text("SELECT 1"))
        comps["accounts_db"] = ComponentHealth(ok=True)
    except Exception as exc:
        comps["accounts_db"] = ComponentHealth(ok=False, detail=type(exc).__name__)
    comps["telemetry_store"] = ComponentHealth(
        ok=state.store is not None, detail="" if state.store is not None else "not configured"
    )
    comps["registry"] = ComponentHealth(
        ok=state.registry is not None,
        detail=f"{len(state.registry.entities)} entities" if state.registry is not None else "",
    )
    ok = all(c.ok for c in comps.values())
    return HealthPublic(
        status="ok" if ok else "degraded", version=request.app.version, components=comps
    )


@router.get(
    "/v1/gateway/health",
    summary="The gateway's health document, fetched from its HTTP port",
    responses=error_responses(503),
)
def gateway_health(request: Request) -> GatewayHealthPublic:
    url = request.app.state.gateway_health_url
    if not url:
        return GatewayHealthPublic(reachable=False, url=None, detail="gateway HTTP port is off")
    try:
        resp = httpx.get(url, timeout=2.0)
    except httpx.HTTPError as exc:
        return GatewayHealthPublic(reachable=False, url=redact_url(url), detail=type(exc).__name__)
    try:
        doc = resp.json()
    except ValueError:
        doc = resp.text[:2000]
    return GatewayHealthPublic(
        reachable=True, url=redact_url(url), status_code=resp.status_code, health=doc
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics of the API process (open)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "text exposition"}},
)
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )


class MetricsMiddleware:
    """Counts requests and times them by route template (not raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "tanzhang_api_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "tanzhang_api_request_duration_seconds",
            "Time to answer [s]",
            ["method", "route"],
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.latency.labels(method, template).observe(time.perf_counter() - start)
            self.requests.labels(method, template, str(status[0])).inc()


def install(app: FastAPI) -> None:
    """Add the health routes, ``/metrics`` and the metrics middleware to ``app``."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, registry=registry)
    app.include_router(router)
