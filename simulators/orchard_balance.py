"""The carbon balance an orchard profile is designed for, under the defaults of docs/methodology.md.

This is the simulator's own check that the demo orchards differ enough to earn all four
colours; the accounting engine computes the official figures and may differ in method.

Emissions [kg CO2e/yr] (docs: docs/methodology.md §4, §8):

    E = N_syn * (8.66 + 7.76)          IPCC 2019 Refinement Vol. 4 Ch. 11, wet climate,
                                       AR6 GWP (direct + volatilisation + leaching);
                                       upstream 7.76 t CO2e/t N (陈舜 et al. 2015)
      + N_org * 4.97                   same, "other N inputs" (EF1 0.006)
      + M_org * 0.1                    organic fertiliser production [G] 0.1 t CO2e/t
      + P2O5 * 2.33 + K2O * 0.66       upstream, 陈舜 et al. 2015
      + diesel_L * 2.60                MEE guideline defaults (3.096 t/t, 0.84 kg/L)
      + pesticide_kg * 18.09           4.9341 kg C/kg (West & Marland 2002) * 44/12
      + pump_kWh * 0.5306              national grid 2023 (MEE)

Sequestration [kg CO2/yr]:

    S = dB * (1 + 0.25) * 0.47 * 44/12            biomass gain dB [kg d.m.], R = 0.25 [G],
                                                  CF = 0.47 (IPCC 2006 Vol. 4 Table 4.3)
      + A_ha * 55 * 0.72 * (F_I - 1) / 20 * 44/12 * 1000
                                                  IPCC 2019R Tier 1 SOC, LAC soil, perennial
                                                  crop; F_I 1.44 with organic substitution,
                                                  1.11 with grass cover or straw return

Label from R = S / E: >= 1.2 dark_green, >= 1.0 light_green, >= 0.8 yellow, else red.
"""

from __future__ import annotations

from typing import NamedTuple

from simulators.orchard import OrchardSpec, orchard_year_totals

MU_PER_HA = 15.0
FACTORS = {
    "synthetic_n": 8.66 + 7.76,
    "organic_n": 4.97,
    "organic_product": 0.1,
    "p2o5": 2.33,
    "k2o": 0.66,
    "diesel_l": 2.60,
    "pesticide": 4.9341 * 44 / 12,
    "grid_kwh": 0.5306,
}
LABEL_BANDS = ((1.2, "dark_green"), (1.0, "light_green"), (0.8, "yellow"))


class OrchardBalance(NamedTuple):
    """Designed yearly balance [t CO2e/yr], ratio R [-] and label."""

    emissions_t: float
    sequestration_t: float
    ratio: float
    label: str


def label_for(ratio: float) -> str:
    """Default orchard colour for R = sequestration / emissions (docs/methodology.md §1.3 [G])."""
    for low, label in LABEL_BANDS:
        if ratio >= low:
            return label
    return "red"


def soc_factor(practices: tuple[str, ...]) -> float:
    """IPCC input factor F_I for the orchard's practices (2019R, warm-temperate moist)."""
    if "organic_substitution" in practices:
        return 1.44
    if "grass_cover" in practices or "straw_return" in practices:
        return 1.11
    return 1.0


def expected_balance(spec: OrchardSpec, seed: int, year: int) -> OrchardBalance:
    """The balance of ``spec`` in ``year`` from its simulated records (see module docstring)."""
    t = orchard_year_totals(spec, seed, year)
    f = FACTORS
    e_kg = (
        t["synthetic_n_kg"] * f["synthetic_n"]
        + t["organic_n_kg"] * f["organic_n"]
        + t["organic_product_kg"] * f["organic_product"]
        + t["p2o5_kg"] * f["p2o5"]
        + t["k2o_kg"] * f["k2o"]
        + t["diesel_l"] * f["diesel_l"]
        + t["pesticide_kg"] * f["pesticide"]
        + t["pump_kwh"] * f["grid_kwh"]
    )
    biomass = t["biomass_gain_t"] * 1000 * 1.25 * 0.47 * 44 / 12
    soc = spec.area_mu / MU_PER_HA * 55 * 0.72 * (soc_factor(spec.practices) - 1) / 20
    s_kg = biomass + soc * 44 / 12 * 1000
    ratio = s_kg / e_kg
    return OrchardBalance(e_kg / 1000, s_kg / 1000, ratio, label_for(ratio))
