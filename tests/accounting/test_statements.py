"""Statements: hand-worked orchard, factory, forest; JSON round trip; roll-up."""

import json

import numpy as np
import pytest

from accounting.activity_data import ActivityData, activity_from_series
from accounting.errors import InvalidProfileError, MixedStatementsError
from accounting.factors import load_factor_set
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.statements import Statement, compute_statement, roll_up
from accounting.units import C_TO_CO2

FS = load_factor_set("cn-mee-2023")
YEAR = Period.year(2025)  # 365 days
DAY = Period.day(__import__("datetime").date(2025, 6, 2))


def _act(period, events=(), **kw):
    """Activity of an entity whose records began before the period (fully covered)."""
    kw.setdefault("first_data_ms", period.start_ms)
    return activity_from_series({}, events, start_ms=period.start_ms, end_ms=period.end_ms, **kw)


def test_huakang_intensity_example():
    # 中国环境报 2021-06-23 (docs/methodology.md §1.1): 浙江华康药业 2020, energy CO2 11,659.61 t +
    # process CO2 2,491.14 t = 14,150.75 t; 0.1032 t CO2 per t product.
    factory = EntityProfile("huakang", "factory", industry_code="C27")
    kwh = 11_659.61 / FS.value("electricity.grid") * 1000  # energy CO2 expressed as grid kWh
    act = ActivityData(
        YEAR.start_ms,
        YEAR.end_ms,
        electricity_kwh=kwh,
        process_co2_t=2_491.14,
        output_units=137_100,
    )
    s = compute_statement(factory, YEAR, act, FS)
    assert s.total_emissions_t == pytest.approx(14_150.75, abs=0.005)
    assert s.emissions_by_scope["scope1"] == pytest.approx(2_491.14)
    assert round(s.intensities["t_co2e_per_unit_output"], 4) == 0.1032


def test_orchard_hand_worked():
    orchard = EntityProfile("o1", "orchard", area_mu=50, county="常山县")
    ev = [
        {"type": "fertilizer_applied", "id": "u", "product": "urea", "mass_kg": 200, "n_frac": 0.46}
    ]
    s = compute_statement(orchard, YEAR, _act(YEAR, ev), FS)
    n = 92.0  # kg N
    # docs/methodology.md §4.1: urea-N, wet climate, AR6: 8.90 kg CO2e/kg N (direct + indirect)
    soil = s.emissions_t["fertiliser_n2o_direct"] + s.emissions_t["fertiliser_n2o_indirect"]
    assert soil == pytest.approx(n * 8.90 / 1000, abs=0.0005)
    assert s.emissions_t["urea_co2"] == pytest.approx(0.2 * 0.20 * C_TO_CO2)  # 0.733 t/t urea
    assert s.emissions_t["upstream_fertiliser"] == pytest.approx(
        0.092 * 2.116 * C_TO_CO2
    )  # 7.76 t/t N
    assert s.emissions_by_scope["scope3"] == pytest.approx(s.emissions_t["upstream_fertiliser"])
    # Tier 1 biomass: 50 mu = 3.333 ha × 2.1 t C/ha/yr × 44/12 × 365/365.25
    assert s.sequestration_t["biomass"] == pytest.approx(50 / 15 * 2.1 * C_TO_CO2 * 365 / 365.25)
    assert s.net_t == pytest.approx(s.total_sequestration_t - s.total_emissions_t)
    assert s.net_t > 0  # a net sink: positive net (removals − emissions)
    assert s.intensities["t_co2e_per_mu"] == pytest.approx(s.total_emissions_t / 50)
    assert s.coverage == 1.0  # events only, records began before the year
    assert s.factor_set["name"] == "cn-mee-2023" and s.factor_set["digest"] == FS.digest


def test_orchard_soil_and_stock_difference():
    orchard = EntityProfile("o2", "orchard", area_mu=30, practices={"organic_substitution": 15})
    surveys = [
        {"type": "tree_survey", "ts": "2024-10-01", "biomass_t": 100.0},
        {"type": "tree_survey", "ts": "2025-10-01", "biomass_t": 104.0},
    ]
    s = compute_statement(orchard, YEAR, _act(YEAR, tree_surveys=surveys), FS)
    # SOC, IPCC 2019R Tier 1 (docs/methodology.md §5b): 15 mu = 1 ha × 55 t C/ha × F_LU 0.72 ×
    # (1.44 - 1.00) / 20 yr = 0.8712 t C/yr
    assert s.sequestration_t["soil"] == pytest.approx(
        55 * 0.72 * 0.44 / 20 * C_TO_CO2 * 365 / 365.25
    )
    # biomass accrues by covered time with the surveys known at each instant: until the
    # second survey (2025-10-01T00:00Z) only one exists, so Tier 1 (IPCC 2006 Vol. 4 Table
    # 5.1: 2.1 t C/ha/yr on 2 ha) for 273 d 8 h of the year (which starts 2024-12-31T16:00Z);
    # then the pair's rate, +4 t d.m. in 365/365.25 yr × 1.25 × 0.47, for the last 91 d 16 h.
    tier1 = 2 * 2.1 * C_TO_CO2
    pair = 4 * 1.25 * 0.47 * C_TO_CO2 / (365 / 365.25)
    assert s.sequestration_t["biomass"] == pytest.approx(
        tier1 * (273 + 8 / 24) / 365.25 + pair * (91 + 16 / 24) / 365.25
    )
    assert s.methods["biomass"] == "survey_pair+tier1"


