"""The factory benchmarking page in a real headless Chromium, on three factories closed by
the real closing job from an embedded SQLite store, benchmarked against the packaged table.

Hand-worked (one local day, 2026-11-01 Asia/Shanghai; every line meter adds 10 kWh every
15 min = 960 kWh; cn-mee-2023 grid factor 0.5306 kg CO2/kWh, MEE 2023 national average
-> 0.509376 t CO2; value added per day = VA per year / 365.25; table rows of
accounting/benchmarks/industry.toml; 碳效码 grades and levels from 规上工业企业碳效等级评价方法):

=========  =====  ============  ==========  =====  ========  ===========  =====  =====
factory    code   row (L_ind)   VA / year   L      K         colour       grade  green
=========  =====  ============  ==========  =====  ========  ===========  =====  =====
bench-x    C3441  C3441 (0.6)   365.25      0.509  0.848960  light_green  3      0 %
bench-y    C2614  C26 (2.0)     365.25      0.382  0.191016  dark_green   1      25 %
bench-z    C1713  C1713 (1.0)   73.05       2.547  2.546880  red          5      0 %
=========  =====  ============  ==========  =====  ========  ===========  =====  =====

bench-y's line also has on-site PV, 2.5 kWh every 15 min = 240 kWh of the 960 kWh it uses
(line meters count use; PV is counted once, docs/accounting.md): grid import 720 kWh ->
0.382032 t, L = 0.382032, K = 0.191016; green share 240 / 960 = 25 %.
Lists: poor energy efficiency (K > 1.2) = [bench-z]; low green share (< 10 %) = bench-x and
bench-z (both 0 %, in table order).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from access.keys import create_key
from dashboards.stream import allow_streams, stop_streams
from ledger.book import ensure_accounts
from ledger.closing import close_entities
from ledger.periods import Period
from telemetry.model import Reading
from telemetry.registry import Registry
from tests.dashboards.conftest import SCREENSHOTS, LiveApp, _serve
from tests.servers import free_port

pytestmark = pytest.mark.browser

DAY = Period.containing("day", date(2026, 11, 1), "Asia/Shanghai")
FACTORIES = {  # id: (industry code, value added per year [10^4 CNY], PV kWh per 15 min)
    "bench-x": ("C3441", 365.25, 0.0),
    "bench-y": ("C2614", 365.25, 2.5),
    "bench-z": ("C1713", 73.05, 0.0),
}
EXPECTED = {  # id: (row, benchmark, K, colour, grade, green share)
    "bench-x": ("C3441", 0.6, 0.848960, "light_green", 3, 0.0),
    "bench-y": ("C26", 2.0, 0.191016, "dark_green", 1, 0.25),
    "bench-z": ("C1713", 1.0, 2.546880, "red", 5, 0.0),
}


def _registry() -> Registry:
    ents, devs = [], []
    for fid, (code, va, _) in FACTORIES.items():
        ents.append(
            {
                "id": fid,
                "kind": "factory",
                "name": f"对标工厂 {fid[-1].upper()}",
                "industry_code": code,
                "value_added_10k_cny": va,
            }
        )
        ents.append({"id": f"{fid}-l1", "kind": "line", "parent": fid})
        devs.append({"id": f"{fid}-m1", "entity": f"{fid}-l1", "role": "electricity_meter"})
    return Registry.from_dict({"entities": ents, "devices": devs})


def _readings() -> list[Reading]:
    out = []
    t0, t1 = DAY.start - timedelta(hours=1), DAY.end + timedelta(hours=1)
    n = int((t1 - t0).total_seconds() // 900) + 1
    for fid, (_, _, pv) in FACTORIES.items():
        for i in range(n):
            ts = int((t0 + timedelta(seconds=900 * i)).timestamp() * 1000)
            fields = {"energy_kwh_total": 10.0 * i}
            if pv:
                fields["pv_kwh_total"] = pv * i
            out.append(Reading(f"{fid}-l1", f"{fid}-m1", ts, fields))
    return out


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """Overrides the package's demo app: three factories with one closed day each."""
    from ledger.db import make_engine
    from tanzhang.app import create_app
    from tanzhang.settings import Settings
    from telemetry.sqlite import SqliteStore

    data_dir = tmp_path_factory.mktemp("benchmarks")
    registry = _registry()
    store = SqliteStore(data_dir / "telemetry.sqlite", retention=None, synchronous="NORMAL")
    store.ensure_ready()
    store.write(readings=_readings())
    engine = make_engine(f"sqlite:///{data_dir / 'accounts.db'}")
    app = create_app(
        Settings(environment="development", data_dir=data_dir),
        store=store,
        registry=registry,
        engine=engine,
        publisher=lambda t, p: None,
    )
    entities = list(registry.entities.values())
    with app.state.sessions() as session:
        ensure_accounts(session, entities)
        results = close_entities(session, store, entities, DAY)
        assert {r.outcome for r in results} == {"posted"}, results
        _, key = create_key(session, role="admin", name="benchmark page")
    allow_streams()
    port = free_port()
    server, thread = _serve(app, port)
    yield LiveApp(f"http://127.0.0.1:{port}", key, app, store, registry, 0, data_dir)
    stop_streams()
    server.should_exit = True
    thread.join(15)
    allow_streams()
    store.close()
    engine.dispose()


