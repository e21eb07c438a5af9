"""Index, orchard board, label card and account page in a real headless Chromium."""

from __future__ import annotations

import httpx
import pytest

from tests.dashboards import demo
from tests.dashboards.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


def _api(live_app, path: str, **params):
    r = httpx.get(
        f"{live_app.url}{path}", params=params, headers={"X-API-Key": live_app.key}, timeout=30
    )
    r.raise_for_status()
    return r.json()


@pytest.mark.parametrize(
    ("path", "shot", "size"),
    [
        ("/dashboards/", "index.png", (1366, 900)),
        ("/dashboards/orchards", "orchards.png", (1366, 900)),
        ("/dashboards/orchards/orchard-cs3/card", "label-card.png", (900, 700)),
        ("/dashboards/accounts/orchard-cs1", "account.png", (1366, 900)),
        ("/dashboards/orchards", "orchards-tablet.png", (800, 1280)),
    ],
)
def test_page_loads_without_console_errors(live_app, page_for, path, shot, size):
    page = page_for(*size)
    page.goto(live_app.url + path)
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    assert page.console_errors == []


def test_orchard_colours_equal_the_api(live_app, page_for):
    api = {lab["entity_id"]: lab for lab in _api(live_app, "/v1/orchards")["items"]}
    assert set(api) == set(demo.ORCHARDS)
    assert {lab["colour"] for lab in api.values()} == {"dark_green", "light_green", "yellow", "red"}
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/orchards")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    shown = page.eval_on_selector_all(
        "#o-list [data-entity]",
        "cards => cards.map(c => [c.dataset.entity, c.querySelector('.o-head .badge').dataset.colour,"
        " getComputedStyle(c.querySelector('.o-head .badge')).backgroundColor,"
        " c.querySelector('[data-role=ratio]').textContent])",
    )
    hexes = page.evaluate(
        "Object.fromEntries(Object.entries(TZ.COLOURS).map(([k, v]) => [k, v.hex]))"
    )
    assert {e for e, *_ in shown} == set(api)
    for entity, colour, bg, ratio in shown:
        assert colour == api[entity]["colour"], entity
        r, g, b = (int(hexes[colour][i : i + 2], 16) for i in (1, 3, 5))
        assert bg == f"rgb({r}, {g}, {b})", entity
        assert ratio == f"{api[entity]['ratio']:,.2f}", entity
    assert page.console_errors == []


def test_orchard_filters_by_county_and_colour(live_app, page_for):
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/orchards")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    page.select_option("#f-county", "常山县")
    page.wait_for_function("document.querySelectorAll('#o-list [data-entity]').length === 2")
    ids = page.eval_on_selector_all(
        "#o-list [data-entity]", "cs => cs.map(c => c.dataset.entity).sort()"
    )
    assert ids == ["orchard-cs1", "orchard-cs3"]
    page.click("[data-colour-filter='light_green']")
    page.wait_for_function("document.querySelectorAll('#o-list [data-entity]').length === 1")
    assert page.get_attribute("#o-list [data-entity]", "data-entity") == "orchard-cs3"
    assert "county=" in page.url and "colour=light_green" in page.url
    assert page.console_errors == []


def test_label_card_shows_the_api_colour(live_app, page_for):
    label = _api(live_app, "/v1/orchards/orchard-jj4/label")
    page = page_for(900, 700)
    page.goto(f"{live_app.url}/dashboards/orchards/orchard-jj4/card")
    page.wait_for_selector("body[data-loaded='1']")
    assert page.get_attribute("#c-swatch", "data-colour") == label["colour"] == "yellow"
    assert page.inner_text("#c-swatch").startswith("黄")
    assert page.console_errors == []


def test_account_page_shows_the_balance(live_app, page_for):
    bal = _api(live_app, "/v1/accounts/orchard-kc2/balance")
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/accounts/orchard-kc2")
    page.wait_for_selector("body[data-loaded='1']")
    for k in ("emissions_t", "removals_t", "net_t", "available_t"):
        assert float(page.get_attribute(f"[data-kpi={k}]", "data-value")) == pytest.approx(bal[k])
    n = _api(live_app, "/v1/accounts/orchard-kc2/statements", period="month")["total"]
    assert page.locator("#a-statements tbody tr").count() == n > 0
    assert page.console_errors == []


def test_account_page_lists_redemptions(live_app, page_for):
    reds = _api(live_app, "/v1/accounts/orchard-cs1/redemptions")["items"]
    assert len(reds) == 1
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/accounts/orchard-cs1")
    page.wait_for_selector("body[data-loaded='1']")
    row = page.locator(f"#a-redemptions tr[data-redemption='{reds[0]['id']}']")
    assert "1.500" in row.inner_text() and "voucher 2026-117" in row.inner_text()
    assert float(page.get_attribute("[data-kpi=redeemed_t]", "data-value")) == pytest.approx(1.5)
    assert page.console_errors == []


def test_orchard_cards_show_every_source_and_pool_of_the_statement(live_app, page_for):
    label = _api(live_app, "/v1/orchards/orchard-kc2/label")
    [st] = _api(
        live_app,
        "/v1/accounts/orchard-kc2/statements",
        period="year",
        start=label["period_start"],
        end=label["period_end"],
    )["items"]
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/orchards")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    card = page.locator("#o-orchard-kc2")
    assert card.get_attribute("data-statement") == st["period_start"]
    sources = {k for k, v in st["emissions_by_source"].items() if v > 0}
    pools = {k for k, v in st["sequestration_by_pool"].items() if v > 0}
    assert card.locator("[data-role=sources] .bar").count() == len(sources) >= 4
    assert card.locator("[data-role=pools] .bar").count() == len(pools) >= 1
    values = card.locator("[data-role=sources] .bar .v").all_inner_texts()
    expected = sorted(
        (round(v, 2) for v in st["emissions_by_source"].values() if v > 0), reverse=True
    )
    assert [float(v.replace(",", "")) for v in values] == expected


def test_label_card_prints_without_the_app_chrome(live_app, page_for, tmp_path):
    page = page_for(900, 700)
    page.goto(f"{live_app.url}/dashboards/orchards/orchard-cs1/card")
    page.wait_for_selector("body[data-loaded='1']")
    page.emulate_media(media="print")
    assert not page.is_visible(".topbar")
    assert not page.is_visible("#print")
    assert page.is_visible("#c-swatch")
    pdf = page.pdf(path=str(tmp_path / "card.pdf"), format="A6", landscape=True)
    assert pdf.startswith(b"%PDF")
