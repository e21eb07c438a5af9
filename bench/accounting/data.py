"""Synthetic fleet and telemetry for the accounting benchmark.

Entities come in groups of 10: one factory (main meter: ``energy_kwh_total``), six lines of
that factory (``energy_kwh_total`` and ``output_units_total``) and three orchards (field
events only). Registers are read every hour, from one hour before the period to one hour
past its end, so the closing job finds the reading before the period and the one after it.

Increments are drawn once per entity (seeded), so a run is reproducible: a line uses
40-160 kWh/h and makes 5-20 units/h; a factory's main meter 10-40 kWh/h.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from telemetry.model import Event, Reading

HOUR_MS = 3_600_000
LINES_PER_FACTORY = 6
ORCHARDS_PER_GROUP = 3
GROUP = 1 + LINES_PER_FACTORY + ORCHARDS_PER_GROUP


def fleet(n: int) -> list[dict[str, Any]]:
    """``n`` registry-like entity dicts (``n`` a multiple of 10 gives whole groups)."""
    out: list[dict[str, Any]] = []
    g = 0
    while len(out) < n:
        fid = f"f{g:05d}"
        group: list[dict[str, Any]] = [{"id": fid, "kind": "factory", "booking_period": "day"}]
        group += [
            {"id": f"{fid}-l{k}", "kind": "line", "parent": fid, "booking_period": "day"}
            for k in range(1, LINES_PER_FACTORY + 1)
        ]
        group += [
            {
                "id": f"o{g:05d}-{k}",
                "kind": "orchard",
                "area_mu": 20.0 + 10 * k,
                "booking_period": "day",
            }
            for k in range(1, ORCHARDS_PER_GROUP + 1)
        ]
        out += group
        g += 1
    return out[:n]


def _rates(entities: list[dict[str, Any]], seed: int = 1) -> dict[str, tuple[float, float]]:
    """Per metered entity: (kWh per hour, output units per hour; 0 for a factory meter)."""
    rng = np.random.default_rng(seed)
    out = {}
    for e in entities:
        if e["kind"] == "line":
            out[e["id"]] = (float(rng.uniform(40, 160)), float(rng.uniform(5, 20)))
        elif e["kind"] == "factory":
            out[e["id"]] = (float(rng.uniform(10, 40)), 0.0)
    return out


def hours(start_ms: int, end_ms: int) -> np.ndarray:
    """Reading times [ms]: hourly from one hour before ``start_ms`` to one hour past ``end_ms``."""
    return np.arange(start_ms - HOUR_MS, end_ms + HOUR_MS + 1, HOUR_MS, dtype=np.int64)


def reading_lines(entities: list[dict[str, Any]], start_ms: int, end_ms: int) -> Iterator[str]:
    """InfluxDB line protocol of every register reading (``telemetry`` measurement, ns)."""
    ts = hours(start_ms, end_ms)
    ts_ns = [str(int(t) * 1_000_000) for t in ts]
    steps = np.arange(len(ts), dtype=np.float64)
    for eid, (kwh, units) in _rates(entities).items():
        energy = 1000.0 + kwh * steps
        if units:
            output = 500.0 + units * steps
            prefix = f"telemetry,entity={eid},device=m-{eid} energy_kwh_total="
            for t, e, o in zip(ts_ns, energy.tolist(), output.tolist(), strict=True):
                yield f"{prefix}{e!r},output_units_total={o!r} {t}"
        else:
            prefix = f"telemetry,entity={eid},device=m-{eid} energy_kwh_total="
            for t, e in zip(ts_ns, energy.tolist(), strict=True):
                yield f"{prefix}{e!r} {t}"


def readings(entities: list[dict[str, Any]], start_ms: int, end_ms: int) -> Iterator[Reading]:
    """The same readings as :func:`reading_lines`, as :class:`Reading` objects (SQLite)."""
    ts = hours(start_ms, end_ms).tolist()
    steps = np.arange(len(ts), dtype=np.float64)
    for eid, (kwh, units) in _rates(entities).items():
        energy = (1000.0 + kwh * steps).tolist()
        output = (500.0 + units * steps).tolist()
        for t, e, o in zip(ts, energy, output, strict=True):
            values = (
                {"energy_kwh_total": e, "output_units_total": o}
                if units
                else {"energy_kwh_total": e}
            )
            yield Reading(eid, f"m-{eid}", t, values)


def events(entities: list[dict[str, Any]], start_ms: int, end_ms: int) -> list[Event]:
    """Field records of the orchards, spread evenly over ``[start_ms, end_ms)``.

    A day: one fertiliser application per orchard. A longer period: per orchard and per
    quarter one compound fertiliser and one pesticide application, plus one grass-cover
    practice record and one harvest.
    """
    out: list[Event] = []
    span = end_ms - start_ms
    quarters = max(1, min(4, span // (80 * 24 * HOUR_MS)))
    for e in entities:
        if e["kind"] != "orchard":
            continue
        eid, area = e["id"], e["area_mu"]
        for q in range(quarters):
            t = start_ms + span * q // quarters + 10 * HOUR_MS
            out.append(
                Event(
                    eid,
                    f"p-{eid}",
                    t,
                    f"{eid}-fert-{q}",
                    "fertilizer_applied",
                    {
                        "product": "compound",
                        "mass_kg": 2.0 * area,
                        "n_frac": 0.15,
                        "p2o5_frac": 0.15,
                        "k2o_frac": 0.15,
                        "organic": False,
                    },
                )
            )
            if quarters > 1:
                out.append(
                    Event(
                        eid,
                        f"p-{eid}",
                        t + HOUR_MS,
                        f"{eid}-pest-{q}",
                        "pesticide_applied",
                        {"mass_kg": 0.05 * area},
                    )
                )
        if quarters > 1:
            out.append(
                Event(
                    eid,
                    f"p-{eid}",
                    start_ms + 5 * HOUR_MS,
                    f"{eid}-grass",
                    "practice",
                    {"practice": "grass_cover", "area_mu": area / 2},
                )
            )
            out.append(
                Event(
                    eid,
                    f"p-{eid}",
                    start_ms + span * 5 // 6,
                    f"{eid}-harvest",
                    "harvest",
                    {"mass_t": 0.1 * area},
                )
            )
    return out


def points(entities: list[dict[str, Any]], start_ms: int, end_ms: int) -> int:
    """Number of register values written (fields, not lines)."""
    n = len(hours(start_ms, end_ms))
    return sum(n * (2 if units else 1) for _, units in _rates(entities).values())
