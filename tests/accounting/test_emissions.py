"""Emission formulas against docs/methodology.md worked values and the published factors."""

import numpy as np
import pytest

from accounting import emissions as em
from accounting.factors import load_factor_set
from accounting.units import N2ON_TO_N2O

FS = load_factor_set("cn-mee-2023")
IPCC = load_factor_set("ipcc-2006")


def _fuel(fs, fuel):
    p = f"fuel.{fuel}"
    if fs.has(f"{p}.co2_ef"):
        return em.fuel_co2_factor(
            fs.value(f"{p}.ncv"),
            oxidation=fs.value(f"{p}.oxidation"),
            co2_ef=fs.value(f"{p}.co2_ef"),
        )
    return em.fuel_co2_factor(
        fs.value(f"{p}.ncv"), fs.value(f"{p}.carbon_content"), fs.value(f"{p}.oxidation")
    )


@pytest.mark.parametrize(
    ("fuel", "expected", "tol"),
    [
        # docs/methodology.md §3, CN basis (GB/T 32150-2015 Annex A): t CO2/t
        ("diesel", 3.096, 5e-4),
        ("gasoline", 2.925, 5e-4),
        ("lpg", 3.101, 5e-4),
        ("bituminous_coal", 1.747, 5e-4),
        ("anthracite", 2.323, 5e-4),
        # natural gas 2.162 kg/Nm3 -> 21.62 t per 10^4 Nm3
        ("natural_gas", 21.62, 5e-3),
    ],
)
def test_cn_fuel_factors(fuel, expected, tol):
    assert _fuel(FS, fuel) == pytest.approx(expected, abs=tol)


@pytest.mark.parametrize(
    ("fuel", "expected"),
    # docs/methodology.md §3, IPCC 2006 basis: diesel 3.186, gasoline 3.070, LPG 2.985, bituminous 2.441, anthracite 2.625 t/t
    [
        ("diesel", 3.186),
        ("gasoline", 3.070),
        ("lpg", 2.985),
        ("bituminous_coal", 2.441),
        ("anthracite", 2.625),
    ],
)
def test_ipcc_fuel_factors(fuel, expected):
    assert _fuel(IPCC, fuel) == pytest.approx(expected, abs=1e-3)


def test_diesel_per_litre():
    # docs/methodology.md §3: 3.096 t/t ≈ 2.60 kg/L at density 0.84
    kg_per_l = _fuel(FS, "diesel") * FS.value("fuel.diesel.density")
    assert kg_per_l == pytest.approx(2.60, abs=0.005)


def test_steam_worked_example():
    # docs/methodology.md §2: 2778 kJ/kg saturated steam -> 2.69 GJ/t -> ≈0.30 t CO2/t steam at 0.11 t/GJ
    gj = em.steam_heat_gj(1.0, FS.value("steam.enthalpy"), FS.value("steam.feedwater_enthalpy"))
    assert gj == pytest.approx(2.694, abs=1e-3)
    assert em.heat_co2(gj, FS.value("heat.purchased")) == pytest.approx(0.30, abs=0.005)


def test_urea_co2():
    # IPCC 2006 Vol.4 eq. 11.13: 0.20 t C/t urea = 0.733 t CO2/t urea
    assert em.urea_co2(1.0, FS.value("urea.carbon")) == pytest.approx(0.733, abs=5e-4)


def test_lime_co2():
    # IPCC 2006 Vol.4 eq. 11.12: limestone 0.12 t C/t -> 0.44 t CO2/t
    assert em.lime_co2(1.0, FS.value("lime.limestone.carbon")) == pytest.approx(0.44, abs=1e-9)


