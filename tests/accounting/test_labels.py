"""Orchard four-colour labels, explanation and what-if."""

import numpy as np
import pytest

from accounting.activity_data import activity_from_series
from accounting.errors import InvalidProfileError
from accounting.factors import load_factor_set
from accounting.labels import COLOURS, colour_from_ratio, orchard_label, what_if, what_if_all
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.statements import compute_statement

FS = load_factor_set("cn-mee-2023")
YEAR = Period.year(2025)


@pytest.mark.parametrize(
    ("ratio", "colour"),
    # docs/methodology.md §1.3 proposed default: ≥1.2 深绿, 1.0-1.2 浅绿, 0.8-1.0 黄, <0.8 红
    [(1.2, "dark_green"), (1.1999, "light_green"), (1.0, "light_green"), (0.9999, "yellow"),
     (0.8, "yellow"), (0.7999, "red"), (0.0, "red"), (float("inf"), "dark_green")],
)  # fmt: skip
def test_default_bands(ratio, colour):
    assert colour_from_ratio(ratio) == colour


def test_vector_equals_scalar_and_configurable():
    r = np.array([2.0, 1.05, 0.85, 0.1])
    assert list(colour_from_ratio(r)) == [colour_from_ratio(x) for x in r]
    assert colour_from_ratio(1.3, (1.5, 1.2, 1.0)) == "light_green"
    with pytest.raises(InvalidProfileError):
        colour_from_ratio(1.0, (0.8, 1.0, 1.2))
    with pytest.raises(InvalidProfileError):
        colour_from_ratio(-1.0)


def _orchard(area=50, urea_kg=0.0, practices=None, mature=True, surveys=()):
    p = EntityProfile(
        "o", "orchard", area_mu=area, practices=practices or {}, orchard_mature=mature
    )
    ev = [
        {
            "type": "fertilizer_applied",
            "id": "u",
            "product": "urea",
            "mass_kg": urea_kg,
            "n_frac": 0.46,
        }
    ]
    act = activity_from_series(
        {},
        ev,
        start_ms=YEAR.start_ms,
        end_ms=YEAR.end_ms,
        tree_surveys=list(surveys),
        first_data_ms=YEAR.start_ms,  # the orchard's records began before the year
    )
    return p, act


def test_label_explanation_hand_worked():
    # immature orchard, Tier 1 biomass only, 1000 kg urea
    p, act = _orchard(area=30, urea_kg=1000, mature=False)
    s = compute_statement(p, YEAR, act, FS)
    lab = orchard_label(s, FS)
    assert lab.ratio == pytest.approx(s.total_sequestration_t / s.total_emissions_t)
    assert lab.colour == colour_from_ratio(lab.ratio) and lab.colour_zh in (
        "深绿",
        "浅绿",
        "黄",
        "红",
    )
    ex = lab.explanation
    assert (
        ex["largest_sources"][0]["name"] == "upstream_fertiliser"
    )  # 460 kg N × 7.76 is the largest
    assert ex["largest_pools"][0]["name"] == "biomass"
    assert ex["emissions_t_per_mu"] == pytest.approx(s.total_emissions_t / 30)
    assert lab.to_dict()["thresholds"] == [1.2, 1.0, 0.8]


def test_what_if_practices_never_worsen_and_organic_cuts_emissions():
    p, act = _orchard(area=40, urea_kg=800)  # mature orchard: sink only from soil practices
    res = {r["practice"]: r for r in what_if_all(p, YEAR, act, FS)}
    assert set(res) == {"grass_cover", "straw_return", "organic_substitution"}
    for r in res.values():
        assert r["delta_sequestration_t"] > 0
        assert COLOURS.index(r["after"]["colour"]) <= COLOURS.index(r["before"]["colour"])
    org = res["organic_substitution"]
    assert org["delta_emissions_t"] < 0  # synthetic N replaced: upstream N and urea CO2 go
    # SOC on 40 mu = 2.667 ha × 55 × 0.72 × 0.44/20 t C/yr × 44/12 × 365/365.25 (docs/methodology.md §5b)
    assert org["delta_sequestration_t"] == pytest.approx(
        40 / 15 * 55 * 0.72 * 0.44 / 20 * 44 / 12 * 365 / 365.25
    )
    with pytest.raises(InvalidProfileError):
        what_if(p, YEAR, act, FS, "burning", 10)
    # a profile without an area and no area given: a named error, not a TypeError
    # ('>=' between None and int) from apply_practice
    factory = EntityProfile("f1", "factory")
    with pytest.raises(InvalidProfileError, match="give area_mu"):
        what_if_all(factory, YEAR, act, FS)


