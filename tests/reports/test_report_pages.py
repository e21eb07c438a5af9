"""The printable credit report in Chinese and English rendered by Debian's chromium (as the
dashboards tests), and its PDF printed by the same chromium: a real PDF with pages; 503 with
the reason when there is no chromium."""

from __future__ import annotations

import re

import pytest

from sitetime import clock
from tests.dashboards.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.reports.test_credit_report import ISSUED
from tests.reports.test_credit_report import world as world  # noqa: F401 - the fixture


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("entity", "lang", "title", "colour"),
    [("orchard-1", "zh", "碳征信报告", "深绿"), ("orchard-1", "en", "Carbon credit report",
     "dark green"), ("factory-b", "zh", "碳效对标", "未评级"), ("factory-b", "en", "Benchmark", "unrated")],
)  # fmt: skip
def test_page_renders_in_chromium(world, browser, entity, lang, title, colour):  # noqa: F811
    with clock.use_clock(ISSUED):
        r = world.client.get(
            f"/v1/accounts/{entity}/credit-report.html",
            params={"lang": lang},
            headers=world.h("admin"),
        )
    assert r.status_code == 200, r.text
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp and "script-src" not in csp
    assert r.headers["cache-control"] == "no-store"
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(r.text)
    body = page.inner_text("body")
    assert title in body
    assert page.inner_text("#rating") == colour
    digest = page.inner_text("#digest")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert page.locator("#years tr").count() == 1 + 3 + 1  # header, 3 years, total
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_pdf_is_a_real_pdf_with_pages(world):  # noqa: F811
    with clock.use_clock(ISSUED):
        r = world.client.get("/v1/accounts/orchard-1/credit-report.pdf", params={"lang": "en"},
                             headers=world.h("holder"))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", r.content)) >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", r.headers["x-report-digest"])


def test_pdf_without_chromium_is_503_with_the_reason(world, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("TANZHANG_CHROMIUM", str(tmp_path / "no-chromium"))
    with clock.use_clock(ISSUED):
        r = world.client.get("/v1/accounts/orchard-1/credit-report.pdf", headers=world.h("admin"))
    assert r.status_code == 503
    body = r.json()
    assert "pdf_unavailable" in r.text and "chromium" in r.text, body
