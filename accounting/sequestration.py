"""Sequestration (removals): orchard biomass, soil organic carbon, forest plots.

Removals are returned as positive numbers [t CO2/yr]; statements pro-rate annual rates over
the period (``rate × days / 365.25``).
"""

from __future__ import annotations

import numpy as np

from accounting.units import C_TO_CO2, Numeric

#: Mapping of Quzhou orchard techniques onto IPCC input levels F_I [G] (docs/methodology.md §5b).
#: The starting state of an orchard is "medium" input with full tillage.
PRACTICE_INPUT_LEVEL = {
    "grass_cover": "high",  # 生草栽培
    "straw_return": "high",  # 秸秆还田
    "organic_substitution": "high_manure",  # 有机肥替代化肥
}
BASE_INPUT_LEVEL = "medium"
BASE_MANAGEMENT = "full"


def tree_agb_allometric(diameter_cm: Numeric, ln_a: Numeric, b: Numeric) -> Numeric:
    """Above-ground dry biomass of one tree from its trunk diameter (power law).

    ``AGB = exp(ln_a + b × ln D)``

    Parameters
    ----------
    diameter_cm : numeric
        Trunk diameter [cm].
    ln_a : numeric
        Intercept [ln kg]; Brown (1997) moist tropical broadleaf −2.134.
    b : numeric
        Exponent [-]; Brown (1997) 2.530.

    Returns
    -------
    numeric
        [kg d.m. per tree]; D = 12 cm gives 63.6 kg with Brown's coefficients.

    References
    ----------
    Brown, S. (1997) Estimating biomass and biomass change of tropical forests. FAO Forestry
    Paper 134. Applying it to citrus is a proposed default [G]: replace with local allometry.
    """
    return np.exp(ln_a + np.multiply(b, np.log(diameter_cm)))


def tree_carbon(agb_t: Numeric, root_shoot: Numeric, carbon_fraction: Numeric) -> Numeric:
    """Carbon in trees from above-ground biomass.

    ``C = AGB × (1 + R) × CF``

    Parameters
    ----------
    agb_t : numeric
        Above-ground biomass [t d.m.].
    root_shoot : numeric
        Root:shoot ratio R [-]; 0.25 proposed for citrus [G].
    carbon_fraction : numeric
        CF [t C/t d.m.]; 0.47 (IPCC 2006 Vol. 4 Table 4.3).

    Returns
    -------
    numeric
        [t C]
    """
    return np.multiply(agb_t, 1.0 + np.asarray(root_shoot)) * np.asarray(carbon_fraction)


def stock_difference_removal(stock_t1_c: Numeric, stock_t2_c: Numeric, years: Numeric) -> Numeric:
    """Annual removal by the stock-difference method.

    ``ΔC = (C_t2 − C_t1) / (t2 − t1) × 44/12``

    Parameters
    ----------
    stock_t1_c, stock_t2_c : numeric
        Carbon stocks at the two inventories [t C].
    years : numeric
        Time between inventories [yr], > 0.

    Returns
    -------
    numeric
        [t CO2/yr]; negative means a loss.

    References
    ----------
    IPCC 2006 GL Vol. 4 eq. 2.8; CCER-14-001-V01 造林碳汇 (docs/methodology.md §6).
    """
    return np.subtract(stock_t2_c, stock_t1_c) / np.asarray(years, dtype=float) * C_TO_CO2


def tier1_biomass_removal(area_ha: Numeric, rate_t_c_per_ha_yr: Numeric) -> Numeric:
    """Tier 1 biomass accumulation of perennial woody crops.

    ``ΔC = A × G × 44/12``

    Parameters
    ----------
    area_ha : numeric
        Growing (not yet mature) orchard area [ha].
    rate_t_c_per_ha_yr : numeric
        [t C/ha/yr]; temperate 2.1 (IPCC 2006 Vol. 4 Table 5.1).

    Returns
    -------
    numeric
        [t CO2/yr]
    """
    return np.multiply(area_ha, rate_t_c_per_ha_yr) * C_TO_CO2


def soc_stock(soc_ref: Numeric, f_lu: Numeric, f_mg: Numeric, f_i: Numeric) -> Numeric:
    """Tier 1 soil organic carbon stock (0-30 cm), IPCC 2006 Vol. 4 eq. 2.25.

    ``SOC = SOC_ref × F_LU × F_MG × F_I``

    Parameters
    ----------
    soc_ref : numeric
        Reference stock [t C/ha]; warm-temperate moist LAC 55 (2019R) or 63 (2006).
    f_lu, f_mg, f_i : numeric
        Stock-change factors for land use, management and input [-].

    Returns
    -------
    numeric
        [t C/ha]
    """
    return np.asarray(soc_ref) * f_lu * f_mg * f_i


def soc_change_removal(
    area_ha: Numeric,
    soc_ref: Numeric,
    f_lu: Numeric,
    f_mg_old: Numeric,
    f_i_old: Numeric,
    f_mg_new: Numeric,
    f_i_new: Numeric,
    years: Numeric,
) -> Numeric:
    """Annual SOC removal after a management change (linear over the transition time).

    ``ΔSOC = A × (SOC_new − SOC_old) / D × 44/12``

    Parameters
    ----------
    area_ha : numeric
        Area under the new practice [ha].
    soc_ref, f_lu : numeric
        See :func:`soc_stock`.
    f_mg_old, f_i_old, f_mg_new, f_i_new : numeric
        Management and input factors before and after [-].
    years : numeric
        Transition time D [yr]; IPCC default 20.

    Returns
    -------
    numeric
        [t CO2/yr]. Worked example (docs/methodology.md §5): LAC 55 t C/ha, F_LU 1, medium → high
        with manure (1.00 → 1.44) gives 55 × 0.44 / 20 = 1.21 t C/ha/yr.
    """
    old = soc_stock(soc_ref, f_lu, f_mg_old, f_i_old)
    new = soc_stock(soc_ref, f_lu, f_mg_new, f_i_new)
    return np.multiply(area_ha, new - old) / np.asarray(years, dtype=float) * C_TO_CO2


def forest_carbon_stock(
    volume_m3: Numeric,
    wood_density: Numeric,
    bef: Numeric,
    root_shoot: Numeric,
    carbon_fraction: Numeric,
) -> Numeric:
    """Tree carbon of a forest stratum from stem volume (CCER-14-001 / AR-CM-001).

    ``C = V × D × BEF × (1 + R) × CF``

    Parameters
    ----------
    volume_m3 : numeric
        Stem volume [m³] (per-ha volume × area).
    wood_density : numeric
        Basic wood density D [t d.m./m³]; Chinese fir 0.307.
    bef : numeric
        Biomass expansion factor stem → above ground [-]; Chinese fir 1.634.
    root_shoot : numeric
        R [-]; Chinese fir 0.246.
    carbon_fraction : numeric
        CF [t C/t d.m.]; Chinese fir 0.520.

    Returns
    -------
    numeric
        [t C]

    References
    ----------
    《温室气体自愿减排项目方法学 造林碳汇》CCER-14-001-V01 (MEE 2023); LY/T 2253 species
    parameters (docs/methodology.md §6).
    """
    return (
        np.asarray(volume_m3)
        * wood_density
        * bef
        * (1.0 + np.asarray(root_shoot))
        * carbon_fraction
    )
