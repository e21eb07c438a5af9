"""EMC savings in money through the real app and SqliteStore (issue 12, items 4 and 5): the
demo's line-b3 (compressed-air VSD, 90 days before TODAY) under the demo fleet's contract
(:func:`simulators.fleet.demo_emc`: 70 % to the partner, illustrative time-of-use prices).

The statements' kWh are the savings service's (``/savings/periods``) for the same months;
each month's shares add up to its value exactly and the months add up to the total to date;
an energy manager of another factory is refused; a line without a contract is a 404 and a
contract not started yet a 409.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sitetime import clock
from tests.api.factory_b_demo import TODAY, FactoryBDemo


@pytest.fixture(scope="module")
def demo(factory_b_demo: FactoryBDemo):  # noqa: ANN201
    d = factory_b_demo
    return (d.client, d.keys, d.registry, d.now)


def _get(demo, path: str, key: str = "admin", status: int = 200):
    client, keys, _, now = demo
    with clock.use_clock(now):
        r = client.get(path, headers={"X-API-Key": keys[key]})
    assert r.status_code == status, r.text
    return r.json()


def _dec(x: float) -> Decimal:
    return Decimal(str(x))


def test_statements_value_the_savings_and_shares_add_up(demo):
    rows = _get(demo, "/v1/lines/line-b3/emc/statements?period=month")
    savings = _get(demo, "/v1/lines/line-b3/savings/periods?period=month&start=2026-09-01")
    by_start = {s["period_start"]: s for s in savings}
    # local months: September (from the contract's 4th) to December (so far, to 10:00)
    assert [r["period_start"] for r in rows] == [
        "2026-09-03T16:00:00Z", "2026-09-30T16:00:00Z", "2026-10-31T16:00:00Z",
        "2026-11-30T16:00:00Z",
    ]  # fmt: skip
    assert rows[-1]["period_end"] == "2026-12-03T02:00:00Z"
    total_value = total_partner = total_owner = Decimal(0)
    for r in rows:
        # the exact shares: partner + owner == value, partner = 0.7 × value to the fen
        assert _dec(r["partner_share_cny"]) + _dec(r["owner_share_cny"]) == _dec(r["value_cny"])
        assert abs(_dec(r["partner_share_cny"]) - Decimal("0.7") * _dec(r["value_cny"])) <= Decimal(
            "0.005"
        )
        assert r["partner_share"] == 0.7
        # the tariff lies between the valley and the sharp price; value = kWh × price
        assert 0.33 <= r["price_cny_per_kwh"] <= 1.25
        assert r["value_cny"] == pytest.approx(r["avoided_kwh"] * r["price_cny_per_kwh"], abs=0.006)
        assert r["uncertainty_cny"] == pytest.approx(r["uncertainty_kwh"] * r["price_cny_per_kwh"])
        total_value += _dec(r["value_cny"])
        total_partner += _dec(r["partner_share_cny"])
        total_owner += _dec(r["owner_share_cny"])
    # whole months after the contract's first: the same kWh as the savings statements
    for r in rows[1:]:
        s = by_start[r["period_start"]]
        assert r["avoided_kwh"] == pytest.approx(s["avoided_kwh"])
        assert r["uncertainty_kwh"] == pytest.approx(s["uncertainty_kwh"])
    doc = _get(demo, "/v1/lines/line-b3/emc")
    td = doc["to_date"]
    assert _dec(td["value_cny"]) == total_value
    assert _dec(td["partner_share_cny"]) == total_partner
    assert _dec(td["owner_share_cny"]) == total_owner
    assert total_partner + total_owner == total_value
    assert td["value_cny"] > td["uncertainty_cny"] > 0  # a 15 % saving over 90 days
    assert td["avoided_kwh"] == pytest.approx(sum(r["avoided_kwh"] for r in rows))
    assert doc["this_month"]["period_start"] == rows[-1]["period_start"]
    c = doc["contract"]
    assert c["partner"].endswith("Demo ESCO") and c["partner_share"] == 0.7
    assert c["tariff"]["kind"] == "time_of_use" and c["start_date"] == "2026-09-04"
    assert doc["currency"] == "CNY" and "GB/T 24915-2020" in doc["method"]


def test_first_month_starts_on_the_contract_day(demo):
    rows = _get(demo, "/v1/lines/line-b3/emc/statements")
    assert rows[0]["n_days"] == 27  # 4 … 30 September
    days = _get(demo, "/v1/lines/line-b3/emc/statements?period=day&start=2026-09-01&end=2026-09-10")
    assert days[0]["period_start"].startswith("2026-09-03T16:00")  # local 4 September


def test_roles_that_see_the_line_and_one_that_does_not(demo):
    for key in ("operator", "em-b"):
        assert _get(demo, "/v1/lines/line-b3/emc", key)["entity_id"] == "line-b3"
    err = _get(demo, "/v1/lines/line-b3/emc", "em-a", status=403)
    assert err["error"]["code"] == "entity_not_allowed"
    _get(demo, "/v1/lines/line-b3/emc/statements", "em-a", status=403)


def test_no_contract_is_404_and_a_contract_not_started_is_409(demo):
    err = _get(demo, "/v1/lines/line-b1/emc", status=404)
    assert err["error"]["code"] == "no_emc_contract"
    _, _, registry, _ = demo
    attrs = registry.entities["line-b3"].attrs
    saved = dict(attrs["emc"])
    try:
        attrs["emc"] = {**saved, "start_date": "2027-01-01", "end_date": None}
        err = _get(demo, "/v1/lines/line-b3/emc", status=409)
        assert err["error"]["code"] == "emc_not_started"
        assert "2027-01-01" in err["error"]["message"]
    finally:
        attrs["emc"] = saved


def test_a_contract_starting_today_has_no_savings_yet(demo):
    _, _, registry, _ = demo
    attrs = registry.entities["line-b3"].attrs
    saved = dict(attrs["emc"])
    try:
        attrs["emc"] = {**saved, "start_date": TODAY.isoformat()}
        err = _get(demo, "/v1/lines/line-b3/emc/statements", status=409)
        assert err["error"]["code"] == "no_emc_savings_yet"
        doc = _get(demo, "/v1/lines/line-b3/emc")
        assert doc["this_month"] is None and doc["to_date"] is None
        attrs["emc"] = {**saved, "partner_share": 1.5}  # edited in memory, not via the registry
        err = _get(demo, "/v1/lines/line-b3/emc", status=409)
        assert err["error"]["code"] == "invalid_emc_contract"
    finally:
        attrs["emc"] = saved
