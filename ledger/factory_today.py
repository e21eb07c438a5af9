"""Today so far of a factory (a service of the live factory page): what the `/v1` API does not hold.

``GET /dashboards/data/factory/{factory_id}`` (same API key and visibility as ``/v1``) returns,
for each line of the factory: the power now, the electricity used since local midnight, the
CO2 of every source today, the devices with the time of their last reading, and a 24-hour
power trend; and for the factory the CO2 of all its sources today. Savings against the
baseline come from the ``/v1`` savings routes, which own the baseline models; a line under an
energy-management contract carries its partner and split (``emc``), its money comes from
``/v1/lines/{id}/emc``.

Usage today is the usage of each register (``energy_kwh_total``, ``gas_m3_total``,
``steam_t_total``, ``pv_kwh_total``) over ``[midnight, now)`` with
:func:`accounting.activity.register_usage` (resets and meter swaps handled there); the CO2
is :func:`accounting.inventory.emission_lines` — the functions and factors the closing job
uses — with the factor set of the entity (attribute ``factor_set`` of the line, else of the
factory, else :data:`FACTOR_SET`).

Electricity is counted once (docs/dashboards.md, "Emissions today"): line meters measure
what the lines use; on-site PV (``pv_kwh_total``) supplies part of it at zero carbon
(``electricity.onsite_pv``), so the grid import is ``max(use − PV, 0)`` and only it is
priced at the grid factor. Each line carries the grid import in proportion to its use
(``effective factor = grid factor × import / use``), so the lines add up to the factory.
Gas, steam and factory-level meters (e.g. a boiler's gas meter on the factory) count with
their own factors.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from accounting.activity import DEFAULT_MAX_RATE_PER_HOUR, register_usage
from accounting.activity_data import ActivityData
from accounting.factors import load_factor_set
from accounting.inventory import emission_lines
from accounting.profiles import EntityProfile
from sitetime import clock
from sitetime.calendar import site_calendar

#: factor set of the live estimate when the entity names none (the closing job's default)
FACTOR_SET = "cn-mee-2023"
#: register -> ActivityData attribute of the sources counted today
REGISTERS = {
    "energy_kwh_total": "electricity_kwh",
    "gas_m3_total": "gas_m3",
    "steam_t_total": "steam_t",
    "pv_kwh_total": "pv_kwh",
}
#: width of a bucket of the 24-hour trend [s]
TREND_EVERY_S = 300


class _Amounts(TypedDict, total=False):
    """The sources counted today, as :class:`ActivityData` attributes."""

    electricity_kwh: float
    gas_m3: float
    steam_t: float
    pv_kwh: float


def local_midnight_ms(now_ms: int) -> int:
    """Start of the site calendar's local day holding ``now_ms`` [ms since the epoch]."""
    cal = site_calendar()
    return cal.midnight_ms(cal.local_date(now_ms))


def _factor_set_ref(entity: Any, factory: Any) -> str:
    for e in (entity, factory):
        ref = (getattr(e, "attrs", None) or {}).get("factor_set")
        if ref:
            return str(ref)
    return FACTOR_SET


def _grid_factor(ref: str, key: str) -> dict[str, Any]:
    name, _, version = ref.partition("@")
    f = load_factor_set(name, version or None).get(key)
    return {"set": ref, "key": f.key or key, "value": f.value, "unit": f.unit, "source": f.source}


def _usage_today(store: Any, ids: list[str], midnight: int, now_ms: int) -> dict:
    """``{entity: {attribute: (total, [coverage per device])}}`` of the registers today."""
    out: dict[str, dict[str, tuple[float, list[float]]]] = {}
    if store is None:
        return out
    for name, attr in REGISTERS.items():
        rate = DEFAULT_MAX_RATE_PER_HOUR.get(name, 1e9)
        series = store.series(name, midnight, now_ms + 1, entities=ids, previous=True)
        for (entity, _device), s in series.items():
            if len(s) == 0:
                continue
            u = register_usage(s.ts_ms, s.values, midnight, now_ms + 1, max_rate_per_hour=rate)
            tot, cov = out.setdefault(entity, {}).get(attr, (0.0, []))
            out[entity][attr] = (tot + u.total, [*cov, u.coverage])
    return out