def test_api_matches_the_hand_worked_table(live_app):
    r = httpx.get(
        f"{live_app.url}/v1/factories/benchmarks",
        params={"period": "day"},
        headers={"X-API-Key": live_app.key},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    res = {x["entity_id"]: x for x in body["results"]}
    assert set(res) == set(EXPECTED)
    for fid, (row, bench, k, colour, grade, green) in EXPECTED.items():
        x = res[fid]
        assert (x["benchmark_code"], x["benchmark"], x["benchmark_status"]) == (
            row,
            bench,
            "proposed_default",
        )
        assert x["k"] == pytest.approx(k, rel=1e-6), fid
        assert (x["colour"], x["grade"]) == (colour, grade), fid
        assert x["green_energy_share"] == pytest.approx(green, abs=1e-9), fid
    assert body["poor_performers"] == ["bench-z"]
    assert sorted(body["low_green_share"]) == ["bench-x", "bench-z"]


def test_benchmarking_page_shows_k_colour_grade_and_lists(live_app, page_for):
    page = page_for()
    t0 = time.monotonic()
    page.goto(f"{live_app.url}/dashboards/benchmarks?period=day")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    assert time.monotonic() - t0 < 15
    rows = page.eval_on_selector_all(
        "#b-table tbody tr[data-entity]",
        "rs => rs.map(r => [r.dataset.entity, r.querySelector('.badge').dataset.colour,"
        " r.querySelector('[data-role=k]').textContent, r.querySelector('[data-role=grade]')"
        ".textContent, r.querySelector('[data-role=green]').textContent,"
        " r.querySelector('[data-role=source]').dataset.status,"
        " r.querySelector('[data-role=source]').textContent])",
    )
    assert {r[0] for r in rows} == set(EXPECTED)
    for fid, colour, k, grade, green, status, src in rows:
        row, _, k_exp, colour_exp, grade_exp, green_exp = EXPECTED[fid]
        assert (colour, k, grade) == (colour_exp, f"{k_exp:,.2f}", str(grade_exp)), fid
        assert green == f"{green_exp * 100:.1f}%", fid
        assert status == "proposed_default" and src.startswith(row + " · "), fid
    poor = page.eval_on_selector_all(
        "#b-poor li[data-entity]", "ls => ls.map(l => l.dataset.entity)"
    )
    low = page.eval_on_selector_all(
        "#b-green li[data-entity]", "ls => ls.map(l => l.dataset.entity)"
    )
    assert poor == ["bench-z"] and sorted(low) == ["bench-x", "bench-z"]
    summary = page.eval_on_selector_all(
        "#b-summary [data-summary]",
        "ks => ks.map(k => [k.dataset.summary, k.querySelector('.value').firstChild.textContent])",
    )
    assert dict(summary) == {"dark_green": "1", "light_green": "1", "yellow": "0", "red": "1"}
    page.screenshot(path=str(SCREENSHOTS / "benchmarks.png"), full_page=True)
    assert page.console_errors == []


def test_benchmarking_page_without_statements_says_so(live_app, page_for):
    page = page_for()
    page.goto(f"{live_app.url}/dashboards/benchmarks?period=year")
    page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
    assert "No closed factory statements" in page.inner_text("#b-table tbody")
    assert page.eval_on_selector_all("#b-poor li[data-empty]", "ls => ls.length") == 1
    assert page.console_errors == []
