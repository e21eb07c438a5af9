"""Factory benchmarking: K, colour bands, 碳效码 grades, lists."""

from datetime import date

import numpy as np
import pytest

from accounting.activity_data import ActivityData
from accounting.benchmarking import (
    benchmark_factories,
    carbon_efficiency_grade,
    carbon_efficiency_k,
    industry_bands,
    industry_colour,
    intensity_level,
)
from accounting.errors import InvalidProfileError
from accounting.factors import load_factor_set
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.statements import compute_statement

FS = load_factor_set("cn-mee-2023")
YEAR = Period.year(2025)


@pytest.mark.parametrize(
    ("k", "grade"),
    # 规上工业企业碳效等级评价方法 (docs/methodology.md §1.2): ≤0.6 / 0.6-0.8 / 0.8-1.2 / 1.2-2.0 / >2.0
    [(0.6, 1), (0.61, 2), (0.8, 2), (1.2, 3), (1.21, 4), (2.0, 4), (2.01, 5)],
)
def test_tanxiao_grades(k, grade):
    assert carbon_efficiency_grade(k) == grade


def test_intensity_levels():
    # docs/methodology.md §1.2: ≤0.6 低碳, 0.6-2.0 中碳, >2.0 高碳 [t CO2/10^4 CNY]
    assert [intensity_level(x) for x in (0.6, 0.61, 2.0, 2.1)] == [
        "low",
        "medium",
        "medium",
        "high",
    ]


def test_k_colours_and_vector():
    # docs/methodology.md §8: ≤0.8 深绿; 0.8-1.0 浅绿; 1.0-1.2 黄; >1.2 红
    assert industry_bands(FS) == (0.8, 1.0, 1.2)
    k = np.array([0.8, 0.9, 1.0, 1.2, 1.3])
    assert list(industry_colour(k)) == ["dark_green", "light_green", "light_green", "yellow", "red"]
    assert list(industry_colour(k)) == [industry_colour(float(x)) for x in k]
    assert carbon_efficiency_k(1.5, 1.25) == pytest.approx(1.2)
    assert np.allclose(carbon_efficiency_k(np.array([1.0, 2.0]), 2.0), [0.5, 1.0])
    with pytest.raises(InvalidProfileError):
        carbon_efficiency_k(1.0, 0.0)
    with pytest.raises(InvalidProfileError):
        industry_colour(-0.1)


def _factory(fid, kwh, pv, va):
    p = EntityProfile(fid, "factory", industry_code="C27", value_added_10k_cny=va)
    act = ActivityData(YEAR.start_ms, YEAR.end_ms, electricity_kwh=kwh, pv_kwh=pv)
    return compute_statement(p, YEAR, act, FS)


def test_benchmark_lists():
    # 1e6 kWh × 0.5306 = 530.6 t; VA 500 -> L = 1.0612 × 365.25/365 (pro-rated value added)
    sts = [_factory("a", 1e6, 0, 500), _factory("b", 1e6, 5e5, 1000), _factory("c", 4e6, 1e5, 1000)]
    rep = benchmark_factories(
        sts, {"C27": 1.0}, industry_codes={"a": "C27", "b": "C27", "c": "C27"}
    )
    res = {r["entity_id"]: r for r in rep["results"]}
    assert res["a"]["k"] == pytest.approx(530.6 / (500 * 365 / 365.25))
    assert res["b"]["colour"] == "dark_green" and res["c"]["colour"] == "red"
    assert rep["poor_performers"] == ["c"]  # K = 2.12
    assert rep["low_green_share"] == ["a", "c"]  # 0 % and 2.4 % < 10 %


def test_county_comparison_hand_worked():
    from accounting.activity_data import activity_from_series
    from accounting.benchmarking import county_comparison

    def orchard(oid, urea_kg):
        p = EntityProfile(oid, "orchard", area_mu=10, orchard_mature=True)
        ev = [
            {
                "type": "fertilizer_applied",
                "id": oid,
                "product": "urea",
                "mass_kg": urea_kg,
                "n_frac": 0.46,
            }
        ]
        return compute_statement(
            p, YEAR, activity_from_series({}, ev, start_ms=YEAR.start_ms, end_ms=YEAR.end_ms), FS
        )

    # emissions are proportional to urea, so per-mu intensities are in ratio 50 : 100 : 130
    sts = [orchard("a", 50), orchard("b", 100), orchard("c", 130), orchard("d", 100)]
    res = county_comparison(sts, {"a": "常山县", "b": "常山县", "c": "常山县", "d": "柯城区"})
    assert res["a"]["k"] == pytest.approx(0.5) and res["a"]["rating"] == "good"
    assert res["b"]["rating"] == "typical"
    assert res["c"]["k"] == pytest.approx(1.3) and res["c"]["rating"] == "poor"
    assert res["d"]["k"] == pytest.approx(1.0)  # alone in its county


