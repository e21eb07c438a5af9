"""A small registry and a day of readings for the dashboard tests: one factory, two orchards."""

from __future__ import annotations

import math

from telemetry.model import Reading
from telemetry.registry import Registry

FACTORY = "factory-a"
LINES = ("line-a1", "line-a2")
METERS = {"line-a1": "meter-a1", "line-a2": "meter-a2"}
ORCHARDS = ("orchard-cs1", "orchard-cs3", "orchard-jj4", "orchard-kc2")
STEP_MS = 300_000  # one reading every 5 min
SILENT_COUNTER_MS = 40 * 60_000  # counter-a2 stopped reporting this long ago


def registry() -> Registry:
    """Factory ``factory-a`` with two lines and a meter each; four orchards of four colours."""
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
                    "booking_period": "month",
                    "name": "常山胡柚园一号",
                    "area_mu": 40.0,
                    "county": "常山县",
                },
                {
                    "id": "orchard-kc2",
                    "kind": "orchard",
                    "booking_period": "month",
                    "name": "柯城柑橘园二号",
                    "area_mu": 25.0,
                    "county": "柯城区",
                },
                {
                    "id": "orchard-cs3",
                    "kind": "orchard",
                    "booking_period": "month",
                    "name": "常山胡柚园三号",
                    "area_mu": 32.0,
                    "county": "常山县",
                },
                {
                    "id": "orchard-jj4",
                    "kind": "orchard",
                    "booking_period": "month",
                    "name": "江山柑橘园四号",
                    "area_mu": 28.0,
                    "county": "江山市",
                },
            ],
            "devices": [
                {"id": "meter-a1", "entity": "line-a1", "role": "electricity_meter"},
                {"id": "meter-a2", "entity": "line-a2", "role": "electricity_meter"},
                {"id": "counter-a2", "entity": "line-a2", "role": "production_counter"},
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
    # a production counter that went silent 40 minutes ago
    for i in range(12):
        t = now_ms - SILENT_COUNTER_MS - i * STEP_MS
        out.append(Reading("line-a2", "counter-a2", t, {"output_units_total": 5000.0 - i * 12}))
    return out


def orchard_events(now_ms: int) -> list:
    """A year of field records for the two orchards, shaped to earn different colours.

    ``orchard-cs1`` fertilises lightly with organic fertiliser and keeps grass cover;
    ``orchard-kc2`` uses much more urea and diesel.
    """
    from telemetry.model import Event

    day = 86_400_000
    out = []
    plans = {
        "orchard-cs1": {"urea_kg": 150.0, "organic_kg": 800.0, "diesel_l": 15.0, "trees": 2400},
        "orchard-cs3": {"urea_kg": 550.0, "organic_kg": 300.0, "diesel_l": 30.0, "trees": 2000},
        "orchard-jj4": {"urea_kg": 650.0, "organic_kg": 0.0, "diesel_l": 50.0, "trees": 1800},
        "orchard-kc2": {"urea_kg": 900.0, "organic_kg": 0.0, "diesel_l": 90.0, "trees": 1300},
    }
    for orchard, plan in plans.items():
        for m in range(14):
            ts = now_ms - (m * 30 + 12) * day
            out.append(
                Event(
                    orchard,
                    "http",
                    ts,
                    f"{orchard}-urea-{m}",
                    "fertilizer_applied",
                    {
                        "product": "urea",
                        "mass_kg": plan["urea_kg"],
                        "n_frac": 0.46,
                        "organic": False,
                    },
                )
            )
            if plan["organic_kg"]:
                out.append(
                    Event(
                        orchard,
                        "http",
                        ts,
                        f"{orchard}-org-{m}",
                        "fertilizer_applied",
                        {
                            "product": "organic",
                            "mass_kg": plan["organic_kg"],
                            "n_frac": 0.02,
                            "organic": True,
                        },
                    )
                )
            out.append(
                Event(
                    orchard,
                    "http",
                    ts,
                    f"{orchard}-fuel-{m}",
                    "fuel_used",
                    {"fuel": "diesel", "litres": plan["diesel_l"]},
                )
            )
        out.append(
            Event(
                orchard,
                "http",
                now_ms - 400 * day,
                f"{orchard}-survey-0",
                "tree_survey",
                {"trees": plan["trees"], "mean_trunk_diameter_cm": 10.0},
            )
        )
        out.append(
            Event(
                orchard,
                "http",
                now_ms - 20 * day,
                f"{orchard}-survey-1",
                "tree_survey",
                {"trees": plan["trees"], "mean_trunk_diameter_cm": 11.5},
            )
        )
    out.append(
        Event(
            "orchard-cs1",
            "http",
            now_ms - 300 * day,
            "cs1-grass",
            "practice",
            {"practice": "grass_cover", "area_mu": 40.0},
        )
    )
    return out


def close_orchards(session, store, registry, now_ms: int) -> None:
    """Close the last 12 months and the last 12-month year of both orchards (real closing job)."""
    from datetime import UTC, datetime, timedelta

    from accounts.closing import close_entities
    from accounts.periods import Period
    from accounts.registry_sync import ensure_accounts

    ents = [registry.entities[o] for o in ORCHARDS]
    ensure_accounts(session, ents)
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    month = Period.containing("month", now, "Asia/Shanghai")
    for _ in range(12):
        month = Period.containing("month", month.start - timedelta(seconds=1), "Asia/Shanghai")
        close_entities(session, store, ents, month)
    year = Period.containing("year", now - timedelta(days=330), "Asia/Shanghai")
    close_entities(session, store, ents, year)
