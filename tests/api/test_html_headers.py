"""Every HTML page sends the same security headers; every answer sends ``nosniff``.

The GET routes are found, not listed by hand: every path of the OpenAPI schema, every route of
the dashboards router (kept out of the schema) and the app's own routes (the docs). Each is
requested with an admin key and ids that exist; every answer that is HTML must carry the
Content-Security-Policy with ``frame-ancestors 'none'``, ``X-Content-Type-Options: nosniff``
and the other page headers of :mod:`tanzhang.headers`.
"""

from __future__ import annotations

import re

import pytest

from dashboards.routes import router as dashboards_router
from tests.api.conftest import World

IDS = {
    "entity_id": "orchard-1",
    "factory_id": "factory-a",
    "orchard_id": "orchard-1",
    "line_id": "line-a1",
    "name": "app.css",
}
SKIP = {"/dashboards/stream"}  # a never-ending stream (its headers: tests/dashboards)
KNOWN_PAGES = {
    "/v1/accounts/orchard-1/statement.html",
    "/dashboards/",
    "/dashboards/accounts/orchard-1",
    "/docs",
    "/redoc",
}


def _get_paths(world: World) -> set[str]:
    paths = {p for p, ops in world.app.openapi()["paths"].items() if "get" in ops}
    paths |= {r.path for r in dashboards_router.routes if "GET" in getattr(r, "methods", ())}
    paths |= {r.path for r in world.app.routes if "GET" in (getattr(r, "methods", None) or ())}
    return paths - SKIP


def test_every_html_page_sends_the_security_headers(world: World) -> None:
    pages: set[str] = set()
    for template in sorted(_get_paths(world)):
        url = re.sub(r"\{(\w+)\}", lambda m: IDS[m.group(1)], template)
        r = world.client.get(url, headers=world.h("admin"))
        assert r.headers.get("x-content-type-options") == "nosniff", url
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        assert r.status_code == 200, (url, r.status_code)
        pages.add(url)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, url
        # the dashboards' policy, or the printable report's stricter one (no scripts at all)
        assert "default-src 'self'" in csp or "default-src 'none'" in csp, url
        assert "base-uri 'none'" in csp, url
        assert r.headers.get("x-frame-options") == "DENY", url
        assert r.headers.get("referrer-policy") == "no-referrer", url
        assert r.headers.get("cache-control") == "no-store", url
    assert pages >= KNOWN_PAGES, KNOWN_PAGES - pages


@pytest.mark.parametrize("path", ["/v1/accounts/orchard-1/statement.html", "/dashboards/"])
def test_pages_allow_no_script_from_elsewhere(world: World, path: str) -> None:
    csp = world.client.get(path, headers=world.h("admin")).headers["content-security-policy"]
    script = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "http" not in script and "'unsafe-inline'" not in script


def test_json_and_errors_are_nosniff_too(world: World) -> None:
    for r in (
        world.client.get("/v1/accounts", headers=world.h("admin")),
        world.client.get("/v1/accounts"),  # 401
        world.client.get("/no/such/route"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-type"].startswith("application/json")