def test_mature_orchard_without_surveys_warns():
    orchard = EntityProfile("o3", "orchard", area_mu=30, orchard_mature=True)
    s = compute_statement(orchard, YEAR, _act(YEAR), FS)
    assert "biomass" not in s.sequestration_t
    assert any(w.startswith("biomass.not_counted") for w in s.warnings)


def test_forest_stock_difference():
    forest = EntityProfile("f1", "forest", area_mu=150, forest_species="chinese_fir")
    inv = [{"ts": "2023-06-30", "volume_m3": 1000.0}, {"ts": "2025-06-30", "volume_m3": 1100.0}]
    s = compute_statement(forest, YEAR, _act(YEAR, forest_inventories=inv), FS)
    # 100 m3 in 2 yr × 0.307 × 1.634 × 1.246 × 0.520 t C/m3 × 44/12 (LY/T 2253 Chinese fir)
    years = 731 / 365.25
    per_year = 100 * 0.307 * 1.634 * 1.246 * 0.520 / years * C_TO_CO2
    # the pair is known from 2025-06-30T00:00Z: 184 d 16 h of the year, nothing before
    assert s.sequestration_t["forest"] == pytest.approx(per_year * (184 + 16 / 24) / 365.25)
    assert s.methods == {"forest": "inventory_pair"}


def test_factory_from_series_with_pv_steam_gas():
    start = DAY.start_ms
    ts = start + np.arange(-1, 25) * 3_600_000
    k = np.arange(26, dtype=float)
    act = activity_from_series(
        {
            "energy_kwh_total": (ts, 1000 * k),
            "pv_kwh_total": (ts, 250 * k),
            "steam_t_total": (ts, 0.5 * k),
            "gas_m3_total": (ts, 10 * k),
            "output_units_total": (ts, 100 * k),
        },
        start_ms=DAY.start_ms,
        end_ms=DAY.end_ms,
    )
    line = EntityProfile("l1", "line", parent="fac")
    s = compute_statement(line, DAY, act, FS)
    assert s.emissions_t["electricity"] == pytest.approx(24_000 * 0.5306 / 1000)
    assert s.emissions_t["onsite_pv"] == 0.0
    assert s.green_energy_share == pytest.approx(6000 / 30000)
    # 12 t steam × 2.694 GJ/t × 0.11 t/GJ
    assert s.emissions_t["heat_steam"] == pytest.approx(12 * (2778 - 83.74) * 1e-3 * 0.11)
    # 240 Nm3 × 2.162 kg/Nm3 (docs/methodology.md §3 CN basis)
    assert s.emissions_t["fuel.natural_gas"] == pytest.approx(0.240 * 2.162, rel=1e-3)
    assert s.intensities["kwh_per_unit_output"] == pytest.approx(30000 / 2400)
    assert s.coverage == pytest.approx(1.0)


def test_json_round_trip():
    orchard = EntityProfile("o1", "orchard", area_mu=50, practices={"grass_cover": 10})
    ev = [
        {
            "type": "fertilizer_applied",
            "id": "u",
            "product": "urea",
            "mass_kg": 200,
            "n_frac": 0.46,
        },
        {"type": "fuel_used", "id": "d", "fuel": "diesel", "litres": 40},
        {"type": "harvest", "id": "h", "mass_t": 60},
    ]
    s = compute_statement(orchard, YEAR, _act(YEAR, ev), FS)
    d = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    s2 = Statement.from_dict(d)
    assert s2.to_dict() == s.to_dict()
    assert s2.net_t == s.net_t
    with pytest.raises(InvalidProfileError):
        Statement.from_dict({**d, "schema": "other"})


def _line(i, kwh, period=DAY, fs=FS):
    act = ActivityData(
        period.start_ms,
        period.end_ms,
        electricity_kwh=kwh,
        output_units=10.0,
        coverage=0.9 + i / 100,
    )
    return compute_statement(EntityProfile(f"l{i}", "line", parent="fac"), period, act, fs)


