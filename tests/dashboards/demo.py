"""A small registry and a day of readings for the dashboard tests: one factory, two orchards."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from sitetime.clock import now_ms as clock_now_ms
from telemetry.model import Reading
from telemetry.registry import Registry

FACTORY = "factory-a"
LINES = ("line-a1", "line-a2")
METERS = {"line-a1": "meter-a1", "line-a2": "meter-a2"}
ORCHARDS = ("orchard-cs1", "orchard-cs3", "orchard-jj4", "orchard-kc2")
STEP_MS = 300_000  # one reading every 5 min
SILENT_GAS_MS = 40 * 60_000  # the gas meter stopped reporting this long ago
BASELINE_FROM_DAYS, BASELINE_TO_DAYS, INTERVENTION_DAYS = 500, 135, 120  # before now
HISTORY_DAYS = 501  # hourly readings kept for the baselines
#: the fixed instant the tests' clock starts at (2026-11-20 10:00 Asia/Shanghai): the orchards'
#: field records, the closed periods, the lines' baselines and the factory's live readings are
#: all placed against it, so nothing depends on the day the tests run
LABELS_NOW_MS = int(datetime(2026, 11, 20, 2, tzinfo=UTC).timestamp() * 1000)


def _day(now_ms: int, days_ago: int) -> str:
    """The local (UTC+8) date ``days_ago`` days before ``now_ms``, ISO."""
    t = datetime.fromtimestamp(now_ms / 1000 - days_ago * 86_400, UTC) + timedelta(hours=8)
    return t.date().isoformat()


def registry(now_ms: int | None = None) -> Registry:
    """Factory ``factory-a`` with two lines (baselines relative to ``now_ms``) and a gas meter;
    four orchards of four colours."""
    now_ms = now_ms or clock_now_ms()
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
                    "baseline_start": _day(now_ms, BASELINE_FROM_DAYS),
                    "baseline_end": _day(now_ms, BASELINE_TO_DAYS),
                    "intervention_date": _day(now_ms, INTERVENTION_DAYS),
                },
                {
                    "id": "line-a2",
                    "kind": "line",
                    "parent": FACTORY,
                    "name": "注塑 Injection moulding",
                    "baseline_start": _day(now_ms, BASELINE_FROM_DAYS),
                    "baseline_end": _day(now_ms, BASELINE_TO_DAYS),
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
                {"id": "gas-a", "entity": FACTORY, "role": "gas_meter"},
                {"id": "soil-cs1", "entity": "orchard-cs1", "role": "soil_sensor"},
            ],
        },
        source="dashboard demo",
    )


def power_kw(line: str, ts_ms: int) -> float:
    """A day-shaped load: base plus a daytime hump [kW] (the baseline behaviour)."""
    hour = (ts_ms / 3_600_000 + 8) % 24  # local hour, UTC+8
    base, peak = (120.0, 180.0) if line == "line-a1" else (60.0, 90.0)
    return base + peak * max(0.0, math.sin(math.pi * (hour - 6) / 14))


def factor(line: str, ts_ms: int, now_ms: int) -> float:
    """Change against the baseline: line-a1 saves 12 % since its intervention; line-a2 draws
    30 % more in the last 3 hours (a drift the page must flag)."""
    if line == "line-a1" and ts_ms >= now_ms - INTERVENTION_DAYS * 86_400_000:
        return 0.88
    if line == "line-a2" and ts_ms >= now_ms - 3 * 3_600_000:
        return 1.30
    return 1.0


def day_of_readings(now_ms: int, hours: int = 26, history_days: int = 0) -> list[Reading]:
    """Readings of both meters: hourly for ``history_days`` days, then every 5 min over the
    last ``hours`` hours up to 20 s before ``now_ms``; a gas meter silent for 40 minutes."""
    rng = np.random.default_rng(7)
    out = []
    recent = now_ms - hours * 3_600_000
    recent -= recent % STEP_MS
    first = now_ms - history_days * 86_400_000
    first -= first % 3_600_000
    for line, meter in METERS.items():
        kwh = 10_000.0
        times = list(range(first, recent, 3_600_000)) if history_days else []
        times += list(range(recent, now_ms - STEP_MS + 1, STEP_MS)) + [now_ms - 20_000]
        prev = None
        for t in times:
            p = power_kw(line, t) * factor(line, t, now_ms) * (1 + 0.02 * rng.standard_normal())
            if prev is not None:
                kwh += p * (t - prev) / 3_600_000
            out.append(Reading(line, meter, t, {"power_kw": p, "energy_kwh_total": kwh}))
            prev = t
    for i in range(12):
        t = now_ms - SILENT_GAS_MS - i * STEP_MS
        out.append(Reading(FACTORY, "gas-a", t, {"gas_m3_total": 5000.0 - i * 1.5}))
    return out


def orchard_events(now_ms: int) -> list:
    """Two years of monthly field records for the orchards, shaped to earn the four colours
    on a fully covered year (a label needs coverage >= 0.9).

    ``orchard-cs1`` fertilises lightly with organic fertiliser and keeps grass cover;
    ``orchard-kc2`` uses much more urea and diesel.
    """
    from telemetry.model import Event

    day = 86_400_000
    out = []
    plans = {
        "orchard-cs1": {"urea_kg": 120.0, "organic_kg": 800.0, "diesel_l": 15.0, "trees": 2400},
        "orchard-cs3": {"urea_kg": 140.0, "organic_kg": 300.0, "diesel_l": 30.0, "trees": 2000},
        "orchard-jj4": {"urea_kg": 150.0, "organic_kg": 0.0, "diesel_l": 50.0, "trees": 1800},
        "orchard-kc2": {"urea_kg": 900.0, "organic_kg": 0.0, "diesel_l": 90.0, "trees": 1300},
    }
    for orchard, plan in plans.items():
        for m in range(24):  # two years of monthly records: the labelled year is covered
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
                now_ms - 700 * day,
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

    from ledger.closing import close_entities
    from ledger.periods import Period
    from ledger.registry_sync import ensure_accounts

    ents = [registry.entities[o] for o in ORCHARDS]
    ensure_accounts(session, ents)
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    month = Period.containing("month", now, "Asia/Shanghai")
    for _ in range(12):
        month = Period.containing("month", month.start - timedelta(seconds=1), "Asia/Shanghai")
        close_entities(session, store, ents, month)
    year = Period.containing("year", now - timedelta(days=330), "Asia/Shanghai")
    close_entities(session, store, ents, year)
