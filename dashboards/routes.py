"""The live pages, their static assets and the live stream, under ``/dashboards``.

Pages are plain HTML shells (``dashboards/templates``) filled in the browser by small vanilla
JavaScript (``dashboards/static``) that reads the ``/v1`` JSON API with the caller's API key;
charts use the plotly.js bundle shipped inside the installed ``plotly`` Python package, served
from here (never from the internet). No front-end build step.

Authentication (see docs/dashboards.md): the pages themselves hold no data and are public;
every figure comes from ``/v1`` or the stream with the key the user typed into the sign-in
form (kept in the browser's localStorage). Only in development, and only when
``TANZHANG_DEMO_API_KEY`` is set, the server writes that demo key into the page so a fresh
``tanzhang run`` opens straight onto data; production never does.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.deps import ensure_visible, entity_lookup, principal_from_request
from dashboards.auth import stream_entities
from dashboards.stream import latest_stream
from ledger.factory_today import factory_summary
from telemetry.store import LatestValue

router = APIRouter(prefix="/dashboards", tags=["dashboards"], include_in_schema=False)

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
TEMPLATE_DIR = _HERE / "templates"
_STATIC_NAME = re.compile(r"^[a-z0-9_-]+\.(js|css|svg)$")
_MEDIA = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
#: pages may load scripts, styles and data from this server only
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled in the installed ``plotly`` package (package_data)."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise RuntimeError(f"plotly.min.js not found at {path}: reinstall the plotly package")
    return path


@lru_cache(maxsize=32)
def _asset(name: str) -> tuple[bytes, bytes, str]:
    """(raw, gzipped, etag) of a static asset, read once per process."""
    path = plotly_js_path() if name == "plotly.min.js" else STATIC_DIR / name
    raw = path.read_bytes()
    return raw, gzip.compress(raw, 6), '"' + hashlib.sha256(raw).hexdigest()[:20] + '"'


@router.get("/static/{name}")
def static_asset(name: str, request: Request) -> Response:
    """A script, style sheet or icon; gzip when the browser takes it; ETag revalidation."""
    if name != "plotly.min.js" and not (_STATIC_NAME.match(name) and (STATIC_DIR / name).is_file()):
        raise HTTPException(404, f"no static asset {name!r}")
    raw, packed, etag = _asset(name)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media = _MEDIA[name.rsplit(".", 1)[1]]
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type=media, headers=headers)
    return Response(raw, media_type=media, headers=headers)


def _demo_key(request: Request) -> str | None:
    settings = getattr(request.app.state, "settings", None)
    if settings is None or getattr(settings, "environment", "production") != "development":
        return None
    return getattr(settings, "demo_api_key", None) or None


def render(request: Request, template: str, title: str, **values: str) -> HTMLResponse:
    """Fill ``{{name}}`` slots of a template with HTML-escaped values."""
    page = (TEMPLATE_DIR / template).read_text(encoding="utf-8")
    layout = (TEMPLATE_DIR / "layout.html").read_text(encoding="utf-8")
    key = _demo_key(request)
    slots: dict[str, str] = {
        "title": html.escape(title),
        "demo_key": html.escape(key or ""),
        **{k: html.escape(v) for k, v in values.items()},
    }
    body = layout.replace("{{body}}", page)
    for k, v in slots.items():
        body = body.replace("{{" + k + "}}", v)
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
    return HTMLResponse(body, headers=headers)


_ID = re.compile(r"^[a-z0-9_-]{1,64}$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise HTTPException(404, "ids are lower-case letters, digits, - and _ (at most 64)")
    return value


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """Index: factories (with their lines), orchards and accounts."""
    return render(request, "index.html", "碳账 tanzhang — 看板 Dashboards", page="index")


@router.get("/factory/{factory_id}", response_class=HTMLResponse)
def factory_page(request: Request, factory_id: str) -> HTMLResponse:
    """Live page of one factory: each line now, today, savings, trend, devices, alerts."""
    _check_id(factory_id)
    return render(
        request,
        "factory.html",
        f"{factory_id} — 工厂实时 Factory live",
        page="factory",
        entity=factory_id,
    )


@router.get("/orchards", response_class=HTMLResponse)
def orchards_page(request: Request) -> HTMLResponse:
    """Board of every orchard's colour label, with filters by county and colour."""
    return render(request, "orchards.html", "果园标签 Orchard board", page="orchards")


@router.get("/benchmarks", response_class=HTMLResponse)
def benchmarks_page(request: Request) -> HTMLResponse:
    """Factory benchmarking: K, colour, 碳效码 grade, benchmark source and the two lists."""
    return render(
        request, "benchmarks.html", "工厂碳效对标 Factory benchmarking", page="benchmarks"
    )


@router.get("/orchards/{orchard_id}/card", response_class=HTMLResponse)
def orchard_card(request: Request, orchard_id: str) -> HTMLResponse:
    """A printable label card of one orchard (A6, black-and-white safe)."""
    _check_id(orchard_id)
    return render(
        request, "card.html", f"{orchard_id} — 碳标签 Label card", page="card", entity=orchard_id
    )


@router.get("/accounts/{entity_id}", response_class=HTMLResponse)
def account_page(request: Request, entity_id: str) -> HTMLResponse:
    """An account: balance, statements and redemptions."""
    _check_id(entity_id)
    return render(
        request,
        "account.html",
        f"{entity_id} — 碳账户 Account",
        page="account",
        entity=entity_id,
    )


@router.get("/stream")
async def stream(
    request: Request,
    entities: Annotated[list[str], Depends(stream_entities)],
    poll_s: Annotated[float, Query(ge=0.2, le=10.0)] = 0.5,
) -> StreamingResponse:
    """Server-Sent Events with the latest values of ``entities`` (see :mod:`dashboards.stream`)."""
    store: Any = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(503, "no telemetry store configured on this app")

    def read(ids: Sequence[str]) -> list[LatestValue]:
        return store.latest(entities=ids)

    return StreamingResponse(
        latest_stream(read, entities, request.is_disconnected, poll_s=poll_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/data/factory/{factory_id}")
def factory_data(request: Request, factory_id: str) -> dict[str, Any]:
    """Today's figures of a factory's lines (see :mod:`ledger.factory_today`); JSON."""
    _check_id(factory_id)
    principal = principal_from_request(request)
    ensure_visible(principal, factory_id, entity_lookup(request))
    registry = request.app.state.registry
    if factory_id not in registry.entities or registry.entities[factory_id].kind != "factory":
        raise HTTPException(404, f"{factory_id!r} is not a factory of the registry")
    return factory_summary(getattr(request.app.state, "store", None), registry, factory_id)
