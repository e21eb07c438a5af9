"""Emission calculations: electricity, fuels, heat and steam, soil N2O, urea, lime, inputs.

Every function takes plain numbers or numpy arrays (broadcast) and returns the same shape;
factors are parameters (read them from a :class:`accounting.factors.FactorSet`).
"""

from __future__ import annotations

import numpy as np

from accounting.units import C_TO_CO2, N2ON_TO_N2O, Numeric


def electricity_co2(energy_kwh: Numeric, grid_ef: Numeric) -> Numeric:
    """Scope 2 CO2 of purchased electricity (location-based).

    ``CO2 = E × EF_grid / 1000``

    Parameters
    ----------
    energy_kwh : numeric
        Electricity taken from the grid [kWh].
    grid_ef : numeric
        Grid emission factor [kg CO2/kWh], e.g. 0.5306 (national average 2023).

    Returns
    -------
    numeric
        [t CO2]

    References
    ----------
    MEE/NBS electricity CO2 emission factors 2021-2023 (docs/methodology.md §2).
    """
    return np.multiply(energy_kwh, grid_ef) / 1000.0


def fuel_co2_factor(
    ncv: Numeric,
    carbon_content: Numeric | None = None,
    oxidation: Numeric = 1.0,
    co2_ef: Numeric | None = None,
) -> Numeric:
    """CO2 emission factor of a fuel per unit of activity.

    Chinese guideline form: ``EF = NCV × CC × 10⁻³ × OF × 44/12``;
    IPCC form: ``EF = NCV × EF_CO2 × 10⁻⁶ × OF`` (OF = 1 in IPCC 2006).

    Parameters
    ----------
    ncv : numeric
        Net calorific value [GJ/t] (or [GJ per activity unit]).
    carbon_content : numeric, optional
        Carbon content per energy [t C/TJ] (CN form).
    oxidation : numeric
        Oxidation fraction [-].
    co2_ef : numeric, optional
        CO2 per energy [kg CO2/TJ] (IPCC form); used when given.

    Returns
    -------
    numeric
        [t CO2/t] (or [t CO2 per activity unit]). Diesel, CN basis:
        42.652 × 20.20 × 10⁻³ × 0.98 × 44/12 = 3.096 t CO2/t.

    References
    ----------
    GB/T 32150-2015 Annex A; IPCC 2006 GL Vol. 2 Ch. 1 Tables 1.2 and 1.4 (docs/methodology.md §3).
    """
    if co2_ef is not None:
        return np.multiply(ncv, co2_ef) * 1e-6 * np.asarray(oxidation)
    if carbon_content is None:
        raise TypeError("give carbon_content (CN form) or co2_ef (IPCC form)")
    return np.multiply(ncv, carbon_content) * 1e-3 * np.asarray(oxidation) * C_TO_CO2


def steam_heat_gj(
    steam_t: Numeric, enthalpy_kj_per_kg: Numeric, feedwater_kj_per_kg: Numeric
) -> Numeric:
    """Heat content of purchased steam.

    ``Q = m × (h − h_fw) × 10⁻³``

    Parameters
    ----------
    steam_t : numeric
        Steam mass [t].
    enthalpy_kj_per_kg : numeric
        Steam enthalpy [kJ/kg] (saturated steam ~1 MPa: 2778).
    feedwater_kj_per_kg : numeric
        Feed-water enthalpy [kJ/kg] (water at 20 °C: 83.74).

    Returns
    -------
    numeric
        [GJ]; 1 t at 2778 kJ/kg gives 2.694 GJ.

    References
    ----------
    MEE industry GHG accounting guidelines, purchased heat (docs/methodology.md §2).
    """
    return np.multiply(steam_t, np.subtract(enthalpy_kj_per_kg, feedwater_kj_per_kg)) * 1e-3


def heat_co2(heat_gj: Numeric, heat_ef: Numeric) -> Numeric:
    """CO2 of purchased heat ``CO2 = Q × EF_heat``.

    Parameters
    ----------
    heat_gj : numeric
        Heat [GJ].
    heat_ef : numeric
        [t CO2/GJ], default 0.11 in the MEE guidelines.

    Returns
    -------
    numeric
        [t CO2]
    """
    return np.multiply(heat_gj, heat_ef)