def _emissions(ent: Any, kind: str, parent: str | None, amounts: _Amounts,
               ref: str, midnight: int, now_ms: int) -> dict[str, float]:  # fmt: skip
    """CO2 [t] by source of ``amounts`` (ActivityData attributes) with the closing's lines."""
    grid_key = (getattr(ent, "attrs", None) or {}).get("grid_factor_key", "electricity.grid")
    prof = EntityProfile(id=ent.id, kind=kind, parent=parent, grid_factor_key=grid_key)
    act = ActivityData(midnight, max(now_ms, midnight + 1), **amounts)
    name, _, version = ref.partition("@")
    by: dict[str, float] = {}
    for ln in emission_lines(prof, act, load_factor_set(name, version or None)):
        by[ln.source] = by.get(ln.source, 0.0) + ln.t_co2e
    return by


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
    usage = _usage_today(store, ids, midnight, now_ms)
    trend = (
        store.downsample(
            "power_kw", now_ms - 86_400_000, now_ms + 1, TREND_EVERY_S, entities=ids, fn="mean"
        )
        if store is not None and hasattr(store, "downsample")
        else {}
    )

    def amount(eid: str, attr: str) -> float:
        return usage.get(eid, {}).get(attr, (0.0, []))[0]

    # electricity counted once: grid import = use - on-site PV, shared pro rata to use
    use = sum(amount(e, "electricity_kwh") for e in ids)
    pv = sum(amount(e, "pv_kwh") for e in ids)
    grid_import = max(use - pv, 0.0)
    import_share = grid_import / use if use > 0 else 1.0
    fs_ref = _factor_set_ref(factory, None)
    out_lines = []
    total_by: dict[str, float] = {}
    for ln in lines:
        kwh = amount(ln.id, "electricity_kwh")
        coverage = usage.get(ln.id, {}).get("electricity_kwh", (0.0, []))[1]
        ref = _factor_set_ref(ln, factory)
        factor = _grid_factor(ref, ln.attrs.get("grid_factor_key", "electricity.grid"))
        amounts: _Amounts = {
            "electricity_kwh": kwh * import_share,
            "gas_m3": amount(ln.id, "gas_m3"),
            "steam_t": amount(ln.id, "steam_t"),
        }
        by = _emissions(ln, "line", factory_id, amounts, ref, midnight, now_ms)
        for k, v in by.items():
            total_by[k] = total_by.get(k, 0.0) + v
        out_lines.append(
            {
                "id": ln.id,
                "name": ln.name or ln.attrs.get("name") or ln.id,
                "power_kw": power.get(ln.id),
                "energy_today_kwh": kwh,
                "co2_today_t": float(sum(by.values())),
                "co2_today_by_source": by,
                "electricity_ef_effective_kg_per_kwh": factor["value"] * import_share,
                "coverage_today": min(coverage) if coverage else 0.0,
                "grid_factor": factor,
                "intervention_date": _iso(ln.attrs.get("intervention_date")),
                "baseline_start": _iso(ln.attrs.get("baseline_start")),
                "baseline_end": _iso(ln.attrs.get("baseline_end")),
                "trend": _line_trend(trend, ln.id),
                "emc": _emc(ln),
            }
        )
    # the factory's own meters (not a line's): its electricity share, gas, steam; PV at zero
    own: _Amounts = {"electricity_kwh": amount(factory_id, "electricity_kwh") * import_share,
           "gas_m3": amount(factory_id, "gas_m3"), "steam_t": amount(factory_id, "steam_t"),
           "pv_kwh": pv}  # fmt: skip
    for k, v in _emissions(factory, "factory", None, own, fs_ref, midnight, now_ms).items():
        total_by[k] = total_by.get(k, 0.0) + v
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
        "timezone": _zone_label(now_ms),
        "lines": out_lines,
        "today": {
            "co2_t": float(sum(total_by.values())),
            "co2_by_source_t": total_by,
            "electricity_use_kwh": use,
            "pv_kwh": pv,
            "grid_import_kwh": grid_import,
            "factor_set": fs_ref,
        },
        "devices": devices,
        "trend_every_s": TREND_EVERY_S,
    }


def _zone_label(now_ms: int) -> str:
    """The site's zone and its UTC offset at ``now_ms``, e.g. ``Asia/Shanghai (UTC+08:00)``."""
    cal = site_calendar()
    off = round(cal.utc_offset_h(now_ms) * 60)
    sign = "+" if off >= 0 else "-"
    return f"{cal.tz} (UTC{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d})"


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


def _emc(line: Any) -> dict[str, Any] | None:
    """The line's energy-management contract in brief (None: none); the money comes from
    ``GET /v1/lines/{id}/emc``."""
    from accounting.emc import EmcContractError, parse_contract

    raw = (line.attrs or {}).get("emc")
    if raw is None:
        return None
    try:
        c = parse_contract(raw)
    except EmcContractError as exc:
        return {"error": str(exc)}
    return {
        "partner": c.partner,
        "partner_share": c.partner_share_on(site_calendar().today()),
        "start_date": c.start.isoformat(),
        "end_date": c.end.isoformat() if c.end else None,
    }


def _iso(v: Any) -> str | None:
    if v is None:
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)
