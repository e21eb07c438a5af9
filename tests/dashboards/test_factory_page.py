"""The factory live page in a real headless Chromium."""

from __future__ import annotations

import math
import time

import pytest

from sitetime.clock import now_ms
from telemetry.model import Reading
from tests.dashboards import demo
from tests.dashboards.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_factory_page_loads_without_console_errors(live_app, page_for):
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    page.wait_for_selector("#f-trend .main-svg", timeout=10_000)
    page.wait_for_timeout(1500)  # let the live-update highlight fade
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
    live_app.store.write(readings=[Reading("line-a2", "meter-a2", now_ms(), {"power_kw": 987.6})])
    t0 = time.monotonic()
    page.wait_for_function(
        "document.querySelector('#line-line-a2 [data-role=\"power\"]').dataset.value === '987.6'",
        timeout=2000,
    )
    assert time.monotonic() - t0 < 2.0
    assert power.inner_text().startswith("987.6")
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    assert page.console_errors == []


@pytest.fixture
def gateway(live_app, mosquitto):
    """A real gateway (gateway.service.run) from a real mosquitto into the page's store file."""
    import threading

    from gateway import service
    from tanzhang.settings import Settings
    from telemetry.sqlite import SqliteStore

    registry_path = live_app.data_dir / "registry.toml"
    live_app.registry.save(registry_path)
    settings = Settings(
        environment="development",
        data_dir=live_app.data_dir / "gateway",
        registry=registry_path,
        mqtt_url=mosquitto.url,
        mqtt_client_id="dashboards-test-gw",
        batch_age_ms=50,
    )
    # no retention: the store judges age by the machine's clock, the history is on the tests'
    store = SqliteStore(
        live_app.data_dir / "telemetry.sqlite", synchronous="NORMAL", retention=None
    )
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=service.run,
        args=(settings, stop),
        kwargs={"store": store, "ready": ready},
        daemon=True,
    )
    thread.start()
    assert ready.wait(20), "gateway did not start"
    yield mosquitto
    stop.set()
    thread.join(20)
    assert not thread.is_alive()


@pytest.mark.servers
@pytest.mark.filterwarnings("ignore:unclosed file.*(influxd|stdout)\\.log:ResourceWarning")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*(influxd|stdout)\\.log:pytest.PytestUnraisableExceptionWarning"
)
def test_a_reading_published_over_mqtt_shows_within_two_seconds(live_app, page_for, gateway):
    """mosquitto_pub → mosquitto → gateway → store → SSE → page, timed from the publish."""
    import json
    import shutil
    import subprocess

    page = page_for()
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    page.wait_for_selector('#line-line-a1 [data-role="power"][data-value]')
    page.wait_for_function("document.getElementById('conn').textContent.includes('Live')")
    page.evaluate("window.__marker = 1")
    payload = json.dumps({"ts": now_ms(), "seq": 1, "values": {"power_kw": 432.1}})
    t0 = time.monotonic()
    subprocess.run(
        [
            shutil.which("mosquitto_pub"),
            "-h",
            "127.0.0.1",
            "-p",
            str(gateway.port),
            "-q",
            "1",
            "-t",
            "tanzhang/v1/line-a1/meter-a1/data",
            "-m",
            payload,
        ],
        check=True,
        timeout=10,
    )
    page.wait_for_function(
        "document.querySelector('#line-line-a1 [data-role=\"power\"]').dataset.value === '432.1'",
        timeout=2000,
    )
    assert time.monotonic() - t0 < 2.0
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    assert page.console_errors == []


def test_silent_meter_raises_an_alert_and_fresh_ones_do_not(live_app, page_for):
    page = page_for(820, 1180)  # a tablet held upright
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    page.wait_for_selector("[data-alert='silent-gas-a']")
    assert page.locator("[data-alert^='silent-']").count() == 1
    # the page ages readings on the server's clock (TZ.syncClock): 40 min at the fixture's
    # instant, plus the time the module has run since
    text = page.inner_text("[data-alert='silent-gas-a']")
    age_min = (now_ms() - (live_app.now_ms - demo.SILENT_GAS_MS)) / 60_000
    assert any(f"{m} min" in text for m in (math.floor(age_min), math.ceil(age_min))), text
    assert page.inner_text("[data-kpi=online]").replace(" ", "") == "2/3"
    row = page.locator("#f-devices tr[data-device='gas-a']")
    assert "Offline" in row.inner_text()
    page.wait_for_selector("#f-trend .main-svg")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "factory-tablet.png"), full_page=True)


