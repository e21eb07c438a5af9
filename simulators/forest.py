"""Forest plot simulator: periodic inventories (``tree_survey`` records) of a stand.

Stand volume follows a Richards growth curve (illustrative parameters for Chinese fir,
杉木, in south-east China; Richards, J. Exp. Bot. 10, 1959):

    V(age) = v_max * (1 - exp(-k * age)) ** c     [m3/ha]

Above-ground biomass = V * D * BEF with the values commonly quoted for Chinese fir
(D = 0.307 t/m3, BEF = 1.634; docs/methodology.md §6, to verify against LY/T 2253). Stems die at
``mortality`` per year. Mean trunk diameter from the volume per stem with an illustrative
single-tree relation v = 7e-5 * DBH^2.6 [m3, cm]. Inventories on 1 March and 1 September,
so any 12-month window holds two.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from simulators.messages import DEFAULT_PREFIX, Message, date_ms, rng_for
from simulators.series import DeviceModel, YearSeries, readings
from simulators.weather import weather_start_ms

WOOD_DENSITY = 0.307  # t d.m./m3, Chinese fir
BEF = 1.634  # biomass expansion factor, Chinese fir
MU_PER_HA = 15.0


@dataclass(frozen=True)
class ForestSpec:
    """A forest plot: area [mu], species, planting year, stems per mu at planting."""

    id: str
    name: str
    county: str
    area_mu: float
    species: str = "chinese_fir"
    planted_year: int = 2008
    stems_per_mu: float = 110.0
    v_max_m3_ha: float = 420.0
    k: float = 0.07
    c: float = 2.2
    mortality: float = 0.01

    @property
    def devices(self) -> dict[str, str]:
        return {f"{self.id}-ft": "field_terminal"}


def stand_volume_m3_ha(spec: ForestSpec, when: date) -> float:
    """Richards-curve stand volume at ``when`` [m3/ha]."""
    age = max((when.toordinal() - date(spec.planted_year, 3, 1).toordinal()) / 365.25, 0.0)
    return spec.v_max_m3_ha * (1 - math.exp(-spec.k * age)) ** spec.c


def forest_events(spec: ForestSpec, seed: int, year: int) -> list[tuple[int, dict[str, Any]]]:
    """The inventories of ``year`` as ``(ts_ms, payload)``."""
    rng = rng_for(seed, spec.id, "inventory", year)
    out = []
    for i, month in enumerate((3, 9)):
        when = date(year, month, 1)
        age = (when.toordinal() - date(spec.planted_year, 3, 1).toordinal()) / 365.25
        stems = spec.stems_per_mu * spec.area_mu * (1 - spec.mortality) ** max(age, 0.0)
        volume = stand_volume_m3_ha(spec, when) * spec.area_mu / MU_PER_HA
        volume *= float(rng.uniform(0.995, 1.005))  # measurement error of the inventory
        per_stem = volume / stems
        dbh = (per_stem / 7e-5) ** (1 / 2.6)
        ts = date_ms(when, 10.0)
        out.append(
            (
                ts,
                {
                    "id": f"{spec.id}-{year}-inv{i + 1}",
                    "type": "tree_survey",
                    "ts": ts,
                    "trees": int(round(stems)),
                    "mean_trunk_diameter_cm": round(dbh, 2),
                    "volume_m3": round(volume, 1),
                    "biomass_t": round(volume * WOOD_DENSITY * BEF, 1),
                    "species": spec.species,
                },
            )
        )
    return out


class ForestTerminal(DeviceModel):
    """The plot's inventory terminal: events only."""

    has_data = False

    def __init__(self, spec: ForestSpec, seed: int) -> None:
        super().__init__(f"{spec.id}-ft", spec.id, "field_terminal", seed)
        self.spec = spec

    def build_year(self, year: int) -> YearSeries:
        return YearSeries(weather_start_ms(year))

    def build_events(self, year: int) -> list[tuple[int, dict[str, Any]]]:
        return forest_events(self.spec, self.seed, year)


def forest_models(spec: ForestSpec, seed: int) -> list[DeviceModel]:
    return [ForestTerminal(spec, seed)]


def forest_readings(
    spec: ForestSpec,
    start_ms: int,
    end_ms: int | None,
    step_s: int,
    seed: int,
    *,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[Message]:
    """Inventory records of the plot in [start_ms, end_ms) (``step_s`` unused: no readings)."""
    return readings(forest_models(spec, seed), start_ms, end_ms, step_s, prefix=prefix)


def forest_sequestration_t_co2(spec: ForestSpec, first: date, last: date) -> float:
    """True tree carbon gain between two dates [t CO2], stock difference (docs/methodology.md §6):
    dV * D * BEF * (1 + R) * CF * 44/12 with R 0.246 and CF 0.520 for Chinese fir."""
    dv = (stand_volume_m3_ha(spec, last) - stand_volume_m3_ha(spec, first)) * spec.area_mu / 15
    return dv * WOOD_DENSITY * BEF * 1.246 * 0.520 * 44 / 12
