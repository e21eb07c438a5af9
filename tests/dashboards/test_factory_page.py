"""The factory live page in a real headless Chromium."""

from __future__ import annotations

import time

import pytest

from telemetry.model import Reading
from tests.dashboards import demo
from tests.dashboards.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_factory_page_loads_without_console_errors(live_app, page_for):
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    page.wait_for_selector('#line-line-a1 [data-role="power"][data-value]')
    page.wait_for_selector("#f-trend .main-svg", timeout=10_000)
    page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "factory-live.png"), full_page=True)
    assert page.console_errors == []


def test_a_new_reading_shows_within_two_seconds(live_app, page_for):
    """Written to the store directly (the gateway's write path); the page must not reload."""
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    power = page.locator('#line-line-a2 [data-role="power"]')
    page.wait_for_selector('#line-line-a2 [data-role="power"][data-value]')
    page.wait_for_function("document.getElementById('conn').textContent.includes('Live')")
    page.evaluate("window.__marker = 1")
    live_app.store.write(
        readings=[Reading("line-a2", "meter-a2", int(time.time() * 1000), {"power_kw": 987.6})]
    )
    t0 = time.monotonic()
    page.wait_for_function(
        "document.querySelector('#line-line-a2 [data-role=\"power\"]').dataset.value === '987.6'",
        timeout=2000,
    )
    assert time.monotonic() - t0 < 2.0
    assert power.inner_text().startswith("987.6")
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    assert page.console_errors == []
