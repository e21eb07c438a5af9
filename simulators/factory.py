"""Factory simulators: production lines with shifts, weather-driven load, meters, rooftop PV.

Model of one line, per 15-minute slot s of day d (all deterministic for a seed):

    units_s   = units_per_hour * 0.25 h * running_s * utilisation_d * (1 + 0.05 e_s)
    kWh_cf_s  = base_kw * 0.25 + kwh_per_unit * units_s
              + cooling_kw_per_k * max(T_s - cooling_base_c, 0) * 0.25 * (0.3 + 0.7 running_s)
    kWh_s     = kWh_cf_s * (1 - savings_frac)   for s at or after the intervention, else kWh_cf_s
    gas_s     = gas_m3_per_unit * units_s + gas_m3_per_kday * max(18 - Tmean_d, 0) / 96
    steam_s   = steam_t_per_unit * units_s

running_s is 1 inside a shift on a working day (Monday to Saturday or Friday, not in the
Spring Festival shutdown), utilisation_d ~ Beta(12, 2) with a 2 % chance of a breakdown day
(x 0.3), e_s standard normal noise. kWh_cf is the counterfactual (what the line would have
used without the intervention); :func:`line_energy_truth` returns both, so accounting tests
can check recovered savings against the truth.

PV: kWh_s = pv_kwp * GHI_s / 1000 W/m2 * 0.25 h * 0.80 (performance ratio, a typical value
for rooftop systems; IEC 61724-1 defines the ratio).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from simulators.messages import DEFAULT_PREFIX, SLOTS_PER_DAY, Message, date_ms, rng_for
from simulators.series import DeviceModel, YearSeries, readings
from simulators.weather import Site, days_in_year, weather_start_ms, weather_year

#: Lunar New Year's day; factories stop from 3 days before to 7 days after.
SPRING_FESTIVAL = {
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
PV_PERFORMANCE_RATIO = 0.80


@dataclass(frozen=True)
class LineSpec:
    """One production line and its meters.

    base_kw : load when idle [kW]; kwh_per_unit : energy per unit of output [kWh/unit]
    units_per_hour : output at full utilisation [unit/h]; shifts : (start_h, end_h) local
    workdays : 5 (Mon-Fri) or 6 (Mon-Sat); cooling_kw_per_k : cooling load per kelvin above
    cooling_base_c [kW/K]; gas_m3_per_unit [Nm3/unit]; gas_m3_per_kday : space heating per
    heating degree-day at 18 degC [Nm3/(K d)]; steam_t_per_unit [t/unit]
    intervention_date : first local day with the saving; savings_frac : fraction of the
    line's electricity the intervention removes [-]; output_unit : unit of
    ``output_units_total`` (e.g. ``m`` of fabric, ``pcs``)
    """

    id: str
    factory: str
    name: str
    base_kw: float = 40.0
    kwh_per_unit: float = 2.0
    units_per_hour: float = 60.0
    shifts: tuple[tuple[int, int], ...] = ((8, 16), (16, 24))
    workdays: int = 5
    cooling_kw_per_k: float = 6.0
    cooling_base_c: float = 18.0
    gas_m3_per_unit: float = 0.0
    gas_m3_per_kday: float = 0.0
    steam_t_per_unit: float = 0.0
    intervention_date: date | None = None
    savings_frac: float = 0.0
    intervention: str = "variable-speed drive"
    output_unit: str = "pcs"
    baseline_start: date | None = None
    baseline_end: date | None = None
    site: Site = field(default_factory=Site)
    #: the line's energy-management contract, as the registry's ``emc`` table (docs/registry.md)
    emc: dict[str, Any] | None = field(default=None, hash=False)

    @property
    def devices(self) -> dict[str, str]:
        """device id -> role."""
        out = {f"{self.id}-em": "electricity_meter", f"{self.id}-pc": "production_counter"}
        if self.gas_m3_per_unit or self.gas_m3_per_kday:
            out[f"{self.id}-gm"] = "gas_meter"
        if self.steam_t_per_unit:
            out[f"{self.id}-sm"] = "steam_meter"
        return out


@dataclass(frozen=True)
class FactorySpec:
    """A factory: industry code (GB/T 4754), value added [10^4 CNY/yr], rooftop PV [kWp]."""

    id: str
    name: str
    industry_code: str
    value_added_10k_cny: float
    lines: tuple[LineSpec, ...]
    pv_kwp: float = 0.0
    site: Site = field(default_factory=Site)

    @property
    def devices(self) -> dict[str, str]:
        out = {f"{self.id}-ws": "weather_station"}
        if self.pv_kwp:
            out[f"{self.id}-pv"] = "pv_meter"
        return out


class LineYear(NamedTuple):
    units: np.ndarray
    kwh: np.ndarray
    kwh_counterfactual: np.ndarray
    gas_m3: np.ndarray
    steam_t: np.ndarray


def _workdays(spec: LineSpec, year: int) -> np.ndarray:
    n = days_in_year(year)
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(n)]
    work = np.array([d.weekday() < spec.workdays for d in days])
    for y in (year - 1, year, year + 1):
        sf = SPRING_FESTIVAL.get(y)
        if sf:
            for i, d in enumerate(days):
                if -3 <= (d - sf).days <= 7:
                    work[i] = False
    return work


@lru_cache(maxsize=16)
def line_year(spec: LineSpec, seed: int, year: int) -> LineYear:
    """Per-slot output, electricity (actual and counterfactual), gas and steam of a year."""
    n = days_in_year(year)
    wx = weather_year(seed, spec.site, year)
    rng = rng_for(seed, spec.id, "line", year)
    hours = (np.arange(SLOTS_PER_DAY) + 0.5) / 4.0
    in_shift = np.zeros(SLOTS_PER_DAY, dtype=bool)
    for a, b in spec.shifts:
        in_shift |= (hours >= a) & (hours < b)
    running = _workdays(spec, year)[:, None] & in_shift[None, :]
    util = rng.beta(12, 2, n) * np.where(rng.random(n) < 0.02, 0.3, 1.0)
    slot_noise = rng.standard_normal((n, SLOTS_PER_DAY))
    units = (
        spec.units_per_hour
        * 0.25
        * running
        * util[:, None]
        * np.clip(1 + 0.05 * slot_noise, 0.5, 1.5)
    )
    temp = wx.air_temp_c.reshape(n, SLOTS_PER_DAY)
    cooling = (
        spec.cooling_kw_per_k
        * np.maximum(temp - spec.cooling_base_c, 0.0)
        * 0.25
        * (0.3 + 0.7 * running)
    )
    kwh_cf = spec.base_kw * 0.25 + spec.kwh_per_unit * units + cooling
    kwh_cf = kwh_cf * np.clip(1 + 0.03 * rng.standard_normal((n, SLOTS_PER_DAY)), 0.8, 1.2)
    kwh = kwh_cf.copy()
    if spec.intervention_date is not None and spec.savings_frac:
        first = (spec.intervention_date - date(year, 1, 1)).days
        if first < n:
            kwh[max(first, 0) :] *= 1.0 - spec.savings_frac
    hdd = np.maximum(18.0 - wx.daily_mean_c, 0.0)
    gas = spec.gas_m3_per_unit * units + spec.gas_m3_per_kday * hdd[:, None] / SLOTS_PER_DAY
    steam = spec.steam_t_per_unit * units
    return LineYear(units.ravel(), kwh.ravel(), kwh_cf.ravel(), gas.ravel(), steam.ravel())


def _register_start(seed: int, device: str, scale: float) -> float:
    return float(np.round(rng_for(seed, device, "r0").uniform(0.1, 1.0) * scale, 1))


class LineMeter(DeviceModel):
    """A line's electricity, production, gas or steam meter (``role`` picks which)."""

    _FIELDS = {
        "electricity_meter": ("energy_kwh_total", "kwh", 1e5),
        "production_counter": ("output_units_total", "units", 1e4),
        "gas_meter": ("gas_m3_total", "gas_m3", 1e4),
        "steam_meter": ("steam_t_total", "steam_t", 1e3),
    }
    decimals = {"output_units_total": 0, "power_kw": 2}

    def __init__(self, spec: LineSpec, device_id: str, role: str, seed: int, *, cf: bool = False):
        name, _, scale = self._FIELDS[role]
        super().__init__(
            device_id, spec.id, role, seed, {name: _register_start(seed, device_id, scale)}
        )
        self.spec = spec
        self.counterfactual = cf

    def build_year(self, year: int) -> YearSeries:
        ly = line_year(self.spec, self.seed, year)
        name, attr, _ = self._FIELDS[self.role]
        src = ly.kwh_counterfactual if self.counterfactual and attr == "kwh" else getattr(ly, attr)
        if attr == "units":
            src = np.floor(np.cumsum(src))
            src = np.diff(np.concatenate(([0.0], src)))  # whole units only
        ys = YearSeries(weather_start_ms(year), increments={name: src})
        if self.role == "electricity_meter":
            ys.gauges["power_kw"] = src / 0.25
            ys.noise["power_kw"] = 0.02
            ys.bounds["power_kw"] = (0.0, 1e5)
        return ys


