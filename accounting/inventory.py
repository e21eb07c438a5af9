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

Removal pools are computed in :mod:`accounting.removals`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from accounting import emissions as em
from accounting.activity_data import ActivityData
from accounting.errors import InvalidEventError
from accounting.factors import FactorSet
from accounting.profiles import EntityProfile


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
    #: standard uncertainty of ``t_co2e`` [t CO2e] where the inputs give one (stock pairs)
    uncertainty_t: float | None = None

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
