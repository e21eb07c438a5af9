"""Factory benchmarking: K, colour bands, 碳效码 grades, lists."""

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
    # 规上工业企业碳效等级评价方法 (METHODOLOGY §1.2): ≤0.6 / 0.6-0.8 / 0.8-1.2 / 1.2-2.0 / >2.0
    [(0.6, 1), (0.61, 2), (0.8, 2), (1.2, 3), (1.21, 4), (2.0, 4), (2.01, 5)],
)
def test_tanxiao_grades(k, grade):
    assert carbon_efficiency_grade(k) == grade


def test_intensity_levels():
    # METHODOLOGY §1.2: ≤0.6 低碳, 0.6-2.0 中碳, >2.0 高碳 [t CO2/10^4 CNY]
    assert [intensity_level(x) for x in (0.6, 0.61, 2.0, 2.1)] == [
        "low",
        "medium",
        "medium",
        "high",
    ]


def test_k_colours_and_vector():
    # METHODOLOGY §8: ≤0.8 深绿; 0.8-1.0 浅绿; 1.0-1.2 黄; >1.2 红
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
