"""Huyou (胡柚) orchard simulators: weather station, soil sensors, irrigation pump, field records.

Soil water is a daily bucket over the 0-30 cm layer (1 mm of water = 1/3 % volumetric):

    theta_{d+1} = theta_d + (0.6 rain_d + irrigation_d - ET_d) / 3,  drained 50 %/day above 38 %
    ET_d = 0.12 * max(Tmean_d, 0) + 0.8   [mm/d]   (a crude temperature index, illustrative)

The pump irrigates 10 mm (drip) on days from April to October when theta < 20 %, starting at
06:00, at ``0.5 m3/h`` and ``0.1 kW`` per mu. Soil temperature at 10 cm follows the daily mean
air temperature (exponential smoothing, alpha 0.25) with a 1 K daily swing peaking at 17:00.

Field records follow a huyou calendar (spring shoot fertiliser in March, fruit-expansion
fertiliser in June, post-harvest base fertiliser in late November, harvest from mid
November, quarterly tree surveys) with quantities from :class:`OrchardSpec`; each record has
a stable ``id`` so a resend is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from simulators.factory import WeatherStation
from simulators.messages import (
    DAY_MS,
    DEFAULT_PREFIX,
    ORIGIN_YEAR,
    SLOTS_PER_DAY,
    Message,
    date_ms,
    local_date,
    rng_for,
)
from simulators.series import DeviceModel, YearSeries, readings
from simulators.weather import Site, weather_start_ms, weather_year

COUNTY_SITES = {
    "changshan": Site("changshan", 28.90, 118.52, 0.2),
    "kecheng": Site("kecheng", 28.97, 118.87, 0.0),
    "qujiang": Site("qujiang", 28.98, 118.96, 0.1),
    "longyou": Site("longyou", 29.03, 119.17, 0.0),
    "jiangshan": Site("jiangshan", 28.74, 118.63, 0.1),
    "kaihua": Site("kaihua", 29.14, 118.41, -0.5),
}
#: Illustrative allometry of the simulator (not a published citrus equation):
#: above-ground dry biomass per tree B [kg] = 0.12 * D^2.35, D trunk diameter [cm].
ALLOMETRY_A, ALLOMETRY_B = 0.12, 2.35
COMPOUND = ("compound_15_15_15", 0.15, 0.15, 0.15)
UREA = ("urea", 0.46, 0.0, 0.0)
#: commercial organic fertiliser, nutrients at the NY/T 525-2021 minimum order (N+P+K >= 4 %)
ORGANIC = ("commercial_organic", 0.025, 0.015, 0.015)


@dataclass(frozen=True)
class OrchardSpec:
    """One huyou orchard and the management that decides its carbon balance.

    area_mu : [mu] (1 mu = 666.7 m2); trees_per_mu : [1/mu]
    tree_biomass_kg : above-ground dry biomass per tree on 1 Jan ORIGIN_YEAR [kg]
    growth_kg_per_tree : biomass gain per tree and year [kg/yr]
    synthetic_n_kg_per_mu : mineral N per year [kg N/mu/yr]; urea_share : part as urea [-]
    organic_t_per_mu : commercial organic fertiliser [t/mu/yr]
    diesel_l_per_mu [L/mu/yr]; pesticide_kg_per_mu [kg/mu/yr]; yield_t_per_mu [t/mu/yr]
    practices : subset of grass_cover, straw_return, organic_substitution
    intended_label : the colour the profile is designed to earn (the engine decides)
    """

    id: str
    name: str
    county: str
    area_mu: float
    intended_label: str
    trees_per_mu: float = 45.0
    tree_biomass_kg: float = 45.0
    growth_kg_per_tree: float = 3.0
    synthetic_n_kg_per_mu: float = 15.0
    urea_share: float = 0.0
    organic_t_per_mu: float = 0.0
    diesel_l_per_mu: float = 8.0
    pesticide_kg_per_mu: float = 0.6
    yield_t_per_mu: float = 2.5
    practices: tuple[str, ...] = ()
    soil_sensors: int = 2
    irrigated: bool = True
    notes: str = ""

    @property
    def site(self) -> Site:
        return COUNTY_SITES.get(self.county, Site(self.county))

    @property
    def devices(self) -> dict[str, str]:
        out = {f"{self.id}-ws": "weather_station"}
        for i in range(1, self.soil_sensors + 1):
            out[f"{self.id}-soil{i}"] = "soil_sensor"
        if self.irrigated:
            out[f"{self.id}-pump"] = "pump_meter"
        out[f"{self.id}-ft"] = "field_terminal"
        return out


@dataclass(frozen=True)
class SoilYear:
    moisture_pct: np.ndarray  # daily [%]
    soil_temp_c: np.ndarray  # daily mean [degC]
    irrigate: np.ndarray  # bool per day
    end_moisture: float
    end_soil_temp: float


@lru_cache(maxsize=256)  # three small daily arrays per entry
def soil_year(spec: OrchardSpec, seed: int, year: int) -> SoilYear:
    """Daily soil water balance and soil temperature of one year (see module docstring)."""
    if year <= ORIGIN_YEAR:
        theta, ts = 30.0, 8.0
    else:
        prev = soil_year(spec, seed, year - 1)
        theta, ts = prev.end_moisture, prev.end_soil_temp
    wx = weather_year(seed, spec.site, year)
    n = wx.n_days
    months = np.array([(date(year, 1, 1) + timedelta(days=i)).month for i in range(n)])
    moist, temp, irr = np.empty(n), np.empty(n), np.zeros(n, dtype=bool)
    for i in range(n):
        t_mean = wx.daily_mean_c[i]
        et = 0.12 * max(t_mean, 0.0) + 0.8
        water = 0.6 * wx.daily_rain_mm[i] - et
        if spec.irrigated and 4 <= months[i] <= 10 and theta < 20.0:
            irr[i] = True
            water += 10.0
        theta = theta + water / 3.0
        if theta > 38.0:
            theta -= 0.5 * (theta - 38.0)
        theta = min(max(theta, 8.0), 48.0)
        ts = ts + 0.25 * (t_mean - ts)
        moist[i], temp[i] = theta, ts
    return SoilYear(moist, temp, irr, theta, ts)


def _daily_to_slots(daily: np.ndarray) -> np.ndarray:
    return np.repeat(daily, SLOTS_PER_DAY)


class SoilSensor(DeviceModel):
    """Soil moisture and temperature at 10 cm; each sensor has its own calibration offset."""

    decimals = {"soil_moisture_pct": 1, "soil_temp_c": 2}

    def __init__(self, spec: OrchardSpec, device_id: str, seed: int) -> None:
        super().__init__(device_id, spec.id, "soil_sensor", seed)
        self.spec = spec
        self.offset = float(rng_for(seed, device_id, "offset").uniform(-2.5, 2.5))

    def build_year(self, year: int) -> YearSeries:
        sy = soil_year(self.spec, self.seed, year)
        hours = (np.arange(SLOTS_PER_DAY) + 0.5) / 4.0
        swing = np.cos(2 * np.pi * (hours - 17.0) / 24.0)
        temp = sy.soil_temp_c[:, None] + swing[None, :]
        return YearSeries(
            weather_start_ms(year),
            gauges={
                "soil_moisture_pct": _daily_to_slots(sy.moisture_pct) + self.offset,
                "soil_temp_c": temp.ravel(),
            },
            noise={"soil_moisture_pct": 0.01, "soil_temp_c": 0.005},
            bounds={"soil_moisture_pct": (0.0, 100.0)},
        )


class PumpMeter(DeviceModel):
    """Irrigation pump: electricity and water registers, power."""

    decimals = {"energy_kwh_total": 2, "water_m3_total": 2, "power_kw": 2}

    def __init__(self, spec: OrchardSpec, seed: int) -> None:
        dev = f"{spec.id}-pump"
        r0 = rng_for(seed, dev, "r0").uniform(100, 5000, 2).round(1)
        super().__init__(
            dev,
            spec.id,
            "pump_meter",
            seed,
            {"energy_kwh_total": float(r0[0]), "water_m3_total": float(r0[1])},
        )
        self.spec = spec

    def build_year(self, year: int) -> YearSeries:
        sy = soil_year(self.spec, self.seed, year)
        a = self.spec.area_mu
        water_per_day = 10.0 / 1000.0 * 666.7 * a  # 10 mm over the orchard [m3]
        flow, kw = 0.5 * a, 0.1 * a  # [m3/h], [kW]
        hours = min(water_per_day / flow, 20.0)
        slot_h = (np.arange(SLOTS_PER_DAY)) / 4.0
        on = np.clip((6.0 + hours - slot_h) * 4.0, 0.0, 1.0) * (slot_h >= 6.0)
        running = sy.irrigate[:, None] * on[None, :]
        kwh = (running * kw * 0.25).ravel()
        return YearSeries(
            weather_start_ms(year),
            increments={"energy_kwh_total": kwh, "water_m3_total": (running * flow * 0.25).ravel()},
            gauges={"power_kw": kwh / 0.25},
            noise={"power_kw": 0.01},
            bounds={"power_kw": (0.0, 1e5)},
        )


def _tree_biomass_kg(spec: OrchardSpec, ts_ms: int) -> float:
    years = (ts_ms - date_ms(date(ORIGIN_YEAR, 1, 1))) / (365.25 * 86_400_000)
    return spec.tree_biomass_kg + spec.growth_kg_per_tree * years


def orchard_events(spec: OrchardSpec, seed: int, year: int) -> list[tuple[int, dict[str, Any]]]:
    """The field records of one orchard in one year, as ``(ts_ms, payload)`` sorted by time."""
    rng = rng_for(seed, spec.id, "events", year)
    a = spec.area_mu
    out: list[tuple[int, dict[str, Any]]] = []

    def add(month: int, day: int, etype: str, **fields: Any) -> None:
        d = date(year, month, day) + timedelta(days=int(rng.integers(-3, 4)))
        if d.year != year:
            d = date(year, month, day)
        ts = date_ms(d, 8.0 + float(rng.integers(0, 9 * 60)) / 60.0)
        out.append((ts, {"id": "", "type": etype, "ts": ts, **fields}))

    def jit(x: float) -> float:
        return float(x * rng.uniform(0.95, 1.05))

    n_syn = spec.synthetic_n_kg_per_mu * a
    for (m, d), share in (((3, 1), 0.4), ((6, 15), 0.3), ((11, 28), 0.3)):
        n_kg = n_syn * (1 - spec.urea_share) * share
        if n_kg > 0:
            prod, nf, pf, kf = COMPOUND
            add(
                m,
                d,
                "fertilizer_applied",
                product=prod,
                mass_kg=round(jit(n_kg / nf), 1),
                n_frac=nf,
                p2o5_frac=pf,
                k2o_frac=kf,
                organic=False,
                area_mu=a,
            )
    if spec.urea_share > 0 and n_syn > 0:
        prod, nf, pf, kf = UREA
        add(
            4,
            10,
            "fertilizer_applied",
            product=prod,
            mass_kg=round(jit(n_syn * spec.urea_share / nf), 1),
            n_frac=nf,
            p2o5_frac=pf,
            k2o_frac=kf,
            organic=False,
            area_mu=a,
        )
    if spec.organic_t_per_mu > 0:
        prod, nf, pf, kf = ORGANIC
        add(
            12,
            10,
            "fertilizer_applied",
            product=prod,
            mass_kg=round(jit(spec.organic_t_per_mu * a * 1000), 1),
            n_frac=nf,
            p2o5_frac=pf,
            k2o_frac=kf,
            organic=True,
            area_mu=a,
        )
    for practice, (m, d) in (
        ("straw_return", (1, 20)),
        ("grass_cover", (3, 20)),
        ("organic_substitution", (12, 12)),
    ):
        if practice in spec.practices:
            add(m, d, "practice", practice=practice, area_mu=a)
    diesel_months = ((4, 10), (5, 20), (7, 1), (8, 15), (9, 25), (11, 20), (12, 1), (12, 15))
    for m, d in diesel_months:
        add(
            m,
            d,
            "fuel_used",
            fuel="diesel",
            litres=round(jit(spec.diesel_l_per_mu * a / len(diesel_months)), 1),
        )
    sprays: tuple[tuple[int, int, str], ...] = (
        (4, 25, "insecticide"),
        (6, 5, "fungicide"),
        (8, 5, "insecticide"),
    )
    sprays += ((10, 10, "fungicide"),)
    if "grass_cover" not in spec.practices:
        sprays += ((5, 10, "herbicide"), (9, 10, "herbicide"))
    for m, d, cls in sprays:
        add(
            m,
            d,
            "pesticide_applied",
            mass_kg=round(jit(spec.pesticide_kg_per_mu * a / len(sprays)), 2),
            **{"class": cls},
        )
    for (m, d), share in (((11, 15), 0.45), ((11, 25), 0.35), ((12, 5), 0.2)):
        add(m, d, "harvest", mass_t=round(jit(spec.yield_t_per_mu * a * share), 2))
    trees = int(round(spec.trees_per_mu * a))
    for m in (1, 4, 7, 10):
        add(m, 15, "tree_survey", trees=trees)
    out.sort(key=lambda e: e[0])
    for i, (ts, payload) in enumerate(out):
        payload["id"] = f"{spec.id}-{year}-{i:03d}"
        if payload["type"] == "tree_survey":
            b_tree = _tree_biomass_kg(spec, ts) * float(rng.uniform(0.999, 1.001))
            payload["mean_trunk_diameter_cm"] = round(
                (b_tree / ALLOMETRY_A) ** (1 / ALLOMETRY_B), 2
            )
            payload["biomass_t"] = round(b_tree * trees / 1000.0, 3)
            payload["species"] = "citrus_changshanhuyou"
    return out


#: how far back the field terminal's record book reaches when a history starts [d]
RECORD_BOOK_DAYS = 400


class FieldTerminal(DeviceModel):
    """The orchard's field-record terminal: events only, no readings."""

    has_data = False

    def __init__(self, spec: OrchardSpec, seed: int) -> None:
        super().__init__(f"{spec.id}-ft", spec.id, "field_terminal", seed)
        self.spec = spec

    def build_year(self, year: int) -> YearSeries:
        return YearSeries(weather_start_ms(year))

    def build_events(self, year: int) -> list[tuple[int, dict[str, Any]]]:
        return orchard_events(self.spec, self.seed, year)

    def record_book(self, start_ms: int) -> list[tuple[int, dict[str, Any]]]:
        """The farm's records from before ``start_ms`` that still count after it: the tree
        surveys and practices of the :data:`RECORD_BOOK_DAYS` before it (a stock-difference
        pair needs a survey about a year earlier; a practice is in force from its date)."""
        lo = start_ms - RECORD_BOOK_DAYS * DAY_MS
        out = []
        first = max(local_date(lo).year, ORIGIN_YEAR)
        for year in range(first, local_date(start_ms).year + 1):
            for t, payload in self.events(year):
                if lo <= t < start_ms and payload["type"] in ("tree_survey", "practice"):
                    out.append((t, payload))
        return out


