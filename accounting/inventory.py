"""Inventory lines: apply a factor set to activity data, one line per source or pool.

Each :class:`Line` records the activity amount, the factor keys it used and the result in
t CO2e, so a statement explains itself. Sources and scopes (GHG Protocol):

=========================  =====  ==========================================
source                     scope  what
=========================  =====  ==========================================
electricity                2      grid electricity (location-based)
onsite_pv                  2      on-site PV self-consumption (zero-carbon)
heat_steam                 2      purchased steam and heat
fuel.<name>                1      stationary / mobile combustion
process                    1      reported process CO2
fertiliser_n2o_direct      1      soil N2O, direct
fertiliser_n2o_indirect    1      soil N2O, volatilisation + leaching
urea_co2                   1      urea hydrolysis
lime_co2                   1      liming
upstream_fertiliser        3      manufacture of N, P2O5, K2O, organic fertiliser
pesticides                 3      manufacture of pesticides
=========================  =====  ==========================================

Pools (removals, positive): ``biomass`` (orchard trees), ``soil`` (SOC from practices),
``forest`` (forest plots).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from accounting import emissions as em
from accounting import sequestration as sq
from accounting.activity_data import ActivityData
from accounting.errors import InvalidEventError
from accounting.events import record_time_s
from accounting.factors import FactorSet
from accounting.profiles import EntityProfile
from accounting.units import DAYS_PER_YEAR, HA_PER_MU


@dataclass
class Line:
    """One inventory line. ``t_co2e`` is positive for emissions and for removals."""

    kind: str  # "emission" | "removal"
    source: str
    scope: int | None
    activity: float
    activity_unit: str
    factor_keys: list[str] = field(default_factory=list)
    t_co2e: float = 0.0
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _fuel_line(fs: FactorSet, fuel: str, amount: float, unit: str) -> Line:
    """Combustion line for ``amount`` of ``fuel`` in ``unit`` (l, m3 or kg)."""
    p = f"fuel.{fuel}"
    if not fs.has(f"{p}.ncv"):
        raise InvalidEventError(f"unknown fuel {fuel!r} in factor set {fs.name}")
    ncv = fs.get(f"{p}.ncv")
    keys = [f"{p}.ncv", f"{p}.oxidation"]
    if ncv.unit == "GJ/t":
        if unit == "kg":
            qty = amount / 1000.0
        else:  # l or m3 -> t via density [t/m3]
            keys.append(f"{p}.density")
            qty = amount * fs.value(f"{p}.density") * (1e-3 if unit == "l" else 1.0)
    elif ncv.unit == "GJ/10^4 Nm3":
        if unit != "m3":
            raise InvalidEventError(f"{fuel} must be given in m3, not {unit}")
        qty = amount / 1e4
    else:
        raise InvalidEventError(f"{p}.ncv has unsupported unit {ncv.unit!r}")
    if fs.has(f"{p}.co2_ef"):
        keys.append(f"{p}.co2_ef")
        ef = em.fuel_co2_factor(
            ncv.value, oxidation=fs.value(f"{p}.oxidation"), co2_ef=fs.value(f"{p}.co2_ef")
        )
    else:
        keys.append(f"{p}.carbon_content")
        ef = em.fuel_co2_factor(
            ncv.value, fs.value(f"{p}.carbon_content"), fs.value(f"{p}.oxidation")
        )
    t = float(qty * ef)
    tj = qty * ncv.value / 1000.0
    for gas in ("ch4", "n2o"):
        if fs.has(f"{p}.{gas}_ef"):
            gwp_key = "gwp.ch4.fossil" if gas == "ch4" else "gwp.n2o"
            keys += [f"{p}.{gas}_ef", gwp_key]
            t += float(em.co2e(tj * fs.value(f"{p}.{gas}_ef"), fs.value(gwp_key))) / 1000.0
    return Line("emission", f"fuel.{fuel}", 1, amount, unit, keys, t)


def emission_lines(profile: EntityProfile, act: ActivityData, fs: FactorSet) -> list[Line]:
    """All emission lines of an entity for the window of ``act``."""
    lines: list[Line] = []
    ev = act.events
    if act.electricity_kwh or profile.kind in ("factory", "line"):
        k = profile.grid_factor_key
        t = float(em.electricity_co2(act.electricity_kwh, fs.value(k)))
        lines.append(Line("emission", "electricity", 2, act.electricity_kwh, "kWh", [k], t))
    if act.pv_kwh:
        t = float(em.electricity_co2(act.pv_kwh, fs.value("electricity.onsite_pv")))
        lines.append(
            Line("emission", "onsite_pv", 2, act.pv_kwh, "kWh", ["electricity.onsite_pv"], t)
        )
    if act.steam_t or act.heat_gj:
        gj = float(
            em.steam_heat_gj(
                act.steam_t, fs.value("steam.enthalpy"), fs.value("steam.feedwater_enthalpy")
            )
        )
        gj += act.heat_gj
        keys = ["steam.enthalpy", "steam.feedwater_enthalpy", "heat.purchased"]
        lines.append(
            Line(
                "emission",
                "heat_steam",
                2,
                gj,
                "GJ",
                keys,
                float(em.heat_co2(gj, fs.value("heat.purchased"))),
            )
        )
    fuels: dict[tuple[str, str], float] = {}
    if act.gas_m3:
        fuels[("natural_gas", "m3")] = act.gas_m3
    if act.diesel_l:
        fuels[("diesel", "l")] = act.diesel_l
    for fuel, amounts in ev.fuels.items():
        for unit, amount in amounts.items():
            fuels[(fuel, unit)] = fuels.get((fuel, unit), 0.0) + amount
    for (fuel, unit), amount in sorted(fuels.items()):
        lines.append(_fuel_line(fs, fuel, amount, unit))
    if act.process_co2_t:
        lines.append(
            Line("emission", "process", 1, act.process_co2_t, "t CO2", [], act.process_co2_t)
        )
    lines += fertiliser_lines(act, fs)
    return [ln for ln in lines if ln.activity or ln.source == "electricity"]


def fertiliser_lines(act: ActivityData, fs: FactorSet) -> list[Line]:
    """Soil N2O, urea and lime CO2, upstream fertiliser and pesticide lines."""
    ev, out = act.events, []
    n_syn, n_org = ev.n_synthetic_kg, ev.n_organic_kg
    gwp = fs.value("gwp.n2o")
    if n_syn or n_org:
        keys = ["n2o.ef1.synthetic", "n2o.ef1.organic", "gwp.n2o"]
        kg = em.n2o_direct(n_syn, n_org, fs.value(keys[0]), fs.value(keys[1]))
        out.append(
            Line(
                "emission",
                "fertiliser_n2o_direct",
                1,
                n_syn + n_org,
                "kg N",
                keys,
                float(kg * gwp / 1000),
            )
        )
        # volatilisation: product-specific Frac_GASF where the set has one
        vol_syn, keys = (
            0.0,
            ["n2o.frac_gasf", "n2o.frac_gasm", "n2o.ef4", "n2o.frac_leach", "n2o.ef5", "gwp.n2o"],
        )
        for product, n in ev.n_synthetic_by_product_kg.items():
            k = (
                f"n2o.frac_gasf.{product}"
                if fs.has(f"n2o.frac_gasf.{product}")
                else "n2o.frac_gasf"
            )
            keys += [k] if k not in keys else []
            vol_syn += n * fs.value(k)
        rest = max(n_syn - sum(ev.n_synthetic_by_product_kg.values()), 0.0)
        vol_syn += rest * fs.value("n2o.frac_gasf")
        kg = em.n2o_volatilisation(
            vol_syn, n_org, 1.0, fs.value("n2o.frac_gasm"), fs.value("n2o.ef4")
        )
        kg += em.n2o_leaching(n_syn + n_org, fs.value("n2o.frac_leach"), fs.value("n2o.ef5"))
        out.append(
            Line(
                "emission",
                "fertiliser_n2o_indirect",
                1,
                n_syn + n_org,
                "kg N",
                keys,
                float(kg * gwp / 1000),
            )
        )
    if ev.urea_kg:
        t = float(em.urea_co2(ev.urea_kg / 1000, fs.value("urea.carbon")))
        out.append(Line("emission", "urea_co2", 1, ev.urea_kg, "kg urea", ["urea.carbon"], t))
    for material, mass_t in ev.lime_t.items():
        k = f"lime.{material}.carbon"
        out.append(
            Line(
                "emission", "lime_co2", 1, mass_t, "t", [k], float(em.lime_co2(mass_t, fs.value(k)))
            )
        )
    up, keys = 0.0, []
    for nutrient, kg in (("n", n_syn), ("p2o5", ev.p2o5_kg), ("k2o", ev.k2o_kg)):
        if kg:
            keys.append(f"upstream.{nutrient}")
            up += float(em.carbon_equivalent_to_co2e(kg / 1000, fs.value(f"upstream.{nutrient}")))
    if ev.organic_product_kg:
        keys.append("upstream.organic_fertiliser")
        up += ev.organic_product_kg / 1000 * fs.value("upstream.organic_fertiliser")
    if keys:
        mass = n_syn + ev.p2o5_kg + ev.k2o_kg + ev.organic_product_kg
        out.append(
            Line("emission", "upstream_fertiliser", 3, mass, "kg nutrient/product", keys, up)
        )
    pest, keys, mass = 0.0, [], 0.0
    for cls, kg in ev.pesticides_kg.items():
        k = f"pesticide.{cls}" if fs.has(f"pesticide.{cls}") else "pesticide.generic"
        keys.append(k)
        mass += kg
        pest += float(em.carbon_equivalent_to_co2e(kg, fs.value(k))) / 1000
    if keys:
        out.append(Line("emission", "pesticides", 3, mass, "kg", sorted(set(keys)), pest))
    return out


def _orchard_stock_t_c(s: dict, fs: FactorSet) -> float | None:
    """Tree carbon of an orchard survey [t C]; None if the survey holds no stock figure."""
    if "biomass_t" in s:
        agb = float(s["biomass_t"])
    elif "trees" in s and "mean_trunk_diameter_cm" in s:
        per_tree_kg = sq.tree_agb_allometric(
            float(s["mean_trunk_diameter_cm"]),
            fs.value("orchard.allometry.ln_a"),
            fs.value("orchard.allometry.b"),
        )
        agb = float(s["trees"]) * float(per_tree_kg) / 1000.0
    else:
        return None
    return float(
        sq.tree_carbon(agb, fs.value("orchard.root_shoot"), fs.value("orchard.carbon_fraction"))
    )


def _forest_stock_t_c(s: dict, fs: FactorSet, species: str | None) -> float | None:
    """Tree carbon of a forest inventory [t C] from ``volume_m3`` (V × D × BEF × (1+R) × CF)
    or, without volume, from above-ground ``biomass_t`` (AGB × (1+R) × CF)."""
    p = f"forest.{s.get('species') or species}"
    if not fs.has(f"{p}.root_shoot"):
        raise InvalidEventError(
            f"no forest parameters for species {p[7:]!r} in factor set {fs.name}"
        )
    r, cf = fs.value(f"{p}.root_shoot"), fs.value(f"{p}.carbon_fraction")
    if "volume_m3" in s:
        v = float(s["volume_m3"])
        return float(
            sq.forest_carbon_stock(v, fs.value(f"{p}.wood_density"), fs.value(f"{p}.bef"), r, cf)
        )
    if "biomass_t" in s:
        return float(sq.tree_carbon(float(s["biomass_t"]), r, cf))
    return None


#: a survey pair this far apart (or more) is preferred, so that seasonal growth cancels [d]
MIN_PAIR_DAYS = 330.0


def stock_pair(records: list[dict], stock) -> tuple[dict, dict, float, float, float] | None:
    """Pick the two inventories for a stock difference.

    ``b`` = the latest record with a stock; ``a`` = the latest one at least
    :data:`MIN_PAIR_DAYS` before ``b`` (a whole growth cycle), else the earliest one. Records
    at the same time keep the last. Returns ``(a, b, C_a, C_b, years)`` or None.
    """
    dated = {}
    for rec in records:
        t = record_time_s(rec)
        c = stock(rec) if t is not None else None
        if c is not None:
            dated[t] = (rec, c)
    if len(dated) < 2:
        return None
    times = sorted(dated)
    tb = times[-1]
    older = [t for t in times[:-1] if tb - t >= MIN_PAIR_DAYS * 86400]
    ta = older[-1] if older else times[0]
    years = (tb - ta) / (DAYS_PER_YEAR * 86400)
    return dated[ta][0], dated[tb][0], dated[ta][1], dated[tb][1], years


def _when(rec: dict) -> str:
    t = record_time_s(rec)
    return datetime.fromtimestamp(t, UTC).date().isoformat() if t is not None else "?"


def removal_lines(
    profile: EntityProfile, act: ActivityData, fs: FactorSet, years: float
) -> list[Line]:
    """Removal lines (biomass, soil, forest) over a period of ``years`` [yr].

    Orchards: stock difference of two tree surveys (:func:`stock_pair`) when there are two,
    else the Tier 1 rate unless the orchard is mature; plus soil carbon of the practices.
    Forests: stock difference of two inventories (``forest_inventories`` and tree surveys
    carrying ``volume_m3`` or ``biomass_t``).
    """
    out: list[Line] = []
    area_ha = (profile.area_mu or 0.0) * HA_PER_MU
    if profile.kind == "orchard":
        pair = stock_pair(act.tree_surveys, lambda s: _orchard_stock_t_c(s, fs))
        if pair:
            a, b, ca, cb, dy = pair
            keys = ["orchard.root_shoot", "orchard.carbon_fraction"]
            if "biomass_t" not in a or "biomass_t" not in b:
                keys += ["orchard.allometry.ln_a", "orchard.allometry.b"]
            rate = float(sq.stock_difference_removal(ca, cb, dy))
            note = f"stock difference {_when(a)} -> {_when(b)}"
            out.append(Line("removal", "biomass", None, rate, "t CO2/yr", keys, rate * years, note))
        elif not profile.orchard_mature:
            rate = float(sq.tier1_biomass_removal(area_ha, fs.value("orchard.tier1_biomass_rate")))
            keys = ["orchard.tier1_biomass_rate"]
            out.append(
                Line("removal", "biomass", None, area_ha, "ha", keys, rate * years, "Tier 1")
            )
        out += soil_lines(profile, act, fs, years)
    elif profile.kind == "forest":
        records = list(act.forest_inventories) + list(act.tree_surveys)
        pair = stock_pair(records, lambda s: _forest_stock_t_c(s, fs, profile.forest_species))
        if pair:
            a, b, ca, cb, dy = pair
            sp = b.get("species") or profile.forest_species
            keys = [
                f"forest.{sp}.{k}" for k in ("wood_density", "bef", "root_shoot", "carbon_fraction")
            ]
            rate = float(sq.stock_difference_removal(ca, cb, dy))
            note = f"stock difference {_when(a)} -> {_when(b)}"
            out.append(Line("removal", "forest", None, rate, "t CO2/yr", keys, rate * years, note))
    return out


def practice_areas_mu(profile: EntityProfile, act: ActivityData) -> dict[str, float]:
    """Practices in force [mu]: the profile's practices and the period's practice events,
    the largest area per practice, each capped at the orchard's area."""
    areas = dict(profile.practices)
    for p, a in act.events.practices.items():
        areas[p] = max(areas.get(p, 0.0), a)
    if profile.area_mu:
        areas = {p: min(a, profile.area_mu) for p, a in areas.items()}
    return areas


