"""Factory benchmarking: intensity against the industry benchmark, K, colour and lists.

``K = L_firm / L_industry`` (Zhejiang 碳效码 碳效值), with L an emission intensity (t CO2 per
10⁴ CNY value added, or per unit of product when the benchmark is physical).

* Colour (METHODOLOGY §8, proposed [G] adaptation of the K grades): K ≤ 0.8 → dark_green
  (深绿); 0.8 < K ≤ 1.0 → light_green (浅绿); 1.0 < K ≤ 1.2 → yellow (黄); K > 1.2 → red (红).
* 碳效码 grade [C]: 1 (K ≤ 0.6), 2 (≤ 0.8), 3 (≤ 1.2), 4 (≤ 2.0), 5 (> 2.0).
* Intensity level [C]: L ≤ 0.6 low carbon, 0.6 < L ≤ 2.0 medium, > 2.0 high carbon.

Industry benchmarks are inputs: no published table is packaged (see the open items of
METHODOLOGY.md); the caller passes ``{industry_code: benchmark intensity}``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from accounting.errors import InvalidProfileError
from accounting.factors import FactorSet

COLOURS = ("dark_green", "light_green", "yellow", "red")


def carbon_efficiency_k(intensity, benchmark):
    """碳效值 ``K = L_firm / L_industry`` [-].

    Parameters
    ----------
    intensity : numeric
        Firm intensity [t CO2/10⁴ CNY] (or per unit product).
    benchmark : numeric
        Industry benchmark in the same unit, > 0.

    References
    ----------
    规上工业企业碳效等级评价方法 (Zhejiang 碳效码), METHODOLOGY §1.2.
    """
    b = np.asarray(benchmark, dtype=float)
    if np.any(~(b > 0)):
        raise InvalidProfileError("benchmark intensity must be > 0")
    return (
        np.asarray(intensity, dtype=float) / b
        if np.ndim(intensity) or np.ndim(benchmark)
        else float(intensity) / float(benchmark)
    )


def _bands(values, bounds, labels):
    v = np.asarray(values, dtype=float)
    if np.any(np.isnan(v)) or np.any(v < 0):
        raise InvalidProfileError("K / intensity must be >= 0")
    idx = np.searchsorted(np.asarray(bounds, dtype=float), v, side="left")  # upper bounds inclusive
    if idx.ndim == 0:
        return labels[int(idx)]
    return np.asarray(labels, dtype=object)[idx]


def industry_colour(k, bands=(0.8, 1.0, 1.2)):
    """Four-colour label from K with inclusive upper bounds ``bands`` (METHODOLOGY §8)."""
    return _bands(k, bands, COLOURS)


def industry_bands(factors: FactorSet) -> tuple[float, float, float]:
    """(dark_green, light_green, yellow) upper bounds of K from the factor set."""
    return tuple(factors.value(f"label.industry.{c}") for c in COLOURS[:3])  # type: ignore[return-value]


def carbon_efficiency_grade(k, bounds=(0.6, 0.8, 1.2, 2.0)):
    """碳效码 grade 1-5 from K (inclusive upper bounds) [C] METHODOLOGY §1.2."""
    return _bands(k, bounds, (1, 2, 3, 4, 5))


def intensity_level(intensity, bounds=(0.6, 2.0)):
    """低碳 / 中碳 / 高碳 (``low`` | ``medium`` | ``high``) from t CO2/10⁴ CNY [C]."""
    return _bands(intensity, bounds, ("low", "medium", "high"))


@dataclass
class FactoryBenchmark:
    entity_id: str
    industry_code: str | None
    intensity: float | None
    benchmark: float | None
    k: float | None
    colour: str | None
    grade: int | None
    green_energy_share: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def benchmark_factories(
    statements,
    benchmarks: dict[str, float],
    *,
    industry_codes: dict[str, str],
    intensity_key: str = "t_co2e_per_10k_cny",
    bands=(0.8, 1.0, 1.2),
    poor_k: float = 1.2,
    min_green_share: float = 0.10,
) -> dict:
    """Benchmark factory statements and list poor performers and low green-energy shares.

    Parameters
    ----------
    statements : list of Statement
        Factory statements (e.g. yearly roll-ups).
    benchmarks : dict
        ``industry_code -> benchmark intensity`` in the unit of ``intensity_key``.
    industry_codes : dict
        ``entity_id -> industry_code``.
    intensity_key : str
        Intensity of the statement compared (default per 10⁴ CNY value added).
    bands : tuple
        K colour bands.
    poor_k : float
        K above which a factory is a poor energy-efficiency performer [-] (default 1.2,
        the red band).
    min_green_share : float
        Green-energy share (on-site PV / all electricity) below which a factory is listed
        [-]; proposed default 0.10 [G].

    Returns
    -------
    dict
        ``results`` (list of :class:`FactoryBenchmark` dicts), ``poor_performers`` (ids,
        worst K first) and ``low_green_share`` (ids, lowest share first).
    """
    results = []
    for s in statements:
        code = industry_codes.get(s.entity_id)
        L = s.intensities.get(intensity_key)
        bench = benchmarks.get(code) if code else None
        k = carbon_efficiency_k(L, bench) if L is not None and bench else None
        results.append(
            FactoryBenchmark(
                s.entity_id, code, L, bench, k,
                industry_colour(k, bands) if k is not None else None,
                int(carbon_efficiency_grade(k)) if k is not None else None,
                s.green_energy_share,
            )
        )  # fmt: skip
    poor = sorted((r for r in results if r.k is not None and r.k > poor_k), key=lambda r: -r.k)
    low = sorted(
        (
            r
            for r in results
            if r.green_energy_share is not None and r.green_energy_share < min_green_share
        ),
        key=lambda r: r.green_energy_share,
    )
    return {
        "results": [r.to_dict() for r in results],
        "poor_performers": [r.entity_id for r in poor],
        "low_green_share": [r.entity_id for r in low],
    }


def county_comparison(
    statements,
    counties: dict[str, str],
    *,
    intensity_key: str = "t_co2e_per_mu",
    good: float = 0.8,
    poor: float = 1.2,
) -> dict[str, dict]:
    """Secondary check of orchards: intensity against the median of their county.

    ``K_county = I / median(I of the county's orchards)``; ``good`` when K ≤ 0.8, ``poor``
    when K > 1.2, ``typical`` between (METHODOLOGY §1.3, proposed [G], reusing the 碳效码
    K bands).

    Parameters
    ----------
    statements : list of Statement
        Orchard statements of one period.
    counties : dict
        ``entity_id -> county``.
    intensity_key : str
        ``t_co2e_per_mu`` (default) or ``t_co2e_per_t_fruit``.
    good, poor : float
        K bounds [-].

    Returns
    -------
    dict
        ``entity_id -> {"county", "intensity", "county_median", "k", "rating"}``; rating
        None where the intensity or the county is missing.
    """
    by_county: dict[str, list[float]] = {}
    values = {}
    for s in statements:
        c, i = counties.get(s.entity_id), s.intensities.get(intensity_key)
        values[s.entity_id] = (c, i)
        if c is not None and i is not None:
            by_county.setdefault(c, []).append(i)
    medians = {c: float(np.median(v)) for c, v in by_county.items()}
    out = {}
    for eid, (c, i) in values.items():
        med = medians.get(c) if c is not None else None
        k = i / med if i is not None and med else None
        rating = None if k is None else ("good" if k <= good else "poor" if k > poor else "typical")
        out[eid] = {"county": c, "intensity": i, "county_median": med, "k": k, "rating": rating}
    return out