def orchard_models(spec: OrchardSpec, seed: int) -> list[DeviceModel]:
    models: list[DeviceModel] = [
        WeatherStation(f"{spec.id}-ws", spec.id, spec.site, seed, rain=True)
    ]
    for i in range(1, spec.soil_sensors + 1):
        models.append(SoilSensor(spec, f"{spec.id}-soil{i}", seed))
    if spec.irrigated:
        models.append(PumpMeter(spec, seed))
    models.append(FieldTerminal(spec, seed))
    return models


def orchard_readings(
    spec: OrchardSpec,
    start_ms: int,
    end_ms: int | None,
    step_s: int,
    seed: int,
    *,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[Message]:
    """Readings and field records of one orchard in [start_ms, end_ms) [epoch ms]."""
    return readings(orchard_models(spec, seed), start_ms, end_ms, step_s, prefix=prefix)


def orchard_year_totals(spec: OrchardSpec, seed: int, year: int) -> dict[str, float]:
    """Activity data of one year, summed from the records and the pump register.

    Keys: synthetic_n_kg, organic_n_kg, p2o5_kg, k2o_kg, organic_product_kg, diesel_l,
    pesticide_kg, pump_kwh, harvest_t, biomass_gain_t (survey-to-survey, annualised).
    """
    tot = dict.fromkeys(
        (
            "synthetic_n_kg",
            "organic_n_kg",
            "p2o5_kg",
            "k2o_kg",
            "organic_product_kg",
            "diesel_l",
            "pesticide_kg",
            "pump_kwh",
            "harvest_t",
            "biomass_gain_t",
        ),
        0.0,
    )
    surveys = []
    for ts, p in orchard_events(spec, seed, year):
        t = p["type"]
        if t == "fertilizer_applied":
            n = p["mass_kg"] * p["n_frac"]
            if p["organic"]:
                tot["organic_n_kg"] += n
                tot["organic_product_kg"] += p["mass_kg"]
            else:
                tot["synthetic_n_kg"] += n
                tot["p2o5_kg"] += p["mass_kg"] * p["p2o5_frac"]
                tot["k2o_kg"] += p["mass_kg"] * p["k2o_frac"]
        elif t == "fuel_used":
            tot["diesel_l"] += p["litres"]
        elif t == "pesticide_applied":
            tot["pesticide_kg"] += p["mass_kg"]
        elif t == "harvest":
            tot["harvest_t"] += p["mass_t"]
        elif t == "tree_survey":
            surveys.append((ts, p["biomass_t"]))
    (t0, b0), (t1, b1) = surveys[0], surveys[-1]
    tot["biomass_gain_t"] = (b1 - b0) / ((t1 - t0) / (365.25 * 86_400_000))
    if spec.irrigated:
        pump = PumpMeter(spec, seed)
        tot["pump_kwh"] = pump.counter_total(
            "energy_kwh_total", date_ms(date(year + 1, 1, 1))
        ) - pump.counter_total("energy_kwh_total", date_ms(date(year, 1, 1)))
    return tot
