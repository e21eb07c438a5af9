"""How the pages authenticate: a sign-in form (key kept in localStorage); a demo key only in
development; static assets and CSP."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette warns at import when httpx2 is not installed; the httpx fallback works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dashboards.routes import plotly_js_path, router


def _client(environment: str, demo_key: str | None) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.state.settings = SimpleNamespace(environment=environment, demo_api_key=demo_key)
    return TestClient(app)


def test_demo_key_is_written_into_pages_in_development_only():
    dev = _client("development", "tzk_demo_123").get("/dashboards/orchards")
    assert dev.status_code == 200
    assert '<meta name="tanzhang-demo-key" content="tzk_demo_123">' in dev.text
    prod = _client("production", "tzk_demo_123").get("/dashboards/orchards")
    assert "tzk_demo_123" not in prod.text
    assert '<meta name="tanzhang-demo-key" content="">' in prod.text


def test_pages_carry_a_strict_content_security_policy():
    r = _client("production", None).get("/dashboards/factory/factory-a")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store"


def test_ids_are_escaped_or_refused():
    c = _client("production", None)
    assert c.get("/dashboards/accounts/%3Cscript%3E").status_code == 404
    assert c.get("/dashboards/factory/Factory-A").status_code == 404


def test_plotly_is_served_from_the_installed_package_with_gzip_and_etag():
    c = _client("production", None)
    r = c.get("/dashboards/static/plotly.min.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == plotly_js_path().read_bytes()  # httpx decodes gzip
    again = c.get("/dashboards/static/plotly.min.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304
    assert c.get("/dashboards/static/..%2Fplotly.min.js").status_code == 404
    assert c.get("/dashboards/static/routes.py").status_code == 404


@pytest.mark.browser
def test_sign_in_form_keeps_the_key_and_loads_the_page(live_app, browser):
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_app.url}/dashboards/")
        page.wait_for_selector("#login[open]")
        page.fill("#login-key", "tzk_not_a_key")
        page.click("#login-form button[type=submit]")
        page.wait_for_function(
            "document.getElementById('login-error').textContent.includes('Invalid')"
        )
        page.fill("#login-key", live_app.key)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("body[data-loaded='1']")
        assert page.locator("[data-factory='factory-a']").count() == 1
        assert page.evaluate("localStorage.getItem('tanzhang.apiKey')") == live_app.key
        page.click("#sign-out")
        page.wait_for_selector("#login[open]")
        assert page.evaluate("localStorage.getItem('tanzhang.apiKey')") is None
        assert errors == []
    finally:
        ctx.close()