def soil_input_areas(areas_mu: dict[str, float], fs: FactorSet) -> list[tuple[str, str, float]]:
    """Split practice areas into land at each input level, ``(practice, level, mu)``.

    Practices are assumed to share land as far as possible (the conservative reading of
    overlapping records): the practice with the highest F_I takes its area first, each
    next one only adds the part of its area beyond the land already counted, and land under
    several practices gets the highest input level among them. Grass cover and organic
    substitution on the same 30 mu are 30 mu at "high with manure", not 60 mu.
    """
    ranked = sorted(
        areas_mu.items(), key=lambda kv: -fs.value(f"soil.f_i.{sq.PRACTICE_INPUT_LEVEL[kv[0]]}")
    )
    out, covered = [], 0.0
    for practice, area in ranked:
        extra = max(area - covered, 0.0)
        if extra > 0:
            out.append((practice, sq.PRACTICE_INPUT_LEVEL[practice], extra))
            covered += extra
    return out


def soil_lines(
    profile: EntityProfile, act: ActivityData, fs: FactorSet, years: float
) -> list[Line]:
    """SOC removal of the practices in force, IPCC Tier 1 stock change (METHODOLOGY §5b)."""
    out = []
    for practice, level, area_mu in soil_input_areas(practice_areas_mu(profile, act), fs):
        keys = [
            "soil.soc_ref",
            "soil.f_lu",
            f"soil.f_mg.{sq.BASE_MANAGEMENT}",
            f"soil.f_i.{sq.BASE_INPUT_LEVEL}",
        ]
        keys += [f"soil.f_i.{level}", "soil.transition_years"]
        f_mg = fs.value(keys[2])
        rate = float(
            sq.soc_change_removal(
                area_mu * HA_PER_MU,
                fs.value("soil.soc_ref"),
                fs.value("soil.f_lu"),
                f_mg,
                fs.value(keys[3]),
                f_mg,
                fs.value(keys[4]),
                fs.value("soil.transition_years"),
            )
        )
        out.append(Line("removal", "soil", None, area_mu, "mu", keys, rate * years, practice))
    return out