def n2o_direct(
    n_synthetic_kg: Numeric, n_organic_kg: Numeric, ef1_synthetic: Numeric, ef1_organic: Numeric
) -> Numeric:
    """Direct N2O from managed soils (IPCC 2019R eq. 11.1, disaggregated EF1).

    ``N2O = (F_SN × EF1_SN + F_ON × EF1_ON) × 44/28``

    Parameters
    ----------
    n_synthetic_kg, n_organic_kg : numeric
        N applied in synthetic / organic fertiliser [kg N].
    ef1_synthetic, ef1_organic : numeric
        [kg N2O-N/kg N]; wet climate 0.016 / 0.006.

    Returns
    -------
    numeric
        [kg N2O]

    References
    ----------
    IPCC 2019 Refinement Vol. 4 Ch. 11 eq. 11.1, Table 11.1.
    """
    return (
        np.multiply(n_synthetic_kg, ef1_synthetic) + np.multiply(n_organic_kg, ef1_organic)
    ) * N2ON_TO_N2O


def n2o_volatilisation(
    n_synthetic_kg: Numeric,
    n_organic_kg: Numeric,
    frac_gasf: Numeric,
    frac_gasm: Numeric,
    ef4: Numeric,
) -> Numeric:
    """Indirect N2O from atmospheric deposition of volatilised N (IPCC 2019R eq. 11.9).

    ``N2O = (F_SN × Frac_GASF + F_ON × Frac_GASM) × EF4 × 44/28``

    Parameters
    ----------
    n_synthetic_kg, n_organic_kg : numeric
        [kg N]
    frac_gasf, frac_gasm : numeric
        Volatilised fractions [kg N/kg N]; 0.11 (urea 0.15) / 0.21.
    ef4 : numeric
        [kg N2O-N/kg N volatilised]; wet climate 0.014.

    Returns
    -------
    numeric
        [kg N2O]
    """
    vol = np.multiply(n_synthetic_kg, frac_gasf) + np.multiply(n_organic_kg, frac_gasm)
    return vol * np.asarray(ef4) * N2ON_TO_N2O


def n2o_leaching(n_total_kg: Numeric, frac_leach: Numeric, ef5: Numeric) -> Numeric:
    """Indirect N2O from leaching and runoff (IPCC 2019R eq. 11.10).

    ``N2O = F_N × Frac_LEACH × EF5 × 44/28``

    Parameters
    ----------
    n_total_kg : numeric
        Synthetic + organic N applied [kg N].
    frac_leach : numeric
        [kg N/kg N]; 0.24 in wet climates.
    ef5 : numeric
        [kg N2O-N/kg N leached]; 0.011.

    Returns
    -------
    numeric
        [kg N2O]
    """
    return np.multiply(n_total_kg, frac_leach) * np.asarray(ef5) * N2ON_TO_N2O


def urea_co2(urea_t: Numeric, urea_carbon: Numeric) -> Numeric:
    """CO2 from urea hydrolysis (IPCC 2006 Vol. 4 eq. 11.13).

    ``CO2 = M × EF × 44/12``

    Parameters
    ----------
    urea_t : numeric
        Urea applied [t].
    urea_carbon : numeric
        [t C/t urea]; 0.20.

    Returns
    -------
    numeric
        [t CO2]; 0.733 t CO2 per t urea.
    """
    return np.multiply(urea_t, urea_carbon) * C_TO_CO2


def lime_co2(lime_t: Numeric, lime_carbon: Numeric) -> Numeric:
    """CO2 from liming (IPCC 2006 Vol. 4 eq. 11.12): ``CO2 = M × EF × 44/12``.

    Parameters
    ----------
    lime_t : numeric
        Limestone or dolomite applied [t].
    lime_carbon : numeric
        [t C/t]; limestone 0.12, dolomite 0.13.

    Returns
    -------
    numeric
        [t CO2]
    """
    return np.multiply(lime_t, lime_carbon) * C_TO_CO2


def carbon_equivalent_to_co2e(mass: Numeric, factor_ce: Numeric) -> Numeric:
    """Embodied emissions from a carbon-equivalent factor: ``E = M × EF_CE × 44/12``.

    Parameters
    ----------
    mass : numeric
        Input mass [t] (or [kg]).
    factor_ce : numeric
        [t CE/t] (or [kg CE/kg]); e.g. N fertiliser 2.116 t CE/t N (陈舜 et al. 2015).

    Returns
    -------
    numeric
        [t CO2e] (or [kg CO2e]); 2.116 t CE/t N = 7.76 t CO2e/t N.
    """
    return np.multiply(mass, factor_ce) * C_TO_CO2


def co2e(mass_kg: Numeric, gwp: Numeric) -> Numeric:
    """GWP-weighted mass ``CO2e = m × GWP`` [kg CO2e] from [kg gas] and [kg CO2e/kg]."""
    return np.multiply(mass_kg, gwp)
