"""Removal lines: orchard biomass, soil carbon from practices, forest plots.

Pools (removals, positive t CO2e): ``biomass`` (orchard trees), ``soil`` (SOC from
practices), ``forest`` (forest plots). Annual rates are multiplied by the period length in
years. Formulas are in :mod:`accounting.sequestration`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

from accounting import sequestration as sq
from accounting.activity_data import ActivityData
from accounting.errors import InvalidEventError
from accounting.events import PRACTICES, record_time_s
from accounting.factors import FactorSet
from accounting.inventory import Line
from accounting.profiles import EntityProfile
from accounting.units import DAYS_PER_YEAR, HA_PER_MU


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


#: least time between the two inventories of a stock difference [d]: a whole growth cycle,
#: so that seasonal growth cancels and a short pair's noise is not annualised
MIN_PAIR_DAYS = 330.0


def stock_pair(
    records: list[dict], stock: Callable[[dict], float | None]
) -> tuple[dict, dict, float, float, float] | None:
    """Pick the two inventories for a stock difference.

    ``b`` = the latest record with a stock; ``a`` = the latest one at least
    :data:`MIN_PAIR_DAYS` before ``b`` (a whole growth cycle). Records at the same time keep
    the last. Returns ``(a, b, C_a, C_b, years)``, or None when no two records are that far
    apart: a shorter pair (say 6 months) would annualise seasonal growth and survey noise
    (IPCC 2006 Vol. 4 §2.2.1: the stock-difference method needs inventories far enough
    apart for the change to exceed the measurement error).
    """
    dated: dict[float, tuple[dict, float]] = {}
    for rec in records:
        t = record_time_s(rec)
        if t is None:
            continue
        c = stock(rec)
        if c is not None:
            dated[t] = (rec, c)
    if len(dated) < 2:
        return None
    times = sorted(dated)
    tb = times[-1]
    older = [t for t in times[:-1] if tb - t >= MIN_PAIR_DAYS * 86400]
    if not older:
        return None
    ta = older[-1]
    years = (tb - ta) / (DAYS_PER_YEAR * 86400)
    return dated[ta][0], dated[tb][0], dated[ta][1], dated[tb][1], years


def _stock_se_t_c(rec: dict, stock_t_c: float) -> float | None:
    """Standard error of a record's stock [t C] from its ``stock_se_pct`` (the relative
    standard error of the inventory, as a sample-plot inventory reports it), or None."""
    se = rec.get("stock_se_pct")
    return None if se is None else abs(float(se)) / 100.0 * stock_t_c


def pair_rate_se(a: dict, b: dict, ca: float, cb: float, years: float) -> float | None:
    """Standard uncertainty of a stock-difference rate [t CO2/yr].

    ``u(ΔC) = √(u_a² + u_b²) / (t2 − t1) × 44/12`` for independent inventories (IPCC 2006
    Vol. 1 Ch. 3, error propagation, approach 1); None unless both records carry
    ``stock_se_pct``.
    """
    sa, sb = _stock_se_t_c(a, ca), _stock_se_t_c(b, cb)
    if sa is None or sb is None:
        return None
    return float((sa**2 + sb**2) ** 0.5 / years * 44.0 / 12.0)


def _when(rec: dict) -> str:
    t = record_time_s(rec)
    return datetime.fromtimestamp(t, UTC).date().isoformat() if t is not None else "?"


def _ms(rec: dict) -> float | None:
    t = record_time_s(rec)
    return None if t is None else t * 1000.0


def _segments(act: ActivityData, records: list[dict]) -> list[tuple[float, float]]:
    """The covered part of the window cut at the records' times, ``[(t0, t1), ...]`` [ms]."""
    c0 = act.covered_start_ms
    if c0 is None:
        return []
    cuts = {float(c0), float(act.end_ms)}
    for rec in records:
        t = _ms(rec)
        if t is not None and c0 < t < act.end_ms:
            cuts.add(t)
    edges = sorted(cuts)
    return list(zip(edges[:-1], edges[1:], strict=True))


def _known_at(records: list[dict], t_ms: float) -> list[dict]:
    """Records dated at or before ``t_ms`` (undated records count as known)."""
    return [r for r in records if _ms_or_earliest(r) <= t_ms]


def _ms_or_earliest(rec: dict) -> float:
    t = _ms(rec)
    return -1e30 if t is None else t


#: a removal rate in force: (rate t CO2e/yr, activity, unit, factor keys, note, rate
#: uncertainty t CO2e/yr or None); see :func:`_pool_lines`
RateInForce: TypeAlias = tuple[float, float, str, list[str], str, float | None]


def _pool_lines(
    pool: str,
    rate_at: Callable[[list[dict]], RateInForce | None],
    act: ActivityData,
    records: list[dict],
    years: float,
) -> list[Line]:
    """Integrate a removal rate that changes at the records' dates over the covered time.

    ``rate_at(known_records) -> (rate t CO2e/yr, activity, unit, factor keys, note,
    rate uncertainty t CO2e/yr or None) | None`` is evaluated on each segment with the
    records known at its start; segments with the same note (same pair or Tier 1 area,
    hence the same rate) are summed into one :class:`Line`, whose ``uncertainty_t`` is the
    rate's uncertainty × the years it was applied (fully correlated within the line).
    """
    span = act.end_ms - act.start_ms
    acc: dict[str, list] = {}
    for t0, t1 in _segments(act, records):
        got = rate_at(_known_at(records, t0))
        if got is None:
            continue
        rate, activity, unit, keys, note, rate_se = got
        dy = years * (t1 - t0) / span
        if note not in acc:
            acc[note] = [0.0, 0.0, unit, keys, None]
        acc[note][0] += rate * dy
        acc[note][1] = activity  # the same note holds the same rate or area
        if rate_se is not None:
            acc[note][4] = (acc[note][4] or 0.0) + rate_se * dy
    return [
        Line("removal", pool, None, act_w, unit, keys, t, note, u)
        for note, (t, act_w, unit, keys, u) in acc.items()
    ]


