"""Ground truth the accounting tests rely on: line savings and designed orchard balances."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from simulators.factory import line_daily_truth, line_energy_truth, line_readings
from simulators.orchard_balance import expected_balance, label_for
from tests.simulators.conftest import TODAY, ms


def _line(fleet, lid):
    return next(line for line in fleet.lines if line.id == lid)


@pytest.mark.parametrize("lid", ["line-a3", "line-b3"])
def test_intervention_cuts_energy_by_the_configured_fraction(fleet, lid) -> None:
    line = _line(fleet, lid)
    assert line.intervention_date is not None and line.savings_frac > 0
    after = ms(line.intervention_date)
    truth = line_energy_truth(line, after, after + 30 * 86_400_000, seed=7)
    assert truth.avoided_kwh / truth.counterfactual_kwh == pytest.approx(line.savings_frac)
    before = line_energy_truth(line, after - 30 * 86_400_000, after, seed=7)
    assert before.avoided_kwh == 0.0
    assert before.actual_kwh == pytest.approx(before.counterfactual_kwh)


def test_metered_register_matches_the_truth(fleet) -> None:
    """What a gateway reads off the register is the truth's actual energy."""
    line = _line(fleet, "line-a3")
    lo = ms(line.intervention_date - timedelta(days=3))
    hi = ms(line.intervention_date + timedelta(days=4))
    regs = [
        m.payload["values"]["energy_kwh_total"]
        for m in line_readings(line, lo, hi + 1, 3600, seed=7)
        if m.topic.endswith("-em/data")
    ]
    truth = line_energy_truth(line, lo, hi, seed=7)
    assert regs[-1] - regs[0] == pytest.approx(truth.actual_kwh, abs=0.01)
    daily = line_daily_truth(line, line.intervention_date - timedelta(days=3),
                             line.intervention_date + timedelta(days=3), seed=7)  # fmt: skip
    assert daily["kwh"].sum() == pytest.approx(truth.actual_kwh)
    assert daily["kwh_counterfactual"].sum() == pytest.approx(truth.counterfactual_kwh)


def test_lines_without_intervention_have_no_savings(fleet) -> None:
    for line in fleet.lines:
        if line.intervention_date is None:
            t = line_energy_truth(line, ms(TODAY - timedelta(days=60)), ms(TODAY), seed=7)
            assert t.avoided_kwh == 0.0


def test_load_follows_production_and_weekdays(fleet) -> None:
    line = _line(fleet, "line-a1")  # Monday-Friday, two shifts
    d = line_daily_truth(line, date(2026, 5, 4), date(2026, 5, 17), seed=7)  # two weeks
    weekend = [i for i, s in enumerate(d["date"]) if date.fromisoformat(s).weekday() >= 5]
    workday = [i for i in range(len(d["date"])) if i not in weekend]
    assert d["units"][weekend].sum() == 0
    assert d["kwh"][weekend].max() < 0.6 * d["kwh"][workday].min()
    # baseline load 60 kW * 24 h plus cooling on idle days
    assert d["kwh"][weekend].min() >= 60 * 24 * 0.8


def test_summer_cooling_raises_consumption(fleet) -> None:
    line = _line(fleet, "line-b1")
    jul = line_daily_truth(line, date(2025, 7, 1), date(2025, 7, 31), seed=7)
    apr = line_daily_truth(line, date(2025, 4, 1), date(2025, 4, 30), seed=7)
    per_unit_jul = jul["kwh"].sum() / jul["units"].sum()
    per_unit_apr = apr["kwh"].sum() / apr["units"].sum()
    assert jul["mean_temp_c"].mean() > apr["mean_temp_c"].mean() + 8
    assert per_unit_jul > per_unit_apr


def test_orchards_are_designed_for_all_four_colours(fleet) -> None:
    labels = []
    for o in fleet.orchards:
        b = expected_balance(o, 7, 2025)
        assert b.label == o.intended_label, (o.id, b)
        labels.append(b.label)
        assert 50 <= o.area_mu <= 200
        # sinks in the docs/methodology.md §5 range of roughly 0.2-0.7 t CO2/mu/yr
        assert 0.15 <= b.sequestration_t / o.area_mu <= 0.75
    assert set(labels) == {"dark_green", "light_green", "yellow", "red"}


@pytest.mark.parametrize(
    ("ratio", "label"),
    [
        (1.2, "dark_green"),
        (1.19, "light_green"),
        (1.0, "light_green"),
        (0.8, "yellow"),
        (0.79, "red"),
    ],
)
def test_default_label_bands(ratio, label) -> None:
    """docs/methodology.md §1.3 proposed default: >=1.2 / >=1.0 / >=0.8 / <0.8."""
    assert label_for(ratio) == label