def test_roll_up_lines_to_factory():
    fac = EntityProfile("fac", "factory", value_added_10k_cny=365.25)
    lines = [_line(1, 1000.0), _line(2, 3000.0)]
    f = roll_up(fac, lines)
    assert f.total_emissions_t == pytest.approx(4000 * 0.5306 / 1000)
    assert f.emissions_t["electricity"] == pytest.approx(
        sum(s.emissions_t["electricity"] for s in lines)
    )
    assert f.coverage == pytest.approx(0.91)
    assert f.children == ["l1", "l2"]
    assert f.intensities["t_co2e_per_unit_output"] == pytest.approx(f.total_emissions_t / 20)
    # value added 365.25 × 10^4 CNY/yr pro-rated to one day = 1.0
    assert f.intensities["t_co2e_per_10k_cny"] == pytest.approx(f.total_emissions_t)


def test_roll_up_counts_onsite_pv_once():
    """Hand-worked: lines use 1,000 + 3,000 kWh (sub-meters behind the site's PV); the factory's
    PV meter counts 1,000 kWh used on site. Grid import = 4,000 - 1,000 = 3,000 kWh, priced at
    the national 2023 grid factor 0.5306 kg/kWh (MEE/NBS 2023) = 1.5918 t; PV at zero; green
    share 1,000 / 4,000 = 0.25. Each line's electricity is scaled by the import share 0.75."""
    fac = EntityProfile("fac", "factory")
    own = compute_statement(
        fac, DAY, ActivityData(DAY.start_ms, DAY.end_ms, pv_kwh=1000.0, coverage=1.0), FS
    )
    lines = [_line(1, 1000.0), _line(2, 3000.0)]
    f = roll_up(fac, [own, *lines])
    assert f.total_emissions_t == pytest.approx(3000 * 0.5306 / 1000)
    assert f.activity["electricity_kwh"] == pytest.approx(3000.0)
    assert f.activity["electricity_consumed_kwh"] == pytest.approx(4000.0)
    assert f.green_energy_share == pytest.approx(0.25)
    assert f.intensities["kwh_per_unit_output"] == pytest.approx(4000.0 / 20)
    # the lines' own statements keep their metered use at the grid factor
    assert lines[1].emissions_t["electricity"] == pytest.approx(3000 * 0.5306 / 1000)
    # PV beyond the site's use earns nothing: import 0, share 1
    big = compute_statement(
        fac, DAY, ActivityData(DAY.start_ms, DAY.end_ms, pv_kwh=9000.0, coverage=1.0), FS
    )
    g = roll_up(fac, [big, _line(1, 1000.0), _line(2, 3000.0)])
    assert g.total_emissions_t == pytest.approx(0.0)
    assert g.green_energy_share == pytest.approx(1.0)
    assert g.intensities["kwh_per_unit_output"] == pytest.approx(4000.0 / 20)


def test_roll_up_refuses_mixed_inputs():
    fac = EntityProfile("fac", "factory")
    with pytest.raises(MixedStatementsError):
        roll_up(
            fac,
            [
                _line(1, 1.0),
                _line(2, 1.0, period=Period.day(__import__("datetime").date(2025, 6, 3))),
            ],
        )
    with pytest.raises(MixedStatementsError):
        roll_up(fac, [_line(1, 1.0), _line(2, 1.0, fs=load_factor_set("cn-mee-2023-east-china"))])
    with pytest.raises(MixedStatementsError):
        roll_up(fac, [])


@pytest.mark.parametrize(
    "kw",
    [
        {"id": "x", "kind": "farm"},
        {"id": "x", "kind": "orchard"},
        {"id": "x", "kind": "orchard", "area_mu": -1},
        {"id": "x", "kind": "line"},
        {"id": "x", "kind": "orchard", "area_mu": 5, "practices": {"burning": 1}},
    ],
)
def test_invalid_profiles(kw):
    with pytest.raises(InvalidProfileError):
        EntityProfile(**kw)


def test_period_lengths_and_round_trip():
    assert YEAR.days == 365 and Period.year(2024).days == 366
    assert Period.month(2025, 12).days == 31
    assert DAY.local_start.utcoffset().total_seconds() == 8 * 3600
    assert Period.from_dict(DAY.to_dict()) == DAY
    p = EntityProfile(
        "l9", "line", parent="f", baseline_start=__import__("datetime").date(2024, 1, 1)
    )
    assert EntityProfile.from_dict(p.to_dict()) == p