def removal_lines(
    profile: EntityProfile, act: ActivityData, fs: FactorSet, years: float
) -> list[Line]:
    """Removal lines (biomass, soil, forest) over a period of ``years`` [yr].

    Removals accrue by covered time: an annual rate [t CO2e/yr] is integrated only over the
    part of the window at or after the entity's first data
    (:attr:`ActivityData.covered_fraction`), and each instant uses the records known then
    (surveys and practices dated at or before it). So the removals of adjacent periods add
    up exactly to those of the period that holds them.

    Orchards: stock difference of two tree surveys at least :data:`MIN_PAIR_DAYS` apart
    (:func:`stock_pair`, method ``survey_pair``) when there are two, else the Tier 1 rate
    (``tier1``) unless the orchard is mature; plus soil carbon of the practices in force.
    Forests: stock difference of two inventories (``forest_inventories`` and tree surveys
    carrying ``volume_m3`` or ``biomass_t``; ``inventory_pair``); none without a pair.
    """
    out: list[Line] = []
    area_ha = (profile.area_mu or 0.0) * HA_PER_MU
    if profile.kind == "orchard":

        def biomass_at(known: list[dict]) -> RateInForce | None:
            pair = stock_pair(known, lambda s: _orchard_stock_t_c(s, fs))
            if pair:
                a, b, ca, cb, dy = pair
                keys = ["orchard.root_shoot", "orchard.carbon_fraction"]
                if "biomass_t" not in a or "biomass_t" not in b:
                    keys += ["orchard.allometry.ln_a", "orchard.allometry.b"]
                rate = float(sq.stock_difference_removal(ca, cb, dy))
                note = f"stock difference {_when(a)} -> {_when(b)}"
                return rate, rate, "t CO2/yr", keys, note, pair_rate_se(a, b, ca, cb, dy)
            if not profile.orchard_mature:
                rate = float(
                    sq.tier1_biomass_removal(area_ha, fs.value("orchard.tier1_biomass_rate"))
                )
                return rate, area_ha, "ha", ["orchard.tier1_biomass_rate"], "Tier 1", None
            return None

        out += _pool_lines("biomass", biomass_at, act, list(act.tree_surveys), years)
        out += soil_lines(profile, act, fs, years)
    elif profile.kind == "forest":
        records = list(act.forest_inventories) + list(act.tree_surveys)

        def forest_at(known: list[dict]) -> RateInForce | None:
            pair = stock_pair(known, lambda s: _forest_stock_t_c(s, fs, profile.forest_species))
            if not pair:
                return None
            a, b, ca, cb, dy = pair
            sp = b.get("species") or profile.forest_species
            keys = [
                f"forest.{sp}.{k}" for k in ("wood_density", "bef", "root_shoot", "carbon_fraction")
            ]
            rate = float(sq.stock_difference_removal(ca, cb, dy))
            note = f"stock difference {_when(a)} -> {_when(b)}"
            return rate, rate, "t CO2/yr", keys, note, pair_rate_se(a, b, ca, cb, dy)

        out += _pool_lines("forest", forest_at, act, records, years)
    return out


def practice_areas_mu(
    profile: EntityProfile, act: ActivityData, records: list[dict] | None = None
) -> dict[str, float]:
    """Practices in force [mu]: the profile's practices and the practice records (by
    default all of ``act.practice_records``), the largest area per practice, each capped at
    the orchard's area."""
    areas = dict(profile.practices)
    for rec in act.practice_records if records is None else records:
        p, a = rec.get("practice"), float(rec.get("area_mu", 0.0))
        if not isinstance(p, str) or p not in PRACTICES:
            raise InvalidEventError(f"practice record {rec.get('id')!r}: unknown practice {p!r}")
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
    out: list[tuple[str, str, float]] = []
    covered = 0.0
    for practice, area in ranked:
        extra = max(area - covered, 0.0)
        if extra > 0:
            out.append((practice, sq.PRACTICE_INPUT_LEVEL[practice], extra))
            covered += extra
    return out


def soil_lines(
    profile: EntityProfile, act: ActivityData, fs: FactorSet, years: float
) -> list[Line]:
    """SOC removal of the practices in force, IPCC Tier 1 stock change (docs/methodology.md §5b).

    A practice event is in force from its date on, in this period and every later one; the
    profile's practices from the first data. One line per practice and input level, its
    ``activity`` the time-weighted area [mu] over the period.
    """
    records = list(act.practice_records)
    span = act.end_ms - act.start_ms
    acc: dict[tuple[str, str], list] = {}
    for t0, t1 in _segments(act, records):
        areas = practice_areas_mu(profile, act, _known_at(records, t0))
        dy = years * (t1 - t0) / span
        for practice, level, area_mu in soil_input_areas(areas, fs):
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
            slot = acc.setdefault((practice, level), [0.0, 0.0, keys])
            slot[0] += rate * dy
            slot[1] += area_mu * (t1 - t0) / span
    return [
        Line("removal", "soil", None, area_w, "mu", keys, t, practice)
        for (practice, _level), (t, area_w, keys) in acc.items()
    ]
