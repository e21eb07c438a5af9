"""A small registry and a day of readings for the dashboard tests: one factory, two orchards."""

from __future__ import annotations

import math

from telemetry.model import Reading
from telemetry.registry import Registry

FACTORY = "factory-a"
LINES = ("line-a1", "line-a2")
METERS = {"line-a1": "meter-a1", "line-a2": "meter-a2"}
ORCHARDS = ("orchard-cs1", "orchard-kc2")
STEP_MS = 300_000  # one reading every 5 min


def registry() -> Registry:
    """Factory ``factory-a`` with two lines and a meter each; two huyou orchards."""
    return Registry.from_dict(
        {
            "entities": [
                {
                    "id": FACTORY,
                    "kind": "factory",
                    "name": "衢州示范工厂 Quzhou demo plant",
                    "industry_code": "C2710",
                },
                {
                    "id": "line-a1",
                    "kind": "line",
                    "parent": FACTORY,
                    "name": "压缩空气 Compressors",
                    "baseline_start": "2025-01-01",
                    "baseline_end": "2025-12-31",
                    "intervention_date": "2026-01-15",
                },
                {
                    "id": "line-a2",
                    "kind": "line",
                    "parent": FACTORY,
                    "name": "注塑 Injection moulding",
                },
                {
                    "id": "orchard-cs1",
                    "kind": "orchard",
                    "name": "常山胡柚园一号",
                    "area_mu": 40.0,
                    "county": "常山县",
                },
                {
                    "id": "orchard-kc2",
                    "kind": "orchard",
                    "name": "柯城柑橘园二号",
                    "area_mu": 25.0,
                    "county": "柯城区",
                },
            ],
            "devices": [
                {"id": "meter-a1", "entity": "line-a1", "role": "electricity_meter"},
                {"id": "meter-a2", "entity": "line-a2", "role": "electricity_meter"},
                {"id": "soil-cs1", "entity": "orchard-cs1", "role": "soil_sensor"},
            ],
        },
        source="dashboard demo",
    )


def power_kw(line: str, ts_ms: int) -> float:
    """A day-shaped load: base plus a daytime hump [kW]."""
    hour = (ts_ms / 3_600_000 + 8) % 24  # local hour, UTC+8
    base, peak = (120.0, 180.0) if line == "line-a1" else (60.0, 90.0)
    return base + peak * max(0.0, math.sin(math.pi * (hour - 6) / 14))


def day_of_readings(now_ms: int, hours: int = 26) -> list[Reading]:
    """Readings of both meters every 5 min over the last ``hours`` hours, ending at ``now_ms``."""
    out = []
    start = now_ms - hours * 3_600_000
    start -= start % STEP_MS
    for line, meter in METERS.items():
        kwh = 10_000.0
        t = start
        while t <= now_ms - STEP_MS:
            p = power_kw(line, t)
            kwh += p * STEP_MS / 3_600_000
            out.append(Reading(line, meter, t, {"power_kw": p, "energy_kwh_total": kwh}))
            t += STEP_MS
        p = power_kw(line, now_ms)
        kwh += p * (now_ms - 20_000 - (t - STEP_MS)) / 3_600_000
        out.append(Reading(line, meter, now_ms - 20_000, {"power_kw": p, "energy_kwh_total": kwh}))
    return out
