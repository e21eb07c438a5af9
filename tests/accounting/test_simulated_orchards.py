"""A simulated year of the demo orchards: the engine's labels match what their inputs were
designed to earn.

The simulator (simulators/orchard.py, simulators/orchard_balance.py) builds six huyou
orchards for all four colours with its own hand calculation of the defaults of docs/methodology.md.
The engine reads the same field records (and the pump meter's kWh), and must give the same
label with a ratio within 10 % (survey noise and the engine's choice of survey pair make up
the difference).
"""

from datetime import date

import pytest

from accounting.activity_data import activity_from_series
from accounting.factors import load_factor_set
from accounting.labels import orchard_label
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.statements import compute_statement
from simulators.fleet import demo_fleet
from simulators.orchard import orchard_events, orchard_year_totals
from simulators.orchard_balance import expected_balance

YEAR, SEED = 2025, 7
FS = load_factor_set("cn-mee-2023")


def _orchards():
    return list(demo_fleet(today=date(YEAR + 1, 6, 30)).orchards)  # not the day tests run


@pytest.mark.parametrize("spec", _orchards(), ids=lambda o: o.id)
def test_engine_label_matches_designed_label(spec):
    period = Period.year(YEAR)
    events = [p for _, p in orchard_events(spec, SEED, YEAR)]
    surveys = [
        p
        for y in (YEAR - 1, YEAR)
        for _, p in orchard_events(spec, SEED, y)
        if p["type"] == "tree_survey"
    ]
    # practices are in force from their event date: last year's records count this year
    practices = [
        p
        for y in (YEAR - 1, YEAR)
        for _, p in orchard_events(spec, SEED, y)
        if p["type"] == "practice"
    ]
    pump_kwh = orchard_year_totals(spec, SEED, YEAR)["pump_kwh"]
    act = activity_from_series(
        {},
        events,
        start_ms=period.start_ms,
        end_ms=period.end_ms,
        tree_surveys=surveys,
        practice_records=practices,
        electricity_kwh=pump_kwh,
    )
    profile = EntityProfile(spec.id, "orchard", area_mu=spec.area_mu, county=spec.county)
    st = compute_statement(profile, period, act, FS)
    label = orchard_label(st, FS)
    designed = expected_balance(spec, SEED, YEAR)
    assert label.colour == spec.intended_label
    assert label.ratio == pytest.approx(designed.ratio, rel=0.10)
    assert st.total_emissions_t == pytest.approx(designed.emissions_t, rel=0.05)
    assert not st.warnings


def test_fleet_spans_all_colours():
    assert {o.intended_label for o in _orchards()} == {"dark_green", "light_green", "yellow", "red"}