# -- the packaged industry table ------------------------------------------------------------
def test_every_packaged_benchmark_has_its_provenance():
    """No value without a source: published rows name theirs, the others say they are proposed
    defaults and why (no published class table was found, docs/benchmarks.md)."""
    from accounting.benchmarking import INDUSTRY_CODE, load_industry_benchmarks

    table = load_industry_benchmarks()
    assert table.entries, "the packaged table is empty"
    for code, row in table.entries.items():
        assert INDUSTRY_CODE.match(code) and row.t_co2e_per_10k_cny > 0
        if row.status == "published":
            assert row.source
        else:
            assert row.status == "proposed_default" and row.basis
    # placed on the published 碳效码 levels (docs/methodology.md §1.2: 0.6 and 2.0 t CO2/10^4 CNY)
    assert {r.t_co2e_per_10k_cny for r in table.entries.values()} <= {0.6, 1.0, 2.0}


def test_lookup_goes_from_the_class_to_the_section():
    from accounting.benchmarking import load_industry_benchmarks

    t = load_industry_benchmarks()
    assert t.lookup("C1713").code == "C1713"
    assert t.lookup("c2710").code == "C2710"
    assert t.lookup("C2720").code == "C27"  # a class without a row: its division
    assert t.lookup("C3442").code == "C34"
    assert t.lookup("C4350").code == "C"  # a division without a row: manufacturing
    assert t.lookup("D4411") is None and t.lookup(None) is None


def test_the_demo_factories_have_benchmarks():
    from accounting.benchmarking import load_industry_benchmarks
    from simulators.fleet import demo_fleet

    t = load_industry_benchmarks()
    for f in demo_fleet(42, today=date(2026, 6, 30)).factories:
        assert f.industry_code and f.value_added_10k_cny > 0
        assert t.lookup(f.industry_code) is not None, f.industry_code


@pytest.mark.parametrize(
    "row",
    [
        {"code": "C17", "t_co2e_per_10k_cny": 1.0, "status": "published"},  # no source
        {"code": "C17", "t_co2e_per_10k_cny": 1.0, "status": "proposed_default"},  # no basis
        {"code": "C17", "t_co2e_per_10k_cny": 0.0, "status": "published", "source": "x"},
        {"code": "17", "t_co2e_per_10k_cny": 1.0, "status": "published", "source": "x"},
        {"code": "C17", "t_co2e_per_10k_cny": 1.0, "status": "guess", "basis": "x"},
    ],
)
def test_a_row_without_provenance_is_refused(row):
    from accounting.benchmarking import parse_industry_benchmarks

    with pytest.raises(InvalidProfileError):
        parse_industry_benchmarks({"benchmark": [row]})


def test_table_k_and_registry_override_hand_worked():
    """Hand-worked (cn-mee-2023 grid factor 0.5306 kg/kWh, MEE 2023; value added pro-rated
    over the 365-day year 2025 against 365.25 days a year):

    emissions = 1e6 kWh x 0.5306 / 1000 = 530.6 t; value added = 1000 x 365/365.25
    = 999.3155 x 10^4 CNY; L = 0.530963 t/10^4 CNY (碳效码 level "low", ≤ 0.6).
    Table row C34 (C3442 has none): 0.6 -> K = 0.884939 -> light_green (0.8 < K ≤ 1.0),
    grade 3 (0.8 < K ≤ 1.2). A registry override of 0.5 -> K = 1.061927 -> yellow, grade 3.
    Green share 0 -> on the low green-energy list; K ≤ 1.2 -> not a poor performer.
    """
    from accounting.benchmarking import load_industry_benchmarks

    va = 1000 * 365 / 365.25
    L = 530.6 / va
    assert (va, L) == (pytest.approx(999.3155, rel=1e-6), pytest.approx(0.530963, rel=1e-6))
    st = _factory("f", 1e6, 0, 1000)
    rep = benchmark_factories([st], load_industry_benchmarks(), industry_codes={"f": "C3442"})
    [r] = rep["results"]
    assert r["intensity"] == pytest.approx(L)
    assert (r["benchmark"], r["benchmark_code"], r["benchmark_origin"]) == (0.6, "C34", "table")
    assert r["benchmark_status"] == "proposed_default" and r["benchmark_note"]
    assert r["k"] == pytest.approx(0.884939, rel=1e-6)
    assert (r["colour"], r["grade"], r["intensity_level"]) == ("light_green", 3, "low")
    assert rep["poor_performers"] == [] and rep["low_green_share"] == ["f"]

    rep = benchmark_factories([st], industry_codes={"f": "C3442"}, overrides={"f": 0.5})
    [r] = rep["results"]
    assert r["benchmark_origin"] == "registry" and r["benchmark_code"] is None
    assert r["k"] == pytest.approx(1.061927, rel=1e-6)
    assert (r["colour"], r["grade"]) == ("yellow", 3)


def test_missing_inputs_say_why():
    st = _factory("f", 1e6, 0, 1000)
    [r] = benchmark_factories([st], industry_codes={})["results"]
    assert r["k"] is None and r["reason"] == "no industry_code in the registry"
    p = EntityProfile("g", "factory", industry_code="C34")
    act = ActivityData(YEAR.start_ms, YEAR.end_ms, electricity_kwh=1e6)
    st = compute_statement(p, YEAR, act, FS)
    [r] = benchmark_factories([st], industry_codes={"g": "C34"})["results"]
    assert r["k"] is None and r["benchmark"] == 0.6 and "value added" in r["reason"]
