"""The demo's factory-b in a credit report (the world of tests/api/test_demo_emc.py: 455
days of hourly telemetry, line-b3 treated 90 days before TODAY under an EMC contract): the
report's measured saving to date has its uncertainty band and is significant, the control
lines' years are outside any reporting period, and its EMC figures are the EMC service's."""

from __future__ import annotations

import pytest

from ledger.book import ensure_accounts
from sitetime import clock
from tests.api.factory_b_demo import FactoryBDemo


def test_report_carries_line_savings_and_emc_in_money(factory_b_demo: FactoryBDemo) -> None:
    d = factory_b_demo
    client, keys, registry, now = d.client, d.keys, d.registry, d.now
    with clock.use_clock(now), client.app.state.sessions() as session:  # accounts, no closing
        ensure_accounts(session, [{"id": e.id, "kind": e.kind, "parent": e.parent}
                                  for e in registry.entities.values()])  # fmt: skip
    with clock.use_clock(now):
        rep = client.get(
            "/v1/accounts/factory-b/credit-report", headers={"X-API-Key": keys["operator"]}
        )
        emc = client.get("/v1/lines/line-b3/emc", headers={"X-API-Key": keys["admin"]})
        page = client.get("/v1/accounts/factory-b/credit-report.html?lang=en",
                          headers={"X-API-Key": keys["admin"]})  # fmt: skip
    assert rep.status_code == 200 and emc.status_code == 200, (rep.text, emc.text)
    rep = rep.json()
    by_line = {s["line"]: s for s in rep["savings"]}
    b3 = by_line["line-b3"]
    assert b3["status"] == "measured" and b3["confidence"] == 0.9
    td = b3["to_date"]
    assert td["status"] == "measured" and td["uncertainty_kwh"] > 0
    assert td["lower_t_co2"] > 0  # a 15 % saving over 90 days is significant
    assert td["avoided_t_co2"] == pytest.approx((td["lower_t_co2"] + td["upper_t_co2"]) / 2)
    assert td["start"] == b3["intervention_date"]
    # the whole years of the report are the baseline (2025) or before data: no saving claimed
    assert {y["status"] for y in b3["years"]} <= {"not_in_reporting_period", "unavailable"}
    (e,) = rep["emc"]
    assert e["line"] == "line-b3" and e["status"] == "valued"
    served = emc.json()["to_date"]  # the EMC service's figures (dates differ only in spelling)
    for k, v in served.items():
        if not k.startswith("period_"):
            assert e["to_date"][k] == v, k
    assert e["to_date"]["partner_share_cny"] + e["to_date"]["owner_share_cny"] == pytest.approx(
        e["to_date"]["value_cny"], abs=0.005
    )
    assert page.status_code == 200 and "to date (since intervention)" in page.text
