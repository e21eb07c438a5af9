"""Sequestration formulas against docs/methodology.md §5/§6 worked examples."""

import numpy as np
import pytest

from accounting import sequestration as sq
from accounting.factors import load_factor_set
from accounting.units import C_TO_CO2

FS = load_factor_set("cn-mee-2023")


def _soc_rate_t_c(soc_ref, f_i_new, f_lu=1.0):
    # per ha and year, returned in t C (divide the CO2 result back)
    return sq.soc_change_removal(1.0, soc_ref, f_lu, 1.0, 1.0, 1.0, f_i_new, 20) / C_TO_CO2


def test_soc_worked_example_organic():
    # docs/methodology.md §5b worked example: medium input -> organic fertiliser (F_I 1.44),
    # LAC 55 (2019R) .. 63 (2006) t C/ha, 20 yr: +1.2 .. 1.4 t C/ha/yr
    assert _soc_rate_t_c(55, FS.value("soil.f_i.high_manure")) == pytest.approx(1.21, abs=1e-9)
    assert _soc_rate_t_c(63, FS.value("soil.f_i.high_manure")) == pytest.approx(1.386, abs=1e-9)


def test_soc_worked_example_grass():
    # docs/methodology.md §5b: grass cover (F_I high without manure 1.11): +0.30 .. 0.35 t C/ha/yr
    assert _soc_rate_t_c(55, FS.value("soil.f_i.high")) == pytest.approx(0.3025, abs=1e-9)
    assert _soc_rate_t_c(63, FS.value("soil.f_i.high")) == pytest.approx(0.3465, abs=1e-9)


def test_default_set_pairs_soc_ref_and_f_lu_from_one_edition():
    # IPCC 2019R Table 5.5 warm temperate moist: LAC 55 t C/ha, perennial/tree crop F_LU 0.72
    assert (FS.value("soil.soc_ref"), FS.value("soil.f_lu")) == (55.0, 0.72)
    # IPCC 2006 pair kept for comparison: LAC 63, F_LU 1.00
    assert (FS.value("soil.soc_ref.ipcc2006"), FS.value("soil.f_lu.ipcc2006")) == (63.0, 1.00)
    # grass cover with the default pair: 55 × 0.72 × 0.11 / 20 = 0.2178 t C/ha/yr
    rate = _soc_rate_t_c(FS.value("soil.soc_ref"), FS.value("soil.f_i.high"), FS.value("soil.f_lu"))
    assert rate == pytest.approx(0.2178, abs=1e-9)


def test_soc_stock():
    # IPCC 2006 eq. 2.25: 55 × 0.72 × 1.05 × 1.11 (2019R perennial, reduced till, high input)
    assert sq.soc_stock(55, 0.72, 1.05, 1.11) == pytest.approx(55 * 0.72 * 1.05 * 1.11)


def test_tier1_biomass():
    # IPCC 2006 Table 5.1 temperate 2.1 t C/ha/yr on 1 ha = 7.7 t CO2/yr
    assert sq.tier1_biomass_removal(1.0, FS.value("orchard.tier1_biomass_rate")) == pytest.approx(
        7.7, abs=1e-9
    )


def test_tree_carbon_and_allometry():
    # C = AGB × (1 + R) × CF = 1 t × 1.25 × 0.47 = 0.5875 t C
    assert sq.tree_carbon(
        1.0, FS.value("orchard.root_shoot"), FS.value("orchard.carbon_fraction")
    ) == pytest.approx(0.5875)
    # Brown (1997): exp(-2.134 + 2.530 ln 12) = 63.6 kg (hand-computed: 0.11837 × 537.4)
    agb = sq.tree_agb_allometric(
        12.0, FS.value("orchard.allometry.ln_a"), FS.value("orchard.allometry.b")
    )
    assert agb == pytest.approx(np.exp(-2.134) * 12.0**2.53, rel=1e-12)
    assert agb == pytest.approx(63.6, abs=0.05)


def test_stock_difference():
    # (C2 - C1)/(t2 - t1) × 44/12: 100 -> 110 t C in 2 yr = 18.33 t CO2/yr
    assert sq.stock_difference_removal(100, 110, 2) == pytest.approx(5 * 44 / 12)


def test_forest_chinese_fir():
    # CCER-14-001 style: 100 m3 × 0.307 × 1.634 × 1.246 × 0.520 = 32.50 t C (hand-worked)
    keys = ["wood_density", "bef", "root_shoot", "carbon_fraction"]
    params = [FS.value(f"forest.chinese_fir.{k}") for k in keys]
    assert sq.forest_carbon_stock(100.0, *params) == pytest.approx(
        100 * 0.307 * 1.634 * 1.246 * 0.520
    )
    assert sq.forest_carbon_stock(100.0, *params) == pytest.approx(32.50, abs=0.01)


def test_vector_equals_scalar():
    d = np.array([5.0, 12.0, 20.0])
    v = sq.tree_agb_allometric(d, -2.134, 2.53)
    assert np.array_equal(v, [sq.tree_agb_allometric(x, -2.134, 2.53) for x in d])
    a = np.array([0.0, 2.0, 10.0])
    assert np.array_equal(
        sq.tier1_biomass_removal(a, 2.1), [sq.tier1_biomass_removal(x, 2.1) for x in a]
    )
