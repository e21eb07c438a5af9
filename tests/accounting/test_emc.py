"""EMC savings in money (accounting/emc.py): hand-worked numbers, shares that add up to the
value exactly, uncertainty that scales with the tariff, and contract validation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounting.emc import (
    EmcContractError,
    parse_contract,
    split_fen,
    to_fen,
    value_savings,
    weighted_price,
)

TOU = {
    "peak": {"price_cny_per_kwh": 1.00, "hours": [[8, 12], [17, 21]]},
    "flat": {"price_cny_per_kwh": 0.60, "hours": [[12, 17], [21, 22]]},
    "valley": {"price_cny_per_kwh": 0.30, "hours": [[22, 24], [0, 8]]},
}


def contract(**kw):
    doc = {"partner": "Demo ESCO", "start_date": "2026-01-01", "partner_share": 0.7,
           "tariff_cny_per_kwh": 0.68}  # fmt: skip
    doc.update(kw)
    return {k: v for k, v in doc.items() if v is not None}


def test_time_of_use_worked_example_of_the_docstring():
    """100 kWh predicted in each hour 08–16: 400 kWh peak at 1.00 + 400 kWh flat at 0.60
    → p̄ = 640 / 800 = 0.80 CNY/kWh; 96 ± 40 kWh → 76.80 ± 32.00 CNY; 0.7 → 53.76 / 23.04."""
    c = parse_contract(contract(tariff_cny_per_kwh=None, tariff=TOU))
    hours = np.arange(24)
    load = np.where((hours >= 8) & (hours < 16), 100.0, 0.0)
    p = weighted_price(c.tariff, hours, load)
    assert p == pytest.approx(0.80)
    v = value_savings(96.0, 40.0, p, c.partner_share_on(date(2026, 3, 1)))
    assert v.value_fen == 7680 and v.uncertainty_cny == pytest.approx(32.0)
    assert (v.partner_fen, v.owner_fen) == (5376, 2304)
    assert v.significant


def test_flat_tariff_hand_numbers():
    """1,234.5 kWh ± 300 at 0.68 → 839.46 ± 204.00 CNY; 0.7 → 587.62 (587.622) / 251.84."""
    c = parse_contract(contract())
    p = weighted_price(c.tariff, np.arange(24), np.ones(24))
    assert p == 0.68
    v = value_savings(1234.5, 300.0, p, 0.7)
    assert v.value_fen == 83946
    assert v.uncertainty_cny == pytest.approx(204.0)
    assert (v.partner_fen, v.owner_fen) == (58762, 25184)


@given(
    value=st.floats(-1e7, 1e7, allow_nan=False),
    share=st.floats(0, 1, allow_nan=False),
)
def test_shares_add_up_to_the_value_exactly(value, share):
    fen = to_fen(value)
    partner, owner = split_fen(fen, share)
    assert partner + owner == fen
    # and as the decimal CNY amounts the API shows
    assert Decimal(partner) / 100 + Decimal(owner) / 100 == Decimal(fen) / 100
    assert abs(partner - share * fen) <= 0.5 + 1e-9 * abs(fen)


@given(
    kwh=st.floats(-1e5, 1e5, allow_nan=False),
    u=st.floats(0, 1e5, allow_nan=False),
    price=st.floats(0.01, 5, allow_nan=False),
    share=st.floats(0, 1, allow_nan=False),
)
def test_value_shares_add_up_and_uncertainty_scales_with_the_tariff(kwh, u, price, share):
    v = value_savings(kwh, u, price, share)
    assert v.partner_fen + v.owner_fen == v.value_fen
    assert abs(v.value_fen - round(kwh * price * 100)) <= 1
    doubled = value_savings(kwh, u, 2 * price, share)
    assert doubled.uncertainty_cny == pytest.approx(2 * v.uncertainty_cny)
    assert v.uncertainty_cny == pytest.approx(u * price)


def test_fuel_adds_value_and_uncertainty_in_quadrature():
    """100 ± 30 kWh at 1.0 and 50 ± 40 Nm3 gas at 3.0: 100 + 150 = 250 CNY,
    U = √(30² + 120²) = 123.69 CNY; a fuel without a price is not valued."""
    v = value_savings(100.0, 30.0, 1.0, 0.5, avoided_fuel={"gas_m3": (50.0, 40.0),
                      "steam_t": (2.0, 1.0)}, fuel_prices={"gas_m3": 3.0})  # fmt: skip
    assert v.value_fen == 25000 and v.fuel_value_fen == 15000
    assert v.uncertainty_cny == pytest.approx((30**2 + 120**2) ** 0.5)
    assert v.partner_fen + v.owner_fen == 25000


def test_a_negative_period_is_shown_as_measured():
    v = value_savings(-10.0, 50.0, 0.5, 0.7)
    assert v.value_fen == -500 and v.partner_fen + v.owner_fen == -500
    assert not v.significant


def test_share_schedule_and_term():
    c = parse_contract(contract(partner_share=[{"from": "2026-01-01", "share": 0.9},
                                               {"from": date(2028, 1, 1), "share": 0.7}],
                                end_date="2030-12-31"))  # fmt: skip
    assert c.partner_share_on(date(2027, 12, 31)) == 0.9
    assert c.partner_share_on(date(2028, 1, 1)) == 0.7
    assert c.in_force(date(2030, 12, 31)) and not c.in_force(date(2031, 1, 1))
    assert not c.in_force(date(2025, 12, 31))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (contract(partner=None), "partner must name"),
        (contract(start_date="2026-13-01"), "start_date must be a date"),
        (contract(end_date="2025-01-01"), "before start_date"),
        (contract(partner_share=1.3), "between 0 and 1"),
        (contract(partner_share=None), "partner_share is required"),
        (contract(tariff=TOU), "exactly one"),
        (contract(tariff_cny_per_kwh=-1), "price >= 0"),
        (contract(tariff_cny_per_kwh=None,
                  tariff={"peak": {"price_cny_per_kwh": 1.0, "hours": [[8, 12]]}}),
         "no period covers the hours 0:00"),
        (contract(tariff_cny_per_kwh=None,
                  tariff={**TOU, "sharp": {"price_cny_per_kwh": 1.3, "hours": [[19, 21]]}}),
         "hour 19:00 is in both"),
        (contract(tariff_cny_per_kwh=None,
                  tariff={**TOU, "peak": {"price_cny_per_kwh": 1.0, "hours": [[8, 25]]}}),
         "0 <= start < end <= 24"),
        (contract(fuel_prices={"coal_t": 900}), "fuel_prices must map"),
        (contract(splitt=0.5), "unknown keys splitt"),
        (contract(type="guaranteed_savings"), "only 'shared_savings'"),
        (contract(partner_share=[{"from": "2026-02-01", "share": 0.9}]), "must begin on"),
    ],
)  # fmt: skip
def test_invalid_contracts_say_what_to_fix(doc, message):
    with pytest.raises(EmcContractError, match=message):
        parse_contract(doc)


def _registry_doc(emc):
    line = {"id": "line-x", "kind": "line", "parent": "factory-x",
            "intervention_date": "2026-01-01", "emc": emc}  # fmt: skip
    return {"entities": [{"id": "factory-x", "kind": "factory"}, line]}


def test_registry_validates_the_contract_on_load_and_round_trips(tmp_path):
    from telemetry.registry import Registry, RegistryError

    emc = contract(tariff_cny_per_kwh=None, tariff=TOU, start_date=date(2026, 1, 1),
                   partner_share=[{"from": date(2026, 1, 1), "share": 0.9}])  # fmt: skip
    reg = Registry.from_dict(_registry_doc(emc))
    stored = reg.entities["line-x"].attrs["emc"]
    assert stored["start_date"] == "2026-01-01"  # dates stored as ISO strings
    reg.save(tmp_path / "r.toml")
    again = Registry.load(tmp_path / "r.toml").entities["line-x"].attrs["emc"]
    assert parse_contract(again) == parse_contract(stored)
    with pytest.raises(RegistryError, match="entity 'line-x': emc: partner_share .* between 0"):
        Registry.from_dict(_registry_doc(contract(partner_share=7)))
    doc = _registry_doc(contract())
    del doc["entities"][1]["intervention_date"]
    with pytest.raises(RegistryError, match="emc needs an intervention_date"):
        Registry.from_dict(doc)
    doc = _registry_doc(contract())
    doc["entities"][0]["emc"] = contract()
    with pytest.raises(RegistryError, match="'emc' does not apply to a factory"):
        Registry.from_dict(doc)
