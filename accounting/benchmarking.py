"""Factory benchmarking: intensity against the industry benchmark, K, colour and lists.

``K = L_firm / L_industry`` (Zhejiang 碳效码 碳效值), with L an emission intensity (t CO2 per
10⁴ CNY value added, or per unit of product when the benchmark is physical).

* Colour (docs/methodology.md §8, proposed [G] adaptation of the K grades): K ≤ 0.8 → dark_green
  (深绿); 0.8 < K ≤ 1.0 → light_green (浅绿); 1.0 < K ≤ 1.2 → yellow (黄); K > 1.2 → red (红).
* 碳效码 grade [C]: 1 (K ≤ 0.6), 2 (≤ 0.8), 3 (≤ 1.2), 4 (≤ 2.0), 5 (> 2.0).
* Intensity level [C]: L ≤ 0.6 low carbon, 0.6 < L ≤ 2.0 medium, > 2.0 high carbon.

Industry benchmarks come from the packaged table ``accounting/benchmarks/industry.toml``
(:func:`load_industry_benchmarks`), keyed by GB/T 4754-2017 industry codes and looked up from
the most specific code down (``C1713 -> C171 -> C17 -> C``). Each entry says whether its value
was published (with the source) or is a proposed default (with the reasoning): no published
industry table was found, so every packaged value is a proposed default placed on the
published 碳效码 intensity levels (docs/benchmarks.md). A factory's registry attribute
``benchmark_tco2e_per_10k_cny`` overrides the table.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

from accounting.errors import InvalidProfileError
from accounting.factors import FactorSet
from accounting.statements import Statement

COLOURS = ("dark_green", "light_green", "yellow", "red")
#: an array of labels, one per input value
Labels = npt.NDArray[np.object_]
_Label = TypeVar("_Label")


@overload
def carbon_efficiency_k(intensity: float, benchmark: float) -> float: ...
@overload
def carbon_efficiency_k(
    intensity: npt.ArrayLike, benchmark: npt.ArrayLike
) -> float | npt.NDArray[np.float64]: ...
def carbon_efficiency_k(
    intensity: npt.ArrayLike, benchmark: npt.ArrayLike
) -> float | npt.NDArray[np.float64]:
    """碳效值 ``K = L_firm / L_industry`` [-].

    Parameters
    ----------
    intensity : numeric
        Firm intensity [t CO2/10⁴ CNY] (or per unit product).
    benchmark : numeric
        Industry benchmark in the same unit, > 0.

    References
    ----------
    规上工业企业碳效等级评价方法 (Zhejiang 碳效码), docs/methodology.md §1.2.
    """
    b = np.asarray(benchmark, dtype=float)
    if np.any(~(b > 0)):
        raise InvalidProfileError("benchmark intensity must be > 0")
    i = np.asarray(intensity, dtype=float)
    return i / b if i.ndim or b.ndim else float(i) / float(b)


@overload
def _bands(values: float, bounds: Sequence[float], labels: Sequence[_Label]) -> _Label: ...
@overload
def _bands(
    values: npt.ArrayLike, bounds: Sequence[float], labels: Sequence[_Label]
) -> _Label | Labels: ...
def _bands(
    values: npt.ArrayLike, bounds: Sequence[float], labels: Sequence[_Label]
) -> _Label | Labels:
    v = np.asarray(values, dtype=float)
    if np.any(np.isnan(v)) or np.any(v < 0):
        raise InvalidProfileError("K / intensity must be >= 0")
    idx = np.searchsorted(np.asarray(bounds, dtype=float), v, side="left")  # upper bounds inclusive
    if idx.ndim == 0:
        return labels[int(idx)]
    return np.asarray(labels, dtype=object)[idx]


@overload
def industry_colour(k: float, bands: Sequence[float] = ...) -> str: ...
@overload
def industry_colour(k: npt.ArrayLike, bands: Sequence[float] = ...) -> str | Labels: ...
def industry_colour(k: npt.ArrayLike, bands: Sequence[float] = (0.8, 1.0, 1.2)) -> str | Labels:
    """Four-colour label from K with inclusive upper bounds ``bands`` (docs/methodology.md §8)."""
    return _bands(k, bands, COLOURS)


def industry_bands(factors: FactorSet) -> tuple[float, float, float]:
    """(dark_green, light_green, yellow) upper bounds of K from the factor set."""
    dark_green, light_green, yellow = (factors.value(f"label.industry.{c}") for c in COLOURS[:3])
    return dark_green, light_green, yellow


@overload
def carbon_efficiency_grade(k: float, bounds: Sequence[float] = ...) -> int: ...
@overload
def carbon_efficiency_grade(k: npt.ArrayLike, bounds: Sequence[float] = ...) -> int | Labels: ...
def carbon_efficiency_grade(
    k: npt.ArrayLike, bounds: Sequence[float] = (0.6, 0.8, 1.2, 2.0)
) -> int | Labels:
    """碳效码 grade 1-5 from K (inclusive upper bounds) [C] docs/methodology.md §1.2."""
    return _bands(k, bounds, (1, 2, 3, 4, 5))


@overload
def intensity_level(intensity: float, bounds: Sequence[float] = ...) -> str: ...
@overload
def intensity_level(intensity: npt.ArrayLike, bounds: Sequence[float] = ...) -> str | Labels: ...
def intensity_level(intensity: npt.ArrayLike, bounds: Sequence[float] = (0.6, 2.0)) -> str | Labels:
    """低碳 / 中碳 / 高碳 (``low`` | ``medium`` | ``high``) from t CO2/10⁴ CNY [C]."""
    return _bands(intensity, bounds, ("low", "medium", "high"))


# -- the packaged industry table -----------------------------------------------------------
#: a GB/T 4754-2017 code: section letter, optionally a 2-digit division, 3-digit group or
#: 4-digit class (``C``, ``C17``, ``C171``, ``C1713``)
INDUSTRY_CODE = re.compile(r"^[A-T](\d{2}(\d{1,2})?)?$")
BENCHMARK_STATUSES = ("published", "proposed_default")


@dataclass(frozen=True)
class IndustryBenchmark:
    """One row of the industry table.

    Attributes
    ----------
    code : str
        GB/T 4754-2017 code of the row.
    t_co2e_per_10k_cny : float
        Benchmark intensity L_industry [t CO2e / 10⁴ CNY value added].
    status : str
        ``published`` (``source`` names where it was read) or ``proposed_default``
        (``basis`` explains the choice; no published figure was found).
    t_co2e_per_unit, output_unit : float, str, optional
        Physical benchmark [t CO2e / output_unit], only where published.
    """

    code: str
    name_zh: str
    name_en: str
    t_co2e_per_10k_cny: float
    status: str
    source: str | None = None
    basis: str | None = None
    t_co2e_per_unit: float | None = None
    output_unit: str | None = None


@dataclass(frozen=True)
class BenchmarkTable:
    """The industry benchmarks of one packaged table, by code."""

    name: str
    version: str
    entries: dict[str, IndustryBenchmark]

    def lookup(self, code: str | None) -> IndustryBenchmark | None:
        """The most specific row for ``code``: the code itself, then its group (4 chars),
        division (3 chars) and section (letter). None for a missing or unknown code."""
        if not code:
            return None
        code = code.strip().upper()
        for n in (len(code), 4, 3, 1):
            row = self.entries.get(code[:n]) if n <= len(code) else None
            if row is not None:
                return row
        return None


def load_industry_benchmarks(name: str = "industry") -> BenchmarkTable:
    """Load the packaged table ``accounting/benchmarks/{name}.toml``.

    Every row needs a valid GB/T 4754 ``code``, a positive ``t_co2e_per_10k_cny`` and a
    ``status``; a ``published`` row needs its ``source`` and a ``proposed_default`` row its
    ``basis`` (no value without its provenance).

    Raises
    ------
    InvalidProfileError
        On a malformed row.
    """
    text = (resources.files("accounting.benchmarks") / f"{name}.toml").read_text("utf-8")
    return parse_industry_benchmarks(tomllib.loads(text), name)


def parse_industry_benchmarks(doc: dict, name: str = "industry") -> BenchmarkTable:
    """A :class:`BenchmarkTable` from the parsed TOML ``doc`` (see
    :func:`load_industry_benchmarks` for the rules)."""
    entries: dict[str, IndustryBenchmark] = {}
    for row in doc.get("benchmark", []):
        code = str(row.get("code", ""))
        if not INDUSTRY_CODE.match(code):
            raise InvalidProfileError(f"{name}: {code!r} is not a GB/T 4754 code")
        if code in entries:
            raise InvalidProfileError(f"{name}: {code} listed twice")
        value = float(row.get("t_co2e_per_10k_cny", 0))
        status = row.get("status")
        if not value > 0:
            raise InvalidProfileError(f"{name}: {code}: t_co2e_per_10k_cny must be > 0")
        if status not in BENCHMARK_STATUSES:
            raise InvalidProfileError(f"{name}: {code}: status must be one of {BENCHMARK_STATUSES}")
        if status == "published" and not row.get("source"):
            raise InvalidProfileError(f"{name}: {code}: a published value needs its source")
        if status == "proposed_default" and not row.get("basis"):
            raise InvalidProfileError(f"{name}: {code}: a proposed default needs its basis")
        entries[code] = IndustryBenchmark(
            code=code,
            name_zh=row.get("name_zh", ""),
            name_en=row.get("name_en", ""),
            t_co2e_per_10k_cny=value,
            status=status,
            source=row.get("source"),
            basis=row.get("basis"),
            t_co2e_per_unit=row.get("t_co2e_per_unit"),
            output_unit=row.get("output_unit"),
        )
    meta = doc.get("meta", {})
    return BenchmarkTable(meta.get("name", name), str(meta.get("version", "")), entries)


@dataclass
class FactoryBenchmark:
    """Benchmarking result of one factory.

    ``intensity`` and ``benchmark`` in t CO2e / 10⁴ CNY value added; ``benchmark_origin`` is
    ``registry`` (per-factory override), ``table`` (the packaged table, row
    ``benchmark_code``) or ``given`` (passed by the caller); ``reason`` says why K is missing.
    """

    entity_id: str
    industry_code: str | None
    intensity: float | None
    benchmark: float | None
    k: float | None
    colour: str | None
    grade: int | None
    green_energy_share: float | None
    intensity_level: str | None = None
    benchmark_code: str | None = None
    benchmark_origin: str | None = None
    benchmark_status: str | None = None
    benchmark_note: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def benchmark_factories(
    statements: Iterable[Statement],
    benchmarks: dict[str, float] | BenchmarkTable | None = None,
    *,
    industry_codes: dict[str, str],
    overrides: dict[str, float] | None = None,
    intensity_key: str = "t_co2e_per_10k_cny",
    bands: Sequence[float] = (0.8, 1.0, 1.2),
    poor_k: float = 1.2,
    min_green_share: float = 0.10,
) -> dict[str, list[Any]]:
    """Benchmark factory statements and list poor performers and low green-energy shares.

    Parameters
    ----------
    statements : list of Statement
        Factory statements (e.g. yearly roll-ups).
    benchmarks : dict or BenchmarkTable, optional
        ``industry_code -> benchmark intensity`` (exact codes) in the unit of
        ``intensity_key``, or a table; default the packaged table
        (:func:`load_industry_benchmarks`).
    industry_codes : dict
        ``entity_id -> industry_code`` (GB/T 4754).
    overrides : dict, optional
        ``entity_id -> benchmark intensity``: a factory's own benchmark (registry attribute
        ``benchmark_tco2e_per_10k_cny``), used instead of the table.
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
    if benchmarks is None:
        benchmarks = load_industry_benchmarks()
    overrides = overrides or {}
    results = []
    for s in statements:
        code = industry_codes.get(s.entity_id)
        L = s.intensities.get(intensity_key)
        bench = bcode = origin = status = note = reason = None
        if s.entity_id in overrides and overrides[s.entity_id]:
            bench, origin, status = float(overrides[s.entity_id]), "registry", "registry_override"
            note = "the factory's own benchmark (registry benchmark_tco2e_per_10k_cny)"
        elif isinstance(benchmarks, BenchmarkTable):
            row = benchmarks.lookup(code)
            if row is not None:
                bench, bcode, origin, status = row.t_co2e_per_10k_cny, row.code, "table", row.status
                note = row.source if row.status == "published" else row.basis
        elif code and benchmarks.get(code):
            bench, bcode, origin, status = float(benchmarks[code]), code, "given", "given"
        if bench is None:
            reason = (
                "no industry_code in the registry"
                if not code
                else f"no benchmark for industry {code}"
            )
        elif L is None:
            reason = "no value added (registry value_added_10k_cny) to compute the intensity"
        k = carbon_efficiency_k(L, bench) if L is not None and bench else None
        results.append(
            FactoryBenchmark(
                s.entity_id, code, L, bench, k,
                industry_colour(k, bands) if k is not None else None,
                int(carbon_efficiency_grade(k)) if k is not None else None,
                s.green_energy_share,
                intensity_level(L) if L is not None else None,
                bcode, origin, status, note, reason,
            )
        )  # fmt: skip
    poor = sorted(
        ((r.k, r.entity_id) for r in results if r.k is not None and r.k > poor_k),
        key=lambda kr: -kr[0],
    )
    low = sorted(
        (
            (r.green_energy_share, r.entity_id)
            for r in results
            if r.green_energy_share is not None and r.green_energy_share < min_green_share
        ),
        key=lambda sr: sr[0],
    )
    return {
        "results": [r.to_dict() for r in results],
        "poor_performers": [eid for _, eid in poor],
        "low_green_share": [eid for _, eid in low],
    }


def county_comparison(
    statements: Iterable[Statement],
    counties: dict[str, str],
    *,
    intensity_key: str = "t_co2e_per_mu",
    good: float = 0.8,
    poor: float = 1.2,
) -> dict[str, dict]:
    """Secondary check of orchards: intensity against the median of their county.

    ``K_county = I / median(I of the county's orchards)``; ``good`` when K ≤ 0.8, ``poor``
    when K > 1.2, ``typical`` between (docs/methodology.md §1.3, proposed [G], reusing the 碳效码
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
    values: dict[str, tuple[str | None, float | None]] = {}
    for s in statements:
        c, i = counties.get(s.entity_id), s.intensities.get(intensity_key)
        values[s.entity_id] = (c, i)
        if c is not None and i is not None:
            by_county.setdefault(c, []).append(i)
    medians = {c: float(np.median(v)) for c, v in by_county.items()}
    out: dict[str, dict] = {}
    for eid, (c, i) in values.items():
        med = medians.get(c) if c is not None else None
        k = i / med if i is not None and med else None
        rating = None if k is None else ("good" if k <= good else "poor" if k > poor else "typical")
        out[eid] = {"county": c, "intensity": i, "county_median": med, "k": k, "rating": rating}
    return out