class WeatherStation(DeviceModel):
    """Air temperature, humidity, irradiance and (optionally) a rain gauge register."""

    decimals = {"air_temp_c": 2, "humidity_pct": 1, "solar_wm2": 1, "rain_mm_total": 1}

    def __init__(
        self, device_id: str, entity_id: str, site: Site, seed: int, *, rain: bool = False
    ) -> None:
        super().__init__(device_id, entity_id, "weather_station", seed)
        self.site = site
        self.rain = rain

    def build_year(self, year: int) -> YearSeries:
        wx = weather_year(self.seed, self.site, year)
        ys = YearSeries(
            weather_start_ms(year),
            gauges={
                "air_temp_c": wx.air_temp_c,
                "humidity_pct": wx.humidity_pct,
                "solar_wm2": wx.solar_wm2,
            },
            noise={"air_temp_c": 0.01, "humidity_pct": 0.01, "solar_wm2": 0.03},
            bounds={"humidity_pct": (0.0, 100.0), "solar_wm2": (0.0, 1400.0)},
        )
        if self.rain:
            ys.increments["rain_mm_total"] = wx.rain_mm
        return ys


class PVMeter(DeviceModel):
    """Rooftop PV generation register."""

    decimals = {"pv_kwh_total": 2}

    def __init__(self, spec: FactorySpec, seed: int) -> None:
        dev = f"{spec.id}-pv"
        super().__init__(
            dev, spec.id, "pv_meter", seed, {"pv_kwh_total": _register_start(seed, dev, 1e4)}
        )
        self.spec = spec

    def build_year(self, year: int) -> YearSeries:
        wx = weather_year(self.seed, self.spec.site, year)
        kwh = self.spec.pv_kwp * wx.solar_wm2 / 1000.0 * 0.25 * PV_PERFORMANCE_RATIO
        return YearSeries(weather_start_ms(year), increments={"pv_kwh_total": kwh})


