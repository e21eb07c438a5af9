"""A live tanzhang API (uvicorn in a thread, free loopback port) and a headless Chromium.

The app is the real ``tanzhang.app.create_app`` with an embedded SQLite telemetry store, a
SQLite accounts database and the small registry of :mod:`tests.dashboards.demo`. The whole
module runs on the product's clock started at :data:`tests.dashboards.demo.LABELS_NOW_MS`
(an :class:`~sitetime.clock.OffsetClock`: time passes, for the live streams), so the live
readings, the baselines and the closed periods are the same whatever day the tests run; the
pages take the server's clock from the factory summary's ``now_ms`` (``TZ.syncClock``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from access.keys import create_key
from dashboards.stream import allow_streams, stop_streams
from sitetime import clock
from tests.dashboards import demo
from tests.servers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class LiveApp:
    url: str
    key: str
    app: Any
    store: Any
    registry: Any
    now_ms: int
    data_dir: Path


def _serve(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=3,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-dashboards", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="module")
def site_clock() -> Iterator[clock.Clock]:
    """The product's clock for a module: started at ``demo.LABELS_NOW_MS``, then running."""
    with clock.use_clock(
        clock.OffsetClock(datetime.fromtimestamp(demo.LABELS_NOW_MS / 1000, UTC))
    ) as c:
        yield c


@pytest.fixture(scope="module")
def live_app(
    tmp_path_factory: pytest.TempPathFactory, site_clock: clock.Clock
) -> Iterator[LiveApp]:
    """The API and dashboards on a free port, with a day of demo readings and an admin key."""
    from ledger.db import make_engine
    from tanzhang.app import create_app
    from tanzhang.settings import Settings
    from telemetry.sqlite import SqliteStore

    data_dir = tmp_path_factory.mktemp("dashboards")
    now_ms = clock.now_ms()
    registry = demo.registry(now_ms)
    # no retention: the orchard records go back two years before the fixed instant, and the
    # store would judge their age by the machine's clock
    store = SqliteStore(data_dir / "telemetry.sqlite", synchronous="NORMAL", retention=None)
    store.ensure_ready()
    store.write(
        readings=demo.day_of_readings(now_ms, history_days=demo.HISTORY_DAYS),
        events=demo.orchard_events(demo.LABELS_NOW_MS),
    )
    engine = make_engine(f"sqlite:///{data_dir / 'accounts.db'}")
    settings = Settings(environment="development", data_dir=data_dir)
    app = create_app(
        settings, store=store, registry=registry, engine=engine, publisher=lambda t, p: None
    )
    with app.state.sessions() as session:
        _, key = create_key(session, role="admin", name="dashboard tests")
        demo.close_orchards(session, store, registry, demo.LABELS_NOW_MS)
    allow_streams()
    port = free_port()
    server, thread = _serve(app, port)
    r = httpx.post(
        f"http://127.0.0.1:{port}/v1/accounts/orchard-cs1/redemptions",
        json={"amount_t": 1.5, "reference": "常山县农资站 voucher 2026-117"},
        headers={"X-API-Key": key, "Idempotency-Key": "dashboard-demo-1"},
        timeout=30,
    )
    assert r.status_code in (200, 201), r.text
    for line in demo.LINES:  # fit the savings models once, before the pages' timed loads
        httpx.get(
            f"http://127.0.0.1:{port}/v1/lines/{line}/savings",
            headers={"X-API-Key": key},
            timeout=120,
        )
    yield LiveApp(f"http://127.0.0.1:{port}", key, app, store, registry, now_ms, data_dir)
    stop_streams()
    server.should_exit = True
    thread.join(15)
    assert not thread.is_alive(), "uvicorn did not shut down (a stream kept it open?)"
    allow_streams()
    store.close()
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page_for(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """``page_for(width, height)``: a signed-in page that records console errors."""
    contexts = []

    def make(width: int = 1366, height: int = 900) -> Any:
        ctx = browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        ctx.add_init_script(f"localStorage.setItem('tanzhang.apiKey', {live_app.key!r});")
        contexts.append(ctx)
        page = ctx.new_page()
        page.console_errors = []
        page.on(
            "console",
            lambda m: page.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
