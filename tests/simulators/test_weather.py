"""The synthetic Quzhou weather stays within the climatology it is built from.

Targets (rounded climatology of Quzhou station quoted in simulators/weather.py): annual mean
~17.5 degC, January ~5 degC, July ~29 degC, ~1,700 mm rain; global horizontal irradiation in
Zhejiang roughly 1,100-1,400 kWh/m2/yr (CMA solar resource zoning, zone III).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulators.messages import hash01
from simulators.weather import Site, clear_sky_ghi, weather_year


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_climatology(seed) -> None:
    w = weather_year(seed, Site(), 2025)
    t = w.air_temp_c.reshape(-1, 96)
    assert 16.5 <= t.mean() <= 18.5
    assert 3.0 <= t[:31].mean() <= 7.5  # January
    assert 27.0 <= t[181:212].mean() <= 31.0  # July
    assert 1200 <= w.rain_mm.sum() <= 2200
    assert 1100 <= w.solar_wm2.sum() * 0.25 / 1000 <= 1450  # [kWh/m2/yr]
    assert w.humidity_pct.min() >= 0 and w.humidity_pct.max() <= 100
    assert np.isclose(w.rain_mm.reshape(-1, 96).sum(axis=1), w.daily_rain_mm).all()


def test_clear_sky_noon_and_night() -> None:
    """Haurwitz: GHI = 1098 cos z exp(-0.057 / cos z); at Quzhou summer-solstice noon the
    zenith angle is about 28.97 - 23.44 = 5.5 deg, so GHI = 1098 * 0.995 * exp(-0.0573)."""
    ghi = clear_sky_ghi(2025, 28.97, 120.0)  # on the time-zone meridian: solar noon = 12:00
    june21 = 171
    noon = ghi[june21, 47:49].mean()  # slots centred on 11:52 and 12:07
    expected = 1098 * np.cos(np.radians(5.5)) * np.exp(-0.057 / np.cos(np.radians(5.5)))
    assert noon == pytest.approx(expected, rel=0.01)
    assert ghi[june21, :16].max() == 0.0  # before 04:00
    assert ghi[:, 0].max() == 0.0  # midnight


def test_hash_noise_is_uniform_and_stable() -> None:
    t = np.arange(1_700_000_000, 1_700_100_000)
    u = hash01(12345, t)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    assert np.array_equal(u, hash01(12345, t))
    assert not np.array_equal(u, hash01(12346, t))