def test_simulated_orchards_labels_consistent_with_inputs():
    """A simulated year of 60 orchards: more fertiliser never earns a better colour, more
    practice area never a worse one, and every label matches its ratio."""
    rng = np.random.default_rng(7)
    rank = {c: i for i, c in enumerate(COLOURS)}
    seen = set()
    for _ in range(60):
        area = float(rng.uniform(20, 200))
        urea = float(rng.uniform(5, 60)) * area  # 5-60 kg urea per mu
        grass = float(rng.uniform(0, 1)) * area
        d1 = float(rng.uniform(6, 14))
        surveys = [
            {"ts": "2024-10-01", "trees": int(area * 40), "mean_trunk_diameter_cm": d1},
            {
                "ts": "2025-10-01",
                "trees": int(area * 40),
                "mean_trunk_diameter_cm": d1 + float(rng.uniform(0, 0.6)),
            },
        ]
        labels = []
        for factor in (1.0, 1.5):
            p, act = _orchard(area, urea * factor, {"grass_cover": grass}, surveys=surveys)
            lab = orchard_label(compute_statement(p, YEAR, act, FS), FS)
            assert lab.colour == colour_from_ratio(lab.ratio)
            labels.append(rank[lab.colour])
            seen.add(lab.colour)
        assert labels[1] >= labels[0]
        p, act = _orchard(area, urea, {"grass_cover": area}, surveys=surveys)
        more_practice = orchard_label(compute_statement(p, YEAR, act, FS), FS)
        assert rank[more_practice.colour] <= labels[0]
    assert len(seen) >= 3  # the simulated inputs span the colour range


def test_orchard_without_any_data_is_unrated():
    p = EntityProfile("o", "orchard", area_mu=10, orchard_mature=True)
    act = activity_from_series({}, [], start_ms=YEAR.start_ms, end_ms=YEAR.end_ms)
    lab = orchard_label(compute_statement(p, YEAR, act, FS), FS)
    assert (lab.colour, lab.colour_zh) == ("unrated", "未评级")
    assert lab.to_dict()["ratio"] is None


# --- issue 9: precision at a bound, coverage gate, one net sign ----------------------------
def _statement(seq_t, em_t, coverage=1.0):
    from accounting.inventory import Line
    from accounting.statements import Statement

    lines = [
        Line("emission", "fertiliser_n2o_direct", 1, 0.0, "kg N", [], em_t),
        Line("removal", "biomass", None, 0.0, "t CO2/yr", [], seq_t, "stock difference"),
    ]
    return Statement("o", "orchard", YEAR, lines, {}, {}, coverage, {}, area_mu=10.0)


def test_ratio_exactly_at_a_bound_by_its_inputs_gets_the_upper_colour():
    # the stock difference of two ~60 t stocks: 61.3 − 60.1 = 1.1999999999999957 in binary
    # floating point, against 1.0 t emitted: R is 1.2 by its inputs, so dark green (≥ 1.2)
    seq = 61.3 - 60.1
    assert seq / 1.0 < 1.2  # the floating-point trap the rounding guards against
    assert orchard_label(_statement(seq, 1.0), FS).colour == "dark_green"
    assert colour_from_ratio(0.8 - 1e-12) == "yellow"
    assert colour_from_ratio(1.2 - 1e-5) == "light_green"  # a real shortfall stays below


@pytest.mark.parametrize(
    ("coverage", "colour", "reason"),
    [(1.0, "dark_green", None), (0.9, "dark_green", None), (0.8999, "unrated", "coverage.low"),
     (0.077, "unrated", "coverage.low"), (None, "unrated", "coverage.unknown")],
)  # fmt: skip
def test_label_only_on_enough_data(coverage, colour, reason):
    lab = orchard_label(_statement(3.0, 1.0, coverage), FS)
    assert lab.colour == colour
    unrated = lab.explanation["unrated"]
    if reason is None:
        assert unrated is None
    else:
        assert lab.colour_zh == "未评级" and np.isnan(lab.ratio)
        assert unrated["reason"] == reason and unrated["min_coverage"] == 0.9
        if coverage is not None:  # what is missing: days of data up to 90 % of 365 days
            assert unrated["missing_days"] == pytest.approx((0.9 - coverage) * 365)


def test_coverage_threshold_is_configurable():
    s = _statement(3.0, 1.0, 0.8)
    assert orchard_label(s, FS).colour == "unrated"
    assert orchard_label(s, FS, min_coverage=0.75).colour == "dark_green"
    with pytest.raises(InvalidProfileError):
        orchard_label(s, FS, min_coverage=1.5)


def test_net_is_removals_minus_emissions_everywhere():
    s = _statement(3.0, 1.0)
    lab = orchard_label(s, FS)
    assert s.net_t == pytest.approx(2.0) and s.to_dict()["net_t"] == pytest.approx(2.0)
    assert lab.explanation["net_t"] == pytest.approx(2.0)
    assert lab.explanation["net_t_per_mu"] == pytest.approx(0.2)
    assert "net_balance_t" not in s.to_dict() and "net_balance_t" not in lab.explanation
