"""Synthetic weather of the Quzhou basin (Zhejiang) at 15-minute resolution.

Illustrative climatology, not observations: monthly means are rounded from the China
Meteorological Administration 1991-2020 normals for Quzhou station as commonly quoted
(annual mean ~17.5 degC, January ~5.5 degC, July ~29.5 degC, ~1,700 mm rain with the
plum-rain peak in June). Everything is deterministic for (seed, site, year).

Solar irradiance is the Haurwitz clear-sky model (Haurwitz, "Insolation in relation to
cloud type", J. Meteorology 3, 1946; as in pvlib ``clearsky.haurwitz``) times a daily
clearness factor; solar position from Cooper's declination (Cooper, Solar Energy 12, 1969)
and the hour angle, without the equation of time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from simulators.messages import SLOTS_PER_DAY, rng_for, year_start_ms

#: monthly rain [mm] and wet days, Quzhou (rounded climatology)
MONTHLY_RAIN_MM = (80, 110, 190, 200, 220, 300, 160, 130, 80, 60, 70, 55)
MONTHLY_WET_DAYS = (12, 13, 17, 16, 16, 16, 11, 12, 9, 8, 9, 8)


@dataclass(frozen=True, slots=True)
class Site:
    """Where weather is simulated: a key (distinct sites get distinct weather), position.

    lat, lon : [deg]; temp_offset_c : added to the regional temperature [degC]
    """

    key: str = "quzhou"
    lat: float = 28.97
    lon: float = 118.87
    temp_offset_c: float = 0.0


@dataclass(frozen=True)
class WeatherYear:
    """Flat per-slot arrays of one local year (n_days * 96)."""

    air_temp_c: np.ndarray
    humidity_pct: np.ndarray
    solar_wm2: np.ndarray
    rain_mm: np.ndarray  # rain in each slot [mm]
    daily_mean_c: np.ndarray  # [degC] per day
    daily_rain_mm: np.ndarray  # [mm] per day
    n_days: int


def days_in_year(year: int) -> int:
    return date(year + 1, 1, 1).toordinal() - date(year, 1, 1).toordinal()


def clear_sky_ghi(year: int, lat: float, lon: float) -> np.ndarray:
    """Clear-sky global horizontal irradiance at each slot centre [W/m2], shape (days, 96).

    GHI = 1098 * cos(z) * exp(-0.057 / cos(z)) for cos(z) > 0 (Haurwitz 1946).
    """
    n = days_in_year(year)
    doy = np.arange(1, n + 1)[:, None]
    hours = (np.arange(SLOTS_PER_DAY) + 0.5)[None, :] / 4.0  # local clock, UTC+8
    decl = np.radians(23.45) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    solar_time = hours + (lon - 120.0) / 15.0
    omega = np.radians(15.0 * (solar_time - 12.0))
    phi = np.radians(lat)
    cosz = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(omega)
    cosz = np.clip(cosz, 0.0, None)
    with np.errstate(divide="ignore"):
        ghi = np.where(cosz > 0.01, 1098.0 * cosz * np.exp(-0.057 / np.maximum(cosz, 0.01)), 0.0)
    return ghi


@lru_cache(maxsize=32)
def weather_year(seed: int, site: Site, year: int) -> WeatherYear:
    """The weather of ``site`` in local calendar ``year`` for ``seed``."""
    n = days_in_year(year)
    rng = rng_for(seed, "weather", site.key, year)
    doy = np.arange(1, n + 1)
    month = np.array([date.fromordinal(date(year, 1, 1).toordinal() + i).month for i in range(n)])
    # daily mean: seasonal cosine with minimum mid-January, plus smoothed anomalies
    seasonal = 17.5 - 12.0 * np.cos(2 * np.pi * (doy - 15) / 365.25) + site.temp_offset_c
    white = rng.standard_normal(n + 6)
    anomaly = np.convolve(white, np.ones(7) / np.sqrt(7.0), mode="valid")[:n] * 2.2
    wet_p = np.array(MONTHLY_WET_DAYS)[month - 1] / 30.4
    wet = rng.random(n) < wet_p
    mean_amount = np.array(MONTHLY_RAIN_MM)[month - 1] / np.array(MONTHLY_WET_DAYS)[month - 1]
    daily_rain = np.where(wet, rng.gamma(0.8, mean_amount / 0.8), 0.0)
    clearness = np.where(wet, rng.uniform(0.15, 0.5, n), rng.uniform(0.5, 0.95, n))
    daily_mean = seasonal + anomaly - 1.0 * wet
    # diurnal cycle: peak at 15:00, amplitude larger on clear days
    hours = (np.arange(SLOTS_PER_DAY) + 0.5) / 4.0
    amp = (2.0 + 5.0 * clearness)[:, None]
    temp = daily_mean[:, None] + amp * np.cos(2 * np.pi * (hours[None, :] - 15.0) / 24.0)
    ghi = clear_sky_ghi(year, site.lat, site.lon) * clearness[:, None]
    # rain: one contiguous spell per wet day, evenly spread over its slots
    rain = np.zeros((n, SLOTS_PER_DAY))
    starts = rng.integers(0, SLOTS_PER_DAY, n)
    lengths = rng.integers(4, 40, n)
    for i in np.flatnonzero(wet):
        s, ln = int(starts[i]), int(lengths[i])
        idx = np.arange(s, s + ln) % SLOTS_PER_DAY
        rain[i, idx] = daily_rain[i] / ln
    raining = rain > 0
    hum = 72.0 + 10.0 * wet[:, None] - 1.6 * (temp - daily_mean[:, None]) + 12.0 * raining
    hum = np.clip(hum, 25.0, 100.0)
    return WeatherYear(
        air_temp_c=temp.ravel(),
        humidity_pct=hum.ravel(),
        solar_wm2=ghi.ravel(),
        rain_mm=rain.ravel(),
        daily_mean_c=daily_mean,
        daily_rain_mm=daily_rain,
        n_days=n,
    )


def weather_start_ms(year: int) -> int:
    """Local midnight opening ``year`` [epoch ms] (slot 0 of :func:`weather_year`)."""
    return year_start_ms(year)
