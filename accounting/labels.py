"""Orchard four-colour labels (深绿 / 浅绿 / 黄 / 红) with explanation and what-if.

Metric: ``R = sequestration / emissions`` of the entity's statement (usually a year).
Default bands (docs/methodology.md §1.3, proposed default [G]), configurable through the factor set
keys ``label.orchard.*`` or the ``thresholds`` argument:

====================  =========  ===============
colour                Chinese    rule
====================  =========  ===============
dark_green            深绿       R ≥ 1.2
light_green           浅绿       1.0 ≤ R < 1.2
yellow                黄         0.8 ≤ R < 1.0
red                   红         R < 0.8
====================  =========  ===============

Two rules make a colour trustworthy:

* **Precision.** R is compared with the bounds after rounding to :data:`RATIO_DECIMALS`
  decimals (1e-6), so a ratio that is at a bound by its inputs gets the upper colour even
  when floating point lands just below it (the stock difference of two ~60 t C stocks gives
  1.1999999999999977 for an exact 1.2). 1e-6 of R is far below the precision of any input.
* **Coverage.** A statement is labelled only when its data coverage is at least
  ``min_coverage`` (:data:`DEFAULT_MIN_COVERAGE` = 0.9, [G], the 90 % data sufficiency of
  CalTRACK 2.0 and OpenDSM baselines); below it, or when coverage is unknown, the label is
  ``unrated`` (未评级) with the reason and what is missing, never a colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import overload

import numpy as np
import numpy.typing as npt

from accounting.activity_data import ActivityData
from accounting.errors import InvalidProfileError
from accounting.events import PRACTICES, EventTotals
from accounting.factors import FactorSet
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.statements import Statement, compute_statement

COLOURS = ("dark_green", "light_green", "yellow", "red")
COLOURS_ZH = {
    "dark_green": "深绿",
    "light_green": "浅绿",
    "yellow": "黄",
    "red": "红",
    "unrated": "未评级",
}
#: label of an orchard without enough data to be rated (see :func:`orchard_label`)
UNRATED = "unrated"
#: decimals of R kept before comparing it with the bounds [-] (see the module docstring)
RATIO_DECIMALS = 6
#: least data coverage of a statement that earns a colour [-] ([G]; CalTRACK 2.0 / OpenDSM
#: data sufficiency is 90 %)
DEFAULT_MIN_COVERAGE = 0.9


def orchard_thresholds(factors: FactorSet) -> tuple[float, float, float]:
    """(dark_green, light_green, yellow) lower bounds of R from the factor set."""
    dark_green, light_green, yellow = (factors.value(f"label.orchard.{c}") for c in COLOURS[:3])
    return dark_green, light_green, yellow


@overload
def colour_from_ratio(ratio: float, thresholds: Sequence[float] = ...) -> str: ...
@overload
def colour_from_ratio(
    ratio: npt.ArrayLike, thresholds: Sequence[float] = ...
) -> str | npt.NDArray[np.str_]: ...
def colour_from_ratio(
    ratio: npt.ArrayLike, thresholds: Sequence[float] = (1.2, 1.0, 0.8)
) -> str | npt.NDArray[np.str_]:
    """Colour of a sequestration/emission ratio.

    Parameters
    ----------
    ratio : numeric
        R = sequestration / emissions [-]; ``inf`` when there are no emissions. Compared
        after rounding to :data:`RATIO_DECIMALS` decimals, so ``R ≥ bound`` holds for a
        ratio equal to the bound up to floating-point error.
    thresholds : tuple of float
        Lower bounds of dark green, light green and yellow, descending [-].

    Returns
    -------
    str or ndarray of str
        ``dark_green`` | ``light_green`` | ``yellow`` | ``red``.
    """
    t = np.asarray(thresholds, dtype=float)
    if t.shape != (3,) or not (t[0] >= t[1] >= t[2]):
        raise InvalidProfileError(f"thresholds must be 3 descending numbers, got {thresholds!r}")
    r = np.asarray(ratio, dtype=float)
    if np.any(np.isnan(r)) or np.any(r < 0):
        raise InvalidProfileError("ratio must be >= 0")
    r = np.round(r, RATIO_DECIMALS)  # at a bound by its inputs -> the upper colour
    idx = np.sum(r[..., None] < t, axis=-1)  # number of lower bounds r falls below
    if idx.ndim == 0:
        return COLOURS[int(idx)]
    return np.asarray(COLOURS)[idx]


@dataclass
class Label:
    """A colour label with its explanation."""

    entity_id: str
    colour: str
    colour_zh: str
    ratio: float
    thresholds: tuple[float, float, float]
    explanation: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["thresholds"] = list(self.thresholds)
        if not np.isfinite(d["ratio"]):
            d["ratio"] = None
        return d


def _top(d: dict[str, float], n: int = 3) -> list[dict]:
    total = sum(d.values()) or 1.0
    return [
        {"name": k, "t_co2e": v, "share": v / total}
        for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:n]
    ]


def unrated_reason(statement: Statement, min_coverage: float) -> dict | None:
    """Why a statement earns no colour, or None when it may be labelled.

    Returns
    -------
    dict or None
        ``reason`` (``no_data`` | ``coverage.unknown`` | ``coverage.low``), ``detail`` (a
        sentence), ``coverage`` and ``min_coverage`` [-], ``period_days`` and
        ``missing_days`` [d]: how many more days of data the period needs to reach
        ``min_coverage``.
    """
    cov = statement.coverage
    days = statement.period.days
    base = {"coverage": cov, "min_coverage": min_coverage, "period_days": days}
    if statement.total_emissions_t == 0 and statement.total_sequestration_t == 0:
        return {
            **base,
            "reason": "no_data",
            "detail": "neither emissions nor removals were recorded in the period",
            "missing_days": days,
        }
    if cov is None:
        return {
            **base,
            "reason": "coverage.unknown",
            "detail": "the statement does not say how much of the period its data cover",
            "missing_days": days,
        }
    if round(cov, RATIO_DECIMALS) < min_coverage:
        missing = max(min_coverage - cov, 0.0) * days
        return {
            **base,
            "reason": "coverage.low",
            "detail": (
                f"data cover {cov:.1%} of the period, {min_coverage:.0%} is needed: "
                f"{missing:.1f} more days of data"
            ),
            "missing_days": missing,
        }
    return None


def orchard_label(
    statement: Statement,
    factors: FactorSet | None = None,
    *,
    thresholds: Sequence[float] | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> Label:
    """Four-colour label of an orchard statement, with the explanation an agronomist needs.

    Parameters
    ----------
    statement : Statement
        The orchard's statement (normally a year).
    factors : FactorSet, optional
        Source of the thresholds (``label.orchard.*``) when ``thresholds`` is not given.
    thresholds : tuple of float, optional
        (dark_green, light_green, yellow) lower bounds of R; default (1.2, 1.0, 0.8) is
        taken from ``factors`` when given.
    min_coverage : float
        Least coverage of the statement that earns a colour [-], default 0.9.

    Returns
    -------
    Label
        ``colour`` is ``unrated`` (未评级, ratio NaN) when the statement has neither emissions
        nor removals, or its coverage is unknown or below ``min_coverage``;
        ``explanation["unrated"]`` then says why and what is missing (:func:`unrated_reason`).
        ``explanation`` holds the largest sources and pools with shares, total emissions,
        sequestration and the net ``net_t`` = removals − emissions [t CO2e] (positive: a net
        sink), per-mu figures [t CO2e/mu], data coverage, the removal methods, the distance
        in R to the next colour up and the statement's warnings.
    """
    if thresholds is None:
        if factors is None:
            raise InvalidProfileError("give factors or thresholds")
        thresholds = orchard_thresholds(factors)
    given = tuple(float(x) for x in thresholds)
    colour_from_ratio(1.0, given)  # validates the thresholds: three, descending
    bounds = (given[0], given[1], given[2])
    if not 0.0 <= min_coverage <= 1.0:
        raise InvalidProfileError(f"min_coverage must be in [0, 1], got {min_coverage!r}")
    r = statement.ratio
    unrated = unrated_reason(statement, min_coverage)
    if unrated is not None:  # not enough data: no colour rather than a flattering one
        r, colour = float("nan"), UNRATED
    else:
        colour = colour_from_ratio(r, bounds)
    i = COLOURS.index(colour) if colour in COLOURS else 0
    next_up = None
    if i > 0:
        need = bounds[i - 1] * statement.total_emissions_t - statement.total_sequestration_t
        next_up = {
            "colour": COLOURS[i - 1],
            "ratio": bounds[i - 1],
            "extra_sequestration_t": need,
        }
    area = statement.area_mu
    expl = {
        "largest_sources": _top(statement.emissions_t),
        "largest_pools": _top(statement.sequestration_t),
        "total_emissions_t": statement.total_emissions_t,
        "total_sequestration_t": statement.total_sequestration_t,
        "net_t": statement.net_t,
        "emissions_t_per_mu": statement.total_emissions_t / area if area else None,
        "sequestration_t_per_mu": statement.total_sequestration_t / area if area else None,
        "net_t_per_mu": statement.net_t / area if area else None,
        "coverage": statement.coverage,
        "min_coverage": min_coverage,
        "unrated": unrated,
        "methods": statement.methods,
        "next_colour_up": next_up,
        "warnings": list(statement.warnings),
        "period": statement.period.label,
    }
    return Label(statement.entity_id, colour, COLOURS_ZH[colour], r, bounds, expl)


def apply_practice(
    profile: EntityProfile,
    activity: ActivityData,
    factors: FactorSet,
    practice: str,
    area_mu: float,
) -> tuple[EntityProfile, ActivityData]:
    """Profile and activity as they would be with ``practice`` on ``area_mu`` more mu.

    * grass_cover, straw_return: the practice area grows (SOC input level "high").
    * organic_substitution: SOC input "high with manure" on the area, and the synthetic N
      applied on that share of the orchard (area / orchard area) is replaced by the same N
      in commercial organic fertiliser (N content ``fertiliser.organic.n_frac``): its
      synthetic EF1, volatilisation, urea CO2 and upstream N go, organic-N N2O and the
      organic fertiliser's production emissions come in. P and K stay.
    """
    if practice not in PRACTICES:
        raise InvalidProfileError(f"unknown practice {practice!r}; one of {PRACTICES}")
    if not area_mu >= 0:
        raise InvalidProfileError("area_mu must be >= 0")
    practices = dict(profile.practices)
    practices[practice] = min(practices.get(practice, 0.0) + area_mu, profile.area_mu or area_mu)
    new_profile = replace(profile, practices=practices)
    ev = activity.events
    if practice == "organic_substitution" and ev.n_synthetic_kg and profile.area_mu:
        share = min(area_mu / profile.area_mu, 1.0)
        moved = ev.n_synthetic_kg * share
        ev = EventTotals.from_dict(ev.to_dict())
        ev.n_synthetic_kg -= moved
        ev.n_synthetic_by_product_kg = {
            k: v * (1 - share) for k, v in ev.n_synthetic_by_product_kg.items()
        }
        ev.urea_kg *= 1 - share
        ev.n_organic_kg += moved
        ev.organic_product_kg += moved / factors.value("fertiliser.organic.n_frac")
    new_activity = replace(activity, events=ev)
    return new_profile, new_activity


def what_if(
    profile: EntityProfile,
    period: Period,
    activity: ActivityData,
    factors: FactorSet,
    practice: str,
    area_mu: float,
    *,
    thresholds: Sequence[float] | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> dict:
    """Label the orchard would earn with ``practice`` on another ``area_mu`` mu.

    Recomputes the statement with :func:`apply_practice` and labels both.

    Returns
    -------
    dict
        ``practice``, ``area_mu``, ``before`` / ``after`` (label dicts), and the changes in
        emissions, sequestration and net ``net_t`` (removals − emissions) [t CO2e].
    """
    before = compute_statement(profile, period, activity, factors)
    p2, a2 = apply_practice(profile, activity, factors, practice, area_mu)
    after = compute_statement(p2, period, a2, factors)
    lb = orchard_label(before, factors, thresholds=thresholds, min_coverage=min_coverage)
    la = orchard_label(after, factors, thresholds=thresholds, min_coverage=min_coverage)
    return {
        "practice": practice,
        "area_mu": area_mu,
        "before": lb.to_dict(),
        "after": la.to_dict(),
        "delta_emissions_t": after.total_emissions_t - before.total_emissions_t,
        "delta_sequestration_t": after.total_sequestration_t - before.total_sequestration_t,
        "delta_net_t": after.net_t - before.net_t,
        "improves": la.colour in COLOURS
        and (lb.colour not in COLOURS or COLOURS.index(la.colour) < COLOURS.index(lb.colour)),
    }


def what_if_all(
    profile: EntityProfile,
    period: Period,
    activity: ActivityData,
    factors: FactorSet,
    area_mu: float | None = None,
    *,
    thresholds: Sequence[float] | None = None,
) -> list[dict]:
    """:func:`what_if` for each of the three practices on ``area_mu`` (default: the orchard)."""
    a = profile.area_mu if area_mu is None else area_mu
    if a is None:
        raise InvalidProfileError(f"{profile.id}: give area_mu (the profile has none)")
    return [
        what_if(profile, period, activity, factors, p, a, thresholds=thresholds) for p in PRACTICES
    ]
