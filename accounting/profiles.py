"""Entity profiles: the static attributes the accounting engine needs about an entity.

Kinds: ``factory``, ``line`` (a production line of a factory; ``parent`` = factory id),
``orchard`` and ``forest``. The closing job builds a profile from the registry entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from accounting.errors import InvalidProfileError
from accounting.events import PRACTICES

KINDS = ("factory", "line", "orchard", "forest")


@dataclass(frozen=True)
class EntityProfile:
    """Static attributes of an accounted entity.

    Attributes
    ----------
    id, kind, parent : str
        Registry id, kind (factory | line | orchard | forest), parent id (lines).
    name : str, optional
    area_mu : float, optional
        Area [mu] (orchards, forests; optional for factories).
    county : str, optional
        County (e.g. 常山县) for county medians.
    industry_code : str, optional
        Industry class (GB/T 4754 code) for benchmarking factories.
    value_added_10k_cny : float, optional
        Annual value added [10⁴ CNY]; intensities pro-rate it over the period.
    output_unit : str
        Unit of ``output_units_total`` (e.g. "t", "pcs").
    baseline_start, baseline_end : date, optional
        Baseline period of a line's savings model.
    intervention_date : date, optional
        Start of the reporting period of a line's savings.
    grid_factor_key : str
        Factor key of the grid factor to use (default ``electricity.grid``).
    practices : dict
        Practices in force, practice -> area [mu] (grass_cover, straw_return,
        organic_substitution); practice events of the period add to it.
    orchard_mature : bool
        True for an orchard at steady state: no Tier 1 biomass gain.
    forest_species : str, optional
        Species key of the factor set (``chinese_fir``, ``masson_pine``).
    """

    id: str
    kind: str
    parent: str | None = None
    name: str | None = None
    area_mu: float | None = None
    county: str | None = None
    industry_code: str | None = None
    value_added_10k_cny: float | None = None
    output_unit: str = "units"
    baseline_start: date | None = None
    baseline_end: date | None = None
    intervention_date: date | None = None
    grid_factor_key: str = "electricity.grid"
    practices: dict[str, float] = field(default_factory=dict)
    orchard_mature: bool = False
    forest_species: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidProfileError(f"{self.id}: unknown kind {self.kind!r}; one of {KINDS}")
        if self.area_mu is not None and not self.area_mu >= 0:
            raise InvalidProfileError(f"{self.id}: area_mu must be >= 0")
        if self.kind in ("orchard", "forest") and not self.area_mu:
            raise InvalidProfileError(f"{self.id}: a {self.kind} needs area_mu > 0")
        if self.kind == "line" and not self.parent:
            raise InvalidProfileError(f"{self.id}: a line needs its parent factory")
        for p, a in self.practices.items():
            if p not in PRACTICES or not a >= 0:
                raise InvalidProfileError(f"{self.id}: bad practice {p!r}={a!r}")
        if self.value_added_10k_cny is not None and not self.value_added_10k_cny > 0:
            raise InvalidProfileError(f"{self.id}: value_added_10k_cny must be > 0")

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("baseline_start", "baseline_end", "intervention_date"):
            d[k] = d[k].isoformat() if d[k] else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EntityProfile:
        d = dict(d)
        for k in ("baseline_start", "baseline_end", "intervention_date"):
            if d.get(k):
                d[k] = date.fromisoformat(d[k])
        return cls(**d)
