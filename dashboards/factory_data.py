"""The figures of a factory's live page that the ``/v1`` API does not hold: today so far.

``GET /dashboards/data/factory/{factory_id}`` (same API key and visibility as ``/v1``) returns,
for each line of the factory: the power now, the electricity used since local midnight and its
CO2, the devices with the time of their last reading, and a 24-hour power trend. Savings
against the baseline come from the ``/v1`` savings routes, which own the baseline models.

Energy today is the usage of the ``energy_kwh_total`` registers over ``[midnight, now)`` with
:func:`accounting.activity.register_usage` (resets and meter swaps handled there); the CO2 is
:func:`accounting.emissions.electricity_co2` with the line's grid factor
(``grid_factor_key``, default ``electricity.grid``) from the factor set
:data:`FACTOR_SET` — the same functions and factors the closing job uses, so today's figure
and the day's statement agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accounting.activity import DEFAULT_MAX_RATE_PER_HOUR, register_usage
from accounting.emissions import electricity_co2
from accounting.factors import load_factor_set
from sitetime import clock
from sitetime.calendar import site_calendar

#: factor set of the live estimate (the closing job's default)
FACTOR_SET = "cn-mee-2023"
#: width of a bucket of the 24-hour trend [s]
TREND_EVERY_S = 300


def local_midnight_ms(now_ms: int) -> int:
    """Start of the site calendar's local day holding ``now_ms`` [ms since the epoch]."""
    cal = site_calendar()
    return cal.midnight_ms(cal.local_date(now_ms))


def _grid_factor(key: str) -> dict[str, Any]:
    fs = load_factor_set(FACTOR_SET)
    f = fs.get(key)
    return {
        "set": FACTOR_SET,
        "key": f.key or key,
        "value": f.value,
        "unit": f.unit,
        "source": f.source,
    }


def factory_summary(store: Any, registry: Any, factory_id: str, now_ms: int | None = None) -> dict:
    """Today's figures of every line of ``factory_id`` (see the module docstring)."""
    now_ms = now_ms or clock.now_ms()
    midnight = local_midnight_ms(now_ms)
    factory = registry.entities[factory_id]
    lines = [e for e in registry.children(factory_id) if e.kind == "line"]
    ids = [factory_id, *[ln.id for ln in lines]]
    latest = store.latest(entities=ids) if store is not None else []
    last_seen: dict[str, int] = {}
    power: dict[str, dict[str, float]] = {}
    for v in latest:
        last_seen[v.device] = max(last_seen.get(v.device, 0), v.ts_ms)
        if v.field == "power_kw":
            p = power.setdefault(v.entity, {"value": 0.0, "ts_ms": 0})
            p["value"] += v.value
            p["ts_ms"] = max(p["ts_ms"], v.ts_ms)
    energy = (
        store.series("energy_kwh_total", midnight, now_ms + 1, entities=ids, previous=True)
        if store is not None
        else {}
    )
    trend = (
        store.downsample(
            "power_kw", now_ms - 86_400_000, now_ms + 1, TREND_EVERY_S, entities=ids, fn="mean"
        )
        if store is not None and hasattr(store, "downsample")
        else {}
    )
    rate = DEFAULT_MAX_RATE_PER_HOUR["energy_kwh_total"]
    out_lines = []
    for ln in lines:
        kwh, coverage = 0.0, []
        for (entity, _device), s in energy.items():
            if entity != ln.id or len(s) == 0:
                continue
            u = register_usage(s.ts_ms, s.values, midnight, now_ms + 1, max_rate_per_hour=rate)
            kwh += u.total
            coverage.append(u.coverage)
        factor = _grid_factor(ln.attrs.get("grid_factor_key", "electricity.grid"))
        out_lines.append(
            {
                "id": ln.id,
                "name": ln.name or ln.attrs.get("name") or ln.id,
                "power_kw": power.get(ln.id),
                "energy_today_kwh": kwh,
                "co2_today_t": float(electricity_co2(kwh, factor["value"])),
                "coverage_today": min(coverage) if coverage else 0.0,
                "grid_factor": factor,
                "intervention_date": _iso(ln.attrs.get("intervention_date")),
                "baseline_start": _iso(ln.attrs.get("baseline_start")),
                "baseline_end": _iso(ln.attrs.get("baseline_end")),
                "trend": _line_trend(trend, ln.id),
            }
        )
    devices = [
        {
            "id": d.id,
            "entity": d.entity,
            "role": d.role,
            "last_ts_ms": last_seen.get(d.id),
        }
        for eid in ids
        for d in registry.devices_of(eid)
    ]
    return {
        "factory": {"id": factory_id, "name": factory.name or factory.attrs.get("name")},
        "now_ms": now_ms,
        "day_start_ms": midnight,
        "timezone": "UTC+08:00",
        "lines": out_lines,
        "devices": devices,
        "trend_every_s": TREND_EVERY_S,
    }


def _line_trend(trend: dict, line_id: str) -> dict[str, list]:
    """Sum the meters of one line per bucket: ``{"ts_ms": [...], "kw": [...]}``."""
    acc: dict[int, float] = {}
    for (entity, _device), s in trend.items():
        if entity != line_id:
            continue
        for t, v in zip(s.ts_ms.tolist(), s.values.tolist(), strict=True):
            if np.isfinite(v):
                acc[t] = acc.get(t, 0.0) + v
    ts = sorted(acc)
    return {"ts_ms": ts, "kw": [acc[t] for t in ts]}


def _iso(v: Any) -> str | None:
    if v is None:
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)
