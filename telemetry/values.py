"""Value names of the wire contract, with units, kinds and physical bounds.

Every value a device publishes on its ``data`` channel is named for what it measures and
carries its unit in the name; a ``_total`` suffix marks a cumulative register (the Prometheus
convention). Bounds are physical plausibility limits for one reading, not alarm limits: a value
outside them is rejected with reason ``value_out_of_bounds``.

This table is the single source of truth; docs/protocol.md lists the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge"]


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """One value name of the contract.

    name : value name as sent on the wire
    unit : unit of the value, e.g. ``kWh``
    kind : ``counter`` (cumulative register, never negative use) or ``gauge``
    low, high : inclusive physical bounds of one reading [unit]
    description : what the value measures
    """

    name: str
    unit: str
    kind: Kind
    low: float
    high: float
    description: str


# Counters: bounds of the register itself (a 12-digit register holds < 1e12).
_REGISTER_MAX = 1e12

VALUE_SPECS: dict[str, ValueSpec] = {
    s.name: s
    for s in (
        ValueSpec(
            "energy_kwh_total", "kWh", "counter", 0.0, _REGISTER_MAX, "active energy register"
        ),
        ValueSpec("power_kw", "kW", "gauge", -1e5, 1e5, "active power (negative = export)"),
        ValueSpec("gas_m3_total", "Nm3", "counter", 0.0, _REGISTER_MAX, "natural gas register"),
        ValueSpec("steam_t_total", "t", "counter", 0.0, _REGISTER_MAX, "purchased steam register"),
        ValueSpec("water_m3_total", "m3", "counter", 0.0, _REGISTER_MAX, "water register"),
        ValueSpec("diesel_l_total", "L", "counter", 0.0, _REGISTER_MAX, "diesel register"),
        ValueSpec(
            "output_units_total",
            "unit",
            "counter",
            0.0,
            _REGISTER_MAX,
            "production output register",
        ),
        ValueSpec(
            "pv_kwh_total", "kWh", "counter", 0.0, _REGISTER_MAX, "on-site PV generation register"
        ),
        ValueSpec("soil_moisture_pct", "%", "gauge", 0.0, 100.0, "volumetric soil moisture"),
        ValueSpec("soil_temp_c", "degC", "gauge", -30.0, 70.0, "soil temperature"),
        ValueSpec("air_temp_c", "degC", "gauge", -50.0, 60.0, "air temperature"),
        ValueSpec("humidity_pct", "%", "gauge", 0.0, 100.0, "relative humidity"),
        ValueSpec("rain_mm_total", "mm", "counter", 0.0, _REGISTER_MAX, "rain gauge register"),
        ValueSpec("solar_wm2", "W/m2", "gauge", 0.0, 1500.0, "global horizontal irradiance"),
    )
}


def is_counter(name: str) -> bool:
    """True when ``name`` is a cumulative register (``_total`` suffix)."""
    return name.endswith("_total")