def test_savings_and_drift_equal_the_api(live_app, page_for):
    """line-a1 saves 12 % since its intervention; line-a2 drew 30 % more in the last 3 h."""
    import httpx

    api = {
        line: httpx.get(
            f"{live_app.url}/v1/lines/{line}/savings",
            headers={"X-API-Key": live_app.key},
            timeout=60,
        ).json()["windows"]
        for line in demo.LINES
    }
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    for line, windows in api.items():
        for name, key in (
            ("2h", "last_2h"),
            ("today", "today"),
            ("since_intervention", "since_intervention"),
        ):
            row = f"#line-{line} tr[data-window='{name}']"
            if key not in windows:  # a line without an intervention has no such row
                assert page.locator(row).count() == 0, (line, name)
                continue
            shown = page.get_attribute(row, "data-value")
            assert float(shown) == pytest.approx(windows[key]["avoided_t_co2"]), (line, name)
    # line-a1 has an intervention; line-a2 (no intervention) says so instead of the row
    assert "since_intervention" in api["line-a1"] and "since_intervention" not in api["line-a2"]
    assert page.locator("#line-line-a2 [data-role='no-intervention']").count() == 1
    assert page.locator("#line-line-a1 [data-role='no-intervention']").count() == 0
    assert api["line-a1"]["since_intervention"]["lower_t_co2"] > 0
    assert api["line-a2"]["last_2h"]["upper_t_co2"] < 0
    assert page.locator("[data-alert='drift-line-a2']").count() == 1
    assert page.locator("[data-alert='drift-line-a1']").count() == 0
    today = sum(w["today"]["avoided_t_co2"] for w in api.values())
    assert page.inner_text("[data-kpi=saved_t]").startswith(f"{today:,.3f}")
    assert page.console_errors == []


def test_a_line_without_savings_says_why(live_app, page_for):
    """line-a2 given an intervention 200 days ago: its CalTRACK baseline (the 365 days
    before) holds only the ~300 days of the demo's 501-day history that precede it."""
    from datetime import timedelta

    from sitetime.calendar import site_calendar

    attrs = live_app.registry.entities["line-a2"].attrs
    saved = dict(attrs)
    attrs["intervention_date"] = (site_calendar().today() - timedelta(days=200)).isoformat()
    attrs.pop("baseline_end", None)
    try:
        page = page_for()
        page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
        page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
        why = page.locator("#line-line-a2 [data-reason='insufficient_baseline_data']")
        assert why.count() == 1
        text = why.inner_text()
        assert "Insufficient baseline data" in text and "of 365 days" in text
        days = int(text.split("Insufficient baseline data: ")[1].split(" ")[0])
        assert 295 <= days <= 302
        assert page.locator("#line-line-a2 tr[data-window]").count() == 0
        # the browser logs the API's 409 answer itself; nothing else may be logged
        assert [e for e in page.console_errors if "409 (Conflict)" not in e] == []
    finally:
        attrs.clear()
        attrs.update(saved)


def test_emissions_today_count_every_source(live_app, page_for):
    """The KPI is the factory's figure of all sources (the lines' electricity and the
    factory's gas meter), as GET /dashboards/data/factory/{id} states it."""
    import httpx

    summary = httpx.get(
        f"{live_app.url}/dashboards/data/factory/{demo.FACTORY}",
        headers={"X-API-Key": live_app.key},
        timeout=60,
    ).json()
    today = summary["today"]
    assert today["co2_t"] == pytest.approx(sum(today["co2_by_source_t"].values()))
    assert today["co2_t"] >= sum(ln["co2_today_t"] for ln in summary["lines"])
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    assert page.inner_text("[data-kpi=co2_t]").startswith(f"{today['co2_t']:,.3f}")
    assert "electricity" in page.inner_text("#k-co2-sources")


def test_a_line_under_an_emc_shows_its_savings_in_money(live_app, page_for):
    """line-a1 given an energy-management contract from its intervention day (a flat
    0.68 CNY/kWh, 70 % to the partner): the page shows the partner, the split and the
    value this month and to date as GET /v1/lines/line-a1/emc states them; lines without a
    contract show none."""
    import httpx

    attrs = live_app.registry.entities["line-a1"].attrs
    attrs["emc"] = {"partner": "示例节能服务有限公司 Demo ESCO", "partner_share": 0.7,
                    "start_date": attrs["intervention_date"], "tariff_cny_per_kwh": 0.68}  # fmt: skip
    try:
        api = httpx.get(
            f"{live_app.url}/v1/lines/line-a1/emc",
            headers={"X-API-Key": live_app.key},
            timeout=60,
        ).json()
        td = api["to_date"]
        assert td["value_cny"] > 0
        assert td["value_cny"] == pytest.approx(td["avoided_kwh"] * 0.68, abs=0.01 * td["periods"])
        page = page_for()
        page.goto(f"{live_app.url}/dashboards/factory/{demo.FACTORY}")
        page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
        block = "#line-line-a1 [data-role='emc']"
        assert "Demo ESCO" in page.inner_text(f"{block} [data-role='emc-partner']")
        assert "70 / 30" in page.inner_text(f"{block} [data-role='emc-split']")
        for key in ("this_month", "to_date"):
            want = api[key]
            row = f"{block} tr[data-emc='{key}']"
            if want is None:
                assert page.get_attribute(row, "data-value") == ""
                continue
            assert float(page.get_attribute(row, "data-value")) == want["value_cny"]
            text = page.inner_text(row)
            assert f"¥{want['value_cny']:,.2f}" in text
            assert f"± ¥{want['uncertainty_cny']:,.2f}" in text
            assert f"¥{want['partner_share_cny']:,.2f}" in text
            assert f"¥{want['owner_share_cny']:,.2f}" in text
        assert page.locator("#line-line-a2 tr[data-emc]").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "factory-emc.png"), full_page=True)
        assert page.console_errors == []
    finally:
        attrs.pop("emc", None)
