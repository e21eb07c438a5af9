"""Carbon statements per entity and period, and the roll-up of lines to a factory.

Sign convention (the one used everywhere: statements, ledger, API, labels, pages, CSV):
emissions and removals are both positive t CO2e, and
``net_t = total_sequestration_t − total_emissions_t`` (removals − emissions), so a
**positive net is a net sink** and a negative one a net source; a positive ``net_t`` is what
an orchard's account can redeem. See docs/accounting.md, "Sign convention".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounting.activity_data import ActivityData
from accounting.errors import InvalidProfileError, MixedStatementsError
from accounting.factors import FactorSet
from accounting.inventory import Line, emission_lines
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.removals import removal_lines

SCHEMA = "tanzhang.statement/2"
#: earlier schemas still read (/1 stored ``net_balance_t`` = emissions − removals; the
#: totals are recomputed from the lines, so only the name of the net changed)
READ_SCHEMAS = ("tanzhang.statement/1", SCHEMA)


def _div(a: float, b: float | None) -> float | None:
    return a / b if b else None


@dataclass
class Statement:
    """A carbon statement. All masses in [t CO2e]."""

    entity_id: str
    entity_kind: str
    period: Period
    lines: list[Line]
    factor_set: dict
    data_window: dict
    coverage: float | None
    activity: dict
    intensities: dict[str, float | None] = field(default_factory=dict)
    green_energy_share: float | None = None
    warnings: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    area_mu: float | None = None

    # ---- totals -----------------------------------------------------------------------
    @property
    def emissions_t(self) -> dict[str, float]:
        """Emissions by source [t CO2e]."""
        out: dict[str, float] = {}
        for ln in self.lines:
            if ln.kind == "emission":
                out[ln.source] = out.get(ln.source, 0.0) + ln.t_co2e
        return out

    @property
    def emissions_by_scope(self) -> dict[str, float]:
        out = {"scope1": 0.0, "scope2": 0.0, "scope3": 0.0}
        for ln in self.lines:
            if ln.kind == "emission":
                out[f"scope{ln.scope}"] += ln.t_co2e
        return out

    @property
    def sequestration_t(self) -> dict[str, float]:
        """Removals by pool [t CO2e], positive."""
        out: dict[str, float] = {}
        for ln in self.lines:
            if ln.kind == "removal":
                out[ln.source] = out.get(ln.source, 0.0) + ln.t_co2e
        return out

    @property
    def total_emissions_t(self) -> float:
        return sum(self.emissions_t.values())

    @property
    def total_sequestration_t(self) -> float:
        return sum(self.sequestration_t.values())

    @property
    def net_t(self) -> float:
        """Removals − emissions [t CO2e]; positive = net sink (the one sign convention)."""
        return self.total_sequestration_t - self.total_emissions_t

    @property
    def uncertainty_t(self) -> dict[str, float]:
        """Standard uncertainty of the removal pools that have one [t CO2e] (stock pairs
        whose inventories carry ``stock_se_pct``); lines of a pool add in quadrature."""
        out: dict[str, float] = {}
        for ln in self.lines:
            if ln.kind == "removal" and ln.uncertainty_t is not None:
                out[ln.source] = (out.get(ln.source, 0.0) ** 2 + ln.uncertainty_t**2) ** 0.5
        return out

    @property
    def methods(self) -> dict[str, str]:
        """Method of each removal pool: ``survey_pair`` / ``tier1`` (orchard biomass),
        ``tier1_soc_stock_change`` (soil), ``inventory_pair`` (forest)."""
        found: dict[str, set[str]] = {}
        for ln in self.lines:
            if ln.kind != "removal":
                continue
            if ln.source == "soil":
                m = "tier1_soc_stock_change"
            elif ln.source == "forest":
                m = "inventory_pair"
            else:
                m = "survey_pair" if "stock difference" in ln.note else "tier1"
            found.setdefault(ln.source, set()).add(m)
        return {pool: "+".join(sorted(ms)) for pool, ms in found.items()}

    @property
    def ratio(self) -> float:
        """Sequestration / emissions [-] (inf with no emissions), the orchard label metric."""
        e = self.total_emissions_t
        return self.total_sequestration_t / e if e > 0 else float("inf")

    # ---- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "entity_id": self.entity_id,
            "entity_kind": self.entity_kind,
            "period": self.period.to_dict(),
            "area_mu": self.area_mu,
            "emissions_t": self.emissions_t,
            "emissions_by_scope": self.emissions_by_scope,
            "sequestration_t": self.sequestration_t,
            "total_emissions_t": self.total_emissions_t,
            "total_sequestration_t": self.total_sequestration_t,
            "net_t": self.net_t,
            "methods": self.methods,
            "uncertainty_t": self.uncertainty_t,
            "intensities": self.intensities,
            "green_energy_share": self.green_energy_share,
            "coverage": self.coverage,
            "factor_set": self.factor_set,
            "data_window": self.data_window,
            "activity": self.activity,
            "lines": [ln.to_dict() for ln in self.lines],
            "warnings": self.warnings,
            "children": self.children,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Statement:
        if d.get("schema") not in READ_SCHEMAS:
            raise InvalidProfileError(f"not a {SCHEMA} document: {d.get('schema')!r}")
        return cls(
            entity_id=d["entity_id"],
            entity_kind=d["entity_kind"],
            period=Period.from_dict(d["period"]),
            lines=[Line(**ln) for ln in d["lines"]],
            factor_set=d["factor_set"],
            data_window=d["data_window"],
            coverage=d["coverage"],
            activity=d["activity"],
            intensities=d.get("intensities", {}),
            green_energy_share=d.get("green_energy_share"),
            warnings=list(d.get("warnings", [])),
            children=list(d.get("children", [])),
            area_mu=d.get("area_mu"),
        )


def _intensities(s: Statement, *, value_added: float | None) -> dict[str, float | None]:
    a = s.activity
    e = s.total_emissions_t
    return {
        "t_co2e_per_mu": _div(e, s.area_mu),
        "sequestration_t_per_mu": _div(s.total_sequestration_t, s.area_mu),
        "net_t_per_mu": _div(s.net_t, s.area_mu),
        "t_co2e_per_t_fruit": _div(e, a.get("harvest_t")),
        "t_co2e_per_unit_output": _div(e, a.get("output_units")),
        "t_co2e_per_10k_cny": _div(e, value_added),
        "kwh_per_unit_output": _div(
            a.get("electricity_consumed_kwh", a.get("electricity_kwh", 0.0) + a.get("pv_kwh", 0.0)),
            a.get("output_units"),
        ),
    }


def _green_share(a: dict) -> float | None:
    total = a.get("electricity_kwh", 0.0) + a.get("pv_kwh", 0.0)
    return a.get("pv_kwh", 0.0) / total if total > 0 else None


def statement_coverage(activity: ActivityData) -> float:
    """Data coverage of a statement [-]: the part of the period at or after the entity's
    first data (:attr:`ActivityData.covered_fraction`), and no more than the metered
    coverage of its accounted series when it has any."""
    cov = activity.covered_fraction
    return cov if activity.coverage is None else min(activity.coverage, cov)


def compute_statement(
    profile: EntityProfile,
    period: Period,
    activity: ActivityData,
    factors: FactorSet,
    *,
    min_coverage: float = 0.9,
) -> Statement:
    """Carbon statement of one entity over one period.

    Emissions by source and scope (:mod:`accounting.inventory`), removals by pool (annual
    rates integrated over the covered part of the period, :mod:`accounting.removals`), the
    net ``net_t`` (removals − emissions), the removal ``methods``, intensities,
    green-energy share and the data coverage (:func:`statement_coverage`), with the
    factor-set reference and the data window.

    Parameters
    ----------
    profile : EntityProfile
    period : Period
    activity : ActivityData
        Activity over the period (see :func:`accounting.activity_data.activity_from_series`).
    factors : FactorSet
    min_coverage : float
        Coverage below this adds the warning ``coverage.low`` [-].

    Intensities (``None`` when the denominator is missing or zero): ``t_co2e_per_mu``,
    ``sequestration_t_per_mu``, ``net_t_per_mu``, ``t_co2e_per_t_fruit`` (harvest events),
    ``t_co2e_per_unit_output``, ``t_co2e_per_10k_cny`` (value added pro-rated over the
    period unless ``activity.value_added_10k_cny`` is given), ``kwh_per_unit_output``.
    """
    warnings: list[str] = []
    lines = emission_lines(profile, activity, factors)
    lines += removal_lines(profile, activity, factors, period.years)
    coverage = statement_coverage(activity)
    if coverage < min_coverage:
        warnings.append(f"coverage.low: {coverage:.3f} < {min_coverage}")
    if activity.events.ignored:
        warnings.append(f"events.unknown_type: {activity.events.ignored}")
    if profile.kind == "orchard" and not any(ln.source == "biomass" for ln in lines):
        warnings.append("biomass.not_counted: mature orchard without two tree surveys")
    if profile.kind == "forest" and not any(ln.source == "forest" for ln in lines):
        warnings.append(
            "forest.no_inventory: two plot inventories are needed for a stock difference"
        )
    q = [v for v in activity.quality.values() if isinstance(v, dict)]
    for name in ("resets", "swaps", "capped", "dropped"):
        n = sum(int(v.get(name, 0)) for v in q)
        if n:
            warnings.append(f"registers.{name}: {n}")
    act = {
        k: getattr(activity, k)
        for k in (
            "electricity_kwh",
            "pv_kwh",
            "gas_m3",
            "steam_t",
            "diesel_l",
            "water_m3",
            "output_units",
            "heat_gj",
            "process_co2_t",
        )
    }
    act["harvest_t"] = activity.events.harvest_t
    act["quality"] = activity.quality
    act["coverage_by_value"] = activity.coverage_by_value
    st = Statement(
        entity_id=profile.id,
        entity_kind=profile.kind,
        period=period,
        lines=lines,
        factor_set=factors.ref,
        data_window={"start_ms": activity.start_ms, "end_ms": activity.end_ms},
        coverage=coverage,
        activity=act,
        warnings=warnings,
        area_mu=profile.area_mu,
    )
    va = activity.value_added_10k_cny
    if va is None and profile.value_added_10k_cny:
        va = profile.value_added_10k_cny * period.years
    st.intensities = _intensities(st, value_added=va)
    st.green_energy_share = _green_share(act)
    return st


def roll_up(
    parent: EntityProfile, statements: list[Statement], *, value_added_10k_cny: float | None = None
) -> Statement:
    """Sum line statements (and the factory's own meters' statement, if any) to the factory.

    Lines are concatenated (sources keep their names, so totals by source add up); activity
    amounts add; coverage is the lowest of the children (conservative); intensities are
    recomputed on the sums. All statements must share period and factor-set digest.

    Raises
    ------
    MixedStatementsError
    """
    if not statements:
        raise MixedStatementsError("nothing to roll up")
    p0, fs0 = statements[0].period, statements[0].factor_set
    for s in statements:
        if s.period != p0:
            raise MixedStatementsError(
                f"{s.entity_id}: period {s.period.label} differs from {p0.label}"
            )
        if s.factor_set.get("digest") != fs0.get("digest"):
            raise MixedStatementsError(f"{s.entity_id}: factor set differs")
        if s.entity_id != parent.id and s.entity_kind != "line":
            raise MixedStatementsError(f"{s.entity_id}: only lines roll up into {parent.id}")
    act: dict = {}
    for s in statements:
        for k, v in s.activity.items():
            if isinstance(v, (int, float)):
                act[k] = act.get(k, 0.0) + v
    covs = [s.coverage for s in statements if s.coverage is not None]
    lines = [Line(**ln.to_dict()) for s in statements for ln in s.lines]
    green = _count_pv_once(act, lines)
    st = Statement(
        entity_id=parent.id,
        entity_kind=parent.kind,
        period=p0,
        lines=lines,
        factor_set=fs0,
        data_window={
            "start_ms": min(s.data_window["start_ms"] for s in statements),
            "end_ms": max(s.data_window["end_ms"] for s in statements),
        },
        coverage=min(covs) if covs else None,
        activity=act,
        warnings=[f"{s.entity_id}: {w}" for s in statements for w in s.warnings],
        children=[s.entity_id for s in statements if s.entity_id != parent.id],
        area_mu=parent.area_mu,
    )
    va = value_added_10k_cny
    if va is None and parent.value_added_10k_cny:
        va = parent.value_added_10k_cny * p0.years
    st.intensities = _intensities(st, value_added=va)
    st.green_energy_share = green if green is not None else _green_share(act)
    return st


def _count_pv_once(act: dict, lines: list[Line]) -> float | None:
    """Count on-site PV once in a factory's roll-up; returns the green-energy share.

    Line meters measure what a line uses, whether it came from the grid or from the
    factory's own PV, so the lines' electricity summed is the site's consumption
    ``E_use`` [kWh], not its grid import. With on-site PV generation ``E_pv`` [kWh] consumed on
    site, the grid import is ``E_grid = max(E_use - E_pv, 0)``; every line's electricity in the
    roll-up is scaled by the import share ``E_grid / E_use`` (priced at the grid factor, as
    Scope 2 location-based accounting prices purchased electricity), and the PV used on site,
    ``min(E_pv, E_use)``, is priced at zero on the ``onsite_pv`` line. PV exported beyond the
    site's use earns nothing here. Green-energy share = ``min(E_pv, E_use) / E_use``.

    ``act`` and ``lines`` are updated in place: ``electricity_kwh`` becomes the grid import,
    ``electricity_consumed_kwh`` keeps the use. A line's own statement keeps its metered use
    at the grid factor (it has no PV of its own); only the factory counts PV once.
    """
    pv = float(act.get("pv_kwh", 0.0) or 0.0)
    used = float(act.get("electricity_kwh", 0.0) or 0.0)
    if pv <= 0 or used <= 0:
        return None
    share = max(used - pv, 0.0) / used
    for ln in lines:
        if ln.kind == "emission" and ln.source == "electricity":
            ln.activity *= share
            ln.t_co2e *= share
            ln.note = (
                f"{ln.note}; " if ln.note else ""
            ) + f"grid import share {share:.4f} (on-site PV supplied the rest)"
    act["electricity_consumed_kwh"] = used
    act["electricity_kwh"] = used * share
    act["pv_used_kwh"] = min(pv, used)
    return min(pv, used) / used