def _n2o_per_kg_n(synthetic: bool, frac_gasf_key="n2o.frac_gasf"):
    f = FS.value
    if synthetic:
        d = em.n2o_direct(1.0, 0.0, f("n2o.ef1.synthetic"), f("n2o.ef1.organic"))
        v = em.n2o_volatilisation(1.0, 0.0, f(frac_gasf_key), f("n2o.frac_gasm"), f("n2o.ef4"))
    else:
        d = em.n2o_direct(0.0, 1.0, f("n2o.ef1.synthetic"), f("n2o.ef1.organic"))
        v = em.n2o_volatilisation(0.0, 1.0, f(frac_gasf_key), f("n2o.frac_gasm"), f("n2o.ef4"))
    lch = em.n2o_leaching(1.0, f("n2o.frac_leach"), f("n2o.ef5"))
    return em.co2e(d + v + lch, f("gwp.n2o"))


def test_soil_n2o_worked_values():
    # docs/methodology.md §4.1 (IPCC 2019R wet climate, AR6 N2O 273):
    # synthetic N 8.66, urea-N 8.90, organic N 4.97 kg CO2e/kg N
    assert _n2o_per_kg_n(True) == pytest.approx(8.66, abs=0.005)
    assert _n2o_per_kg_n(True, "n2o.frac_gasf.urea") == pytest.approx(8.90, abs=0.005)
    assert _n2o_per_kg_n(False) == pytest.approx(4.97, abs=0.005)


def test_aggregated_n2o_value():
    # docs/methodology.md §4.1: aggregated factors (EF1 0.010, EF4 0.010, FracGASF 0.11, leaching) -> 5.89
    total = (
        em.n2o_direct(1, 0, 0.010, 0)
        + em.n2o_volatilisation(1, 0, 0.11, 0.21, 0.010)
        + em.n2o_leaching(1, 0.24, 0.011)
    )
    assert em.co2e(total, 273) == pytest.approx(5.89, abs=0.005)


def test_upstream_fertiliser():
    # 陈舜 et al. 2015: N 2.116 t CE = 7.76 t CO2e; P2O5 0.636 = 2.33; K2O 0.180 = 0.66
    assert em.carbon_equivalent_to_co2e(1, FS.value("upstream.n")) == pytest.approx(7.76, abs=0.005)
    assert em.carbon_equivalent_to_co2e(1, FS.value("upstream.p2o5")) == pytest.approx(
        2.33, abs=0.005
    )
    assert em.carbon_equivalent_to_co2e(1, FS.value("upstream.k2o")) == pytest.approx(
        0.66, abs=0.005
    )


def test_pesticide_generic():
    # West & Marland: 4.9341 kg C/kg ≈ 18.1 kg CO2e/kg (docs/methodology.md §4.3)
    assert em.carbon_equivalent_to_co2e(1, FS.value("pesticide.generic")) == pytest.approx(
        18.1, abs=0.05
    )


def test_electricity_hand_worked():
    # 10 000 kWh × 0.5306 kg/kWh = 5.306 t CO2
    assert em.electricity_co2(10_000, FS.value("electricity.grid")) == pytest.approx(5.306)


def test_vector_equals_scalar():
    kwh = np.array([0.0, 12.5, 1e6, 3.3])
    vec = em.electricity_co2(kwh, 0.5306)
    assert np.allclose(vec, [em.electricity_co2(float(x), 0.5306) for x in kwh], rtol=0, atol=0)
    n = np.array([1.0, 50.0, 0.0])
    o = np.array([0.0, 10.0, 7.0])
    vd = em.n2o_direct(n, o, 0.016, 0.006)
    assert np.array_equal(
        vd, [em.n2o_direct(a, b, 0.016, 0.006) for a, b in zip(n, o, strict=True)]
    )
    assert np.allclose(em.n2o_direct(n, 0, 0.016, 0.006) / N2ON_TO_N2O, n * 0.016)
    ncv = np.array([42.652, 43.070])
    cc = np.array([20.20, 18.90])
    assert np.array_equal(
        em.fuel_co2_factor(ncv, cc, 0.98),
        [em.fuel_co2_factor(a, b, 0.98) for a, b in zip(ncv, cc, strict=True)],
    )


def test_fuel_factor_needs_a_carbon_figure():
    with pytest.raises(TypeError):
        em.fuel_co2_factor(42.652)