def line_models(spec: LineSpec, seed: int) -> list[DeviceModel]:
    return [LineMeter(spec, dev, role, seed) for dev, role in spec.devices.items()]


def factory_models(spec: FactorySpec, seed: int) -> list[DeviceModel]:
    """The factory's own devices (weather station, PV) followed by every line's meters."""
    models: list[DeviceModel] = [WeatherStation(f"{spec.id}-ws", spec.id, spec.site, seed)]
    if spec.pv_kwp:
        models.append(PVMeter(spec, seed))
    for line in spec.lines:
        models.extend(line_models(line, seed))
    return models


def line_readings(
    spec: LineSpec,
    start_ms: int,
    end_ms: int | None,
    step_s: int,
    seed: int,
    *,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[Message]:
    """Readings of one line's meters every ``step_s`` [s] in [start_ms, end_ms) [epoch ms]."""
    return readings(line_models(spec, seed), start_ms, end_ms, step_s, prefix=prefix)


def factory_readings(
    spec: FactorySpec,
    start_ms: int,
    end_ms: int | None,
    step_s: int,
    seed: int,
    *,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[Message]:
    """Readings of a factory's weather station, PV meter and all its lines' meters."""
    return readings(factory_models(spec, seed), start_ms, end_ms, step_s, prefix=prefix)


class EnergyTruth(NamedTuple):
    """Electricity of a line over a window [kWh]: metered, counterfactual and avoided."""

    actual_kwh: float
    counterfactual_kwh: float
    avoided_kwh: float


def line_energy_truth(spec: LineSpec, start_ms: int, end_ms: int, seed: int) -> EnergyTruth:
    """The true electricity use of a line over [start_ms, end_ms), with and without the
    intervention; ``avoided_kwh`` is what a perfect M&V model would recover (IPMVP
    avoided energy = counterfactual - metered)."""
    dev = f"{spec.id}-em"
    meter = LineMeter(spec, dev, "electricity_meter", seed)
    cf = LineMeter(spec, dev, "electricity_meter", seed, cf=True)
    actual = meter.counter_total("energy_kwh_total", end_ms) - meter.counter_total(
        "energy_kwh_total", start_ms
    )
    counter = cf.counter_total("energy_kwh_total", end_ms) - cf.counter_total(
        "energy_kwh_total", start_ms
    )
    return EnergyTruth(actual, counter, counter - actual)


def line_daily_truth(spec: LineSpec, first: date, last: date, seed: int) -> dict[str, np.ndarray]:
    """Daily totals of a line from ``first`` to ``last`` (inclusive, local days).

    Returns arrays ``date`` (ISO strings), ``kwh``, ``kwh_counterfactual``, ``units``,
    ``gas_m3``, ``steam_t`` and ``mean_temp_c`` [degC], for baseline-model tests.
    """
    out: dict[str, list] = {
        k: []
        for k in (
            "date",
            "kwh",
            "kwh_counterfactual",
            "units",
            "gas_m3",
            "steam_t",
            "mean_temp_c",
        )
    }
    d = first
    while d <= last:
        ly = line_year(spec, seed, d.year)
        i = (d - date(d.year, 1, 1)).days
        sl = slice(i * SLOTS_PER_DAY, (i + 1) * SLOTS_PER_DAY)
        out["date"].append(d.isoformat())
        out["kwh"].append(float(ly.kwh[sl].sum()))
        out["kwh_counterfactual"].append(float(ly.kwh_counterfactual[sl].sum()))
        out["units"].append(float(ly.units[sl].sum()))
        out["gas_m3"].append(float(ly.gas_m3[sl].sum()))
        out["steam_t"].append(float(ly.steam_t[sl].sum()))
        out["mean_temp_c"].append(float(weather_year(seed, spec.site, d.year).daily_mean_c[i]))
        d += timedelta(days=1)
    return {k: np.array(v) for k, v in out.items()}


def intervention_ms(spec: LineSpec) -> int | None:
    """Local midnight starting the intervention day [epoch ms]."""
    return date_ms(spec.intervention_date) if spec.intervention_date else None