def test_forest_from_tree_survey_records_with_epoch_ms():
    # forest inventories arriving as tree_survey records (volume_m3, species, ts_ms), in any order
    forest = EntityProfile("f2", "forest", area_mu=150)
    t0 = 1_688_083_200_000  # 2023-06-30T00:00Z
    recs = [
        {
            "type": "tree_survey",
            "id": "b",
            "ts_ms": t0 + 731 * 86_400_000,
            "trees": 9000,
            "volume_m3": 1100.0,
            "species": "chinese_fir",
        },
        {
            "type": "tree_survey",
            "id": "a",
            "ts_ms": t0,
            "trees": 9000,
            "volume_m3": 1000.0,
            "species": "chinese_fir",
        },
    ]
    s = compute_statement(forest, YEAR, _act(YEAR, tree_surveys=recs), FS)
    per_year = 100 * 0.307 * 1.634 * 1.246 * 0.520 / (731 / 365.25) * C_TO_CO2
    # the second record is dated 2025-06-30T00:00Z: 184 d 16 h of the year after it
    assert s.sequestration_t["forest"] == pytest.approx(per_year * (184 + 16 / 24) / 365.25)
    s_none = compute_statement(forest, YEAR, _act(YEAR, tree_surveys=recs[:1]), FS)
    assert "forest" not in s_none.sequestration_t
    assert any(w.startswith("forest.no_inventory") for w in s_none.warnings)


def test_quarterly_surveys_use_a_whole_year_pair():
    # surveys in Jan/Apr/Jul/Oct of two years: the pair is Oct 2024 -> Oct 2025, so the
    # summer growth spurt of a single quarter is not annualised
    orchard = EntityProfile("o4", "orchard", area_mu=30)
    biomass = {
        "2024-10-15": 100.0,
        "2025-01-15": 100.5,
        "2025-04-15": 101.0,
        "2025-07-15": 103.5,
        "2025-10-15": 104.0,
    }
    recs = [
        {"type": "tree_survey", "ts": d, "trees": 1200, "biomass_t": b} for d, b in biomass.items()
    ]
    s = compute_statement(orchard, YEAR, _act(YEAR, tree_surveys=recs), FS)
    # no pair of the quarterly surveys is a whole cycle apart before 2025-10-15 (Tier 1
    # until then); from then on the Oct 2024 -> Oct 2025 pair
    notes = [ln.note for ln in s.lines if ln.source == "biomass"]
    assert notes == ["Tier 1", "stock difference 2024-10-15 -> 2025-10-15"]
    line = s.lines[[ln.note for ln in s.lines].index(notes[1])]
    assert line.activity == pytest.approx(4 * 1.25 * 0.47 * C_TO_CO2 / (365 / 365.25))


def test_overlapping_practices_share_land():
    # grass cover on the whole 50 mu and organic substitution on 20 of them: 20 mu at
    # "high with manure" (F_I 1.44) and 30 mu at "high" (1.11), never 70 mu
    orchard = EntityProfile("o5", "orchard", area_mu=50, orchard_mature=True)
    ev = [
        {"type": "practice", "id": "g", "practice": "grass_cover", "area_mu": 50},
        {"type": "practice", "id": "o", "practice": "organic_substitution", "area_mu": 20},
    ]
    s = compute_statement(orchard, YEAR, _act(YEAR, ev), FS)
    soil = {ln.note: ln.activity for ln in s.lines if ln.source == "soil"}
    assert soil == {"organic_substitution": 20.0, "grass_cover": 30.0}
    t_c = (20 * 0.44 + 30 * 0.11) / 15 * 55 * 0.72 / 20  # IPCC 2019R Tier 1, t C/yr
    assert s.sequestration_t["soil"] == pytest.approx(t_c * C_TO_CO2 * 365 / 365.25)


@pytest.mark.parametrize("bad", [{}, {"practice": "mulching"}])
def test_practice_record_without_a_known_practice_is_refused(bad):
    # practice records passed to ActivityData by hand are not checked by summarize_events;
    # one without a known practice used to end in a KeyError (None) deep in the soil lines
    from accounting.errors import InvalidEventError

    orchard = EntityProfile("o6", "orchard", area_mu=50, orchard_mature=True)
    rec = {"type": "practice", "id": "p1", "ts": "2025-03-01", "area_mu": 10, **bad}
    with pytest.raises(InvalidEventError, match="p1.*unknown practice"):
        compute_statement(orchard, YEAR, _act(YEAR, practice_records=[rec]), FS)


def test_activity_data_round_trip_and_validation():
    ev = [
        {"type": "fertilizer_applied", "id": "u", "product": "urea", "mass_kg": 200, "n_frac": 0.46}
    ]
    act = _act(YEAR, ev, process_co2_t=1.5)
    again = ActivityData.from_dict(json.loads(json.dumps(act.to_dict())))
    assert again == act
    from accounting.errors import InvalidSeriesError

    with pytest.raises(InvalidSeriesError):
        ActivityData(YEAR.start_ms, YEAR.end_ms, electricity_kwh=-1.0)
    with pytest.raises(InvalidSeriesError):
        ActivityData(YEAR.end_ms, YEAR.start_ms)
    with pytest.raises(InvalidSeriesError):
        ActivityData(YEAR.start_ms, YEAR.end_ms, gas_m3=float("nan"))
