"""The carbon credit report (碳征信报告) of one entity over whole calendar years.

Every figure is read from the ledger and its statements, never recomputed from telemetry:
a year's emissions, removals and net are the sums of the year's *booked* statements (the
account's ``booking_period``), in whole grams exactly as the ledger holds them, so they
equal the ledger's balance movements. The year statement, when one was closed, is shown
beside them with ``agrees`` (equal to the gram). Measured savings and EMC figures come from
:mod:`ledger.savings_service` and :mod:`ledger.emc_service` (which do read telemetry:
they are measurements, not ledger figures, and are labelled so).

The carbon-efficiency rating (深绿 / 浅绿 / 黄 / 红) follows one named rule:

``factory.k_colour``
    a factory's colour of K = intensity / industry benchmark (t CO2e per 10⁴ CNY value
    added; :func:`accounting.benchmarking.benchmark_factories`) for the latest year of the
    report that has a K;
``orchard.label``
    an orchard's four-colour label (:func:`accounting.labels.orchard_label`) of the latest
    year of the report that is rated (a year whose data cover less than 90 % is "unrated");
``unrated``
    otherwise, with the reason.

The report is a plain JSON document (dates as RFC 3339 strings, no NaN) so that its
canonical form, digest and signature (:mod:`reports.signing`) are well defined.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import book
from ledger import savings_service as sv
from ledger.accounts_query import engine_statement
from ledger.benchmark_service import benchmark_inputs
from ledger.emc_service import EmcService
from ledger.errors import ServiceError
from ledger.label_service import label_of
from ledger.models import GRAMS_PER_TONNE, Account, PostedStatement, Redemption
from sitetime import clock
from sitetime.calendar import site_calendar

REPORT_TYPE = "tanzhang.carbon_credit_report"
REPORT_VERSION = 1
DEFAULT_YEARS = 3
MAX_YEARS = 10
COLOUR_ZH = {"dark_green": "深绿", "light_green": "浅绿", "yellow": "黄", "red": "红",
             "unrated": "未评级"}  # fmt: skip
RULES = {
    "factory.k_colour": "factory: colour of K = intensity / industry benchmark "
    "(t CO2e per 10^4 CNY value added), bands K <= 0.8 dark green, <= 1.0 light green, "
    "<= 1.2 yellow, else red; latest year of the report with a K",
    "orchard.label": "orchard: four-colour label of net carbon (removals / emissions against "
    "the factor set's thresholds) of the latest year of the report that is rated "
    "(coverage >= 0.9)",
    "unrated": "no rule gives a colour for this entity and period",
}
#: most rejects counted for one report (the count says when it was reached)
MAX_REJECTS = 100_000


def _grams(x: float | None) -> int:
    return 0 if x is None else round(float(x) * GRAMS_PER_TONNE)


def _t(g: int) -> float:
    return g / GRAMS_PER_TONNE


def clean(value: Any) -> Any:
    """A JSON-safe copy: datetimes and dates as ISO strings, NaN / inf as None, numpy
    scalars as Python numbers, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if kind == "b":
        return bool(value)
    if kind in ("i", "u"):
        return int(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return None
    return f


def report_years(years: int, today: date | None = None) -> list[int]:
    """The last ``years`` whole calendar years of the site calendar before today."""
    today = today or site_calendar().today()
    return list(range(today.year - years, today.year))


def _doc(ps: PostedStatement) -> dict[str, Any]:
    return ps.statement if isinstance(ps.statement, dict) else {}


def _floats(doc: Any) -> dict[str, float]:
    if not isinstance(doc, dict):
        return {}
    return {str(k): float(v) for k, v in doc.items() if isinstance(v, int | float)}


def _sum_maps(maps: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, int] = {}
    for m in maps:
        for k, v in m.items():
            out[k] = out.get(k, 0) + _grams(v)
    return {k: _t(g) for k, g in sorted(out.items())}


def _fs(ps: PostedStatement) -> dict[str, Any] | None:
    fs = ps.factor_set or None
    if not fs:
        return None
    return {k: fs.get(k) for k in ("name", "version", "digest") if fs.get(k) is not None}


def _year_figures(
    session: Session, acct: Account, year: int
) -> tuple[dict[str, Any], list[PostedStatement], PostedStatement | None]:
    cal = site_calendar()
    p = cal.year(year)
    booked = [
        s
        for s in book.statements(session, acct.entity_id, acct.booking_period, p.start, p.end)
        if s.booked
    ]
    ys = book.statements(session, acct.entity_id, "year", p.start, p.end)
    ystmt = ys[0] if ys else None
    e_g = sum(_grams(s.emissions_t) for s in booked)
    r_g = sum(_grams(s.removals_t) for s in booked)
    row: dict[str, Any] = {
        "year": year,
        "period_start": p.start,
        "period_end": p.end,
        "booking_period": acct.booking_period,
        "booked_statements": len(booked),
        "emissions_t": _t(e_g),
        "removals_t": _t(r_g),
        "net_t": _t(r_g - e_g),
        "emissions_by_source": _sum_maps(
            [
                _floats(_doc(s).get("emissions_by_source", _doc(s).get("emissions_t")))
                for s in booked
            ]
        ),
        "removals_by_pool": _sum_maps(
            [
                _floats(_doc(s).get("sequestration_by_pool", _doc(s).get("sequestration_t")))
                for s in booked
            ]  # fmt: skip
        ),
        "year_statement": None,
    }
    covs = [s.coverage for s in booked if s.coverage is not None]
    row["coverage"] = (
        ystmt.coverage if ystmt is not None and ystmt.coverage is not None
        else (sum(covs) / len(covs) if covs else None)
    )  # fmt: skip
    if ystmt is not None:
        d = _doc(ystmt)
        row["year_statement"] = {
            "version": ystmt.version,
            "booked": ystmt.booked,
            "emissions_t": ystmt.emissions_t,
            "removals_t": ystmt.removals_t,
            "net_t": ystmt.net_t,
            "coverage": ystmt.coverage,
            "intensities": {
                str(k): (float(v) if isinstance(v, int | float) else None)
                for k, v in (d.get("intensities") or {}).items()
            },
            "green_energy_share": d.get("green_energy_share"),
            "factor_set": _fs(ystmt),
            "created_at": ystmt.created_at,
            "agrees": _grams(ystmt.emissions_t) == e_g and _grams(ystmt.removals_t) == r_g,
        }
    return row, booked, ystmt


def _trend(rows: list[dict[str, Any]]) -> dict[str, Any]:
    have = [r for r in rows if r["booked_statements"]]
    out: dict[str, Any] = {"years_with_data": [r["year"] for r in have]}
    if len(have) < 2:
        out["direction"] = "insufficient"
        out["note"] = "fewer than two years with booked statements"
        return out
    first, last = have[0], have[-1]
    for key in ("emissions_t", "removals_t", "net_t"):
        out[f"{key[:-2]}_change_t"] = _t(_grams(last[key]) - _grams(first[key]))
        base = first[key]
        out[f"{key[:-2]}_change_pct"] = None if not base else (last[key] - base) / abs(base) * 100.0
    de = out["emissions_change_t"]
    out["direction"] = "improving" if de < 0 else ("worsening" if de > 0 else "flat")
    out["note"] = f"emissions {first['year']} -> {last['year']}"
    return out


def _factory_benchmarks(registry: Any, eid: str, ystmts: dict[int, Any]) -> list[dict]:
    from accounting.benchmarking import benchmark_factories, load_industry_benchmarks

    codes, overrides = benchmark_inputs(registry, eid)
    table = load_industry_benchmarks()
    out: list[dict[str, Any]] = []
    for year, ps in sorted(ystmts.items()):
        if ps is None:
            out.append({"year": year, "k": None, "colour": None,
                        "reason": "no year statement closed"})  # fmt: skip
            continue
        try:
            stmt = engine_statement(ps)
        except Exception:
            out.append({"year": year, "k": None, "colour": None,
                        "reason": "the year statement has no engine breakdown"})  # fmt: skip
            continue
        doc = benchmark_factories([stmt], table, industry_codes=codes, overrides=overrides)
        r = doc["results"][0]
        lists = []
        if eid in doc["poor_performers"]:
            lists.append("poor_performers")
        if eid in doc["low_green_share"]:
            lists.append("low_green_share")
        out.append({"year": year, **r, "colour_zh": COLOUR_ZH.get(r["colour"] or ""),
                    "lists": lists, "table": {"name": table.name, "version": table.version}})  # fmt: skip
    return out


def _orchard_labels(registry: Any, ystmts: dict[int, Any]) -> list[dict]:
    out: list[dict[str, Any]] = []
    for year, ps in sorted(ystmts.items()):
        if ps is None:
            out.append({"year": year, "colour": None, "rated": False,
                        "reason": "no year statement closed", "coverage": None})  # fmt: skip
            continue
        try:
            lab = label_of(ps, registry)
        except Exception as exc:
            out.append({"year": year, "colour": None, "rated": False,
                        "reason": str(getattr(exc, "message", exc)), "coverage": ps.coverage})  # fmt: skip
            continue
        expl = lab.explanation
        unrated = expl.get("unrated")
        coverage = _float_or_none(expl.get("coverage"))
        out.append(
            {
                "year": year,
                "colour": lab.colour,
                "colour_zh": lab.colour_zh,
                "rated": lab.colour != "unrated",
                "ratio": lab.ratio,
                "thresholds": lab.thresholds,
                "coverage": coverage if coverage is not None else ps.coverage,
                "min_coverage": _float_or_none(expl.get("min_coverage")),
                "reason": (unrated or {}).get("detail") if isinstance(unrated, dict) else unrated,
            }
        )
    return out


def _float_or_none(x: Any) -> float | None:
    return None if x is None else float(x)


def _rating(kind: str, bench: list[dict], labels: list[dict]) -> dict[str, Any]:
    if kind == "factory":
        rated = [b for b in bench if b.get("colour")]
        if rated:
            b = rated[-1]
            return {"colour": b["colour"], "colour_zh": COLOUR_ZH[b["colour"]],
                    "rule": "factory.k_colour", "rule_text": RULES["factory.k_colour"],
                    "basis_year": b["year"], "k": b["k"], "reason": None}  # fmt: skip
        why = "; ".join(f"{b['year']}: {b.get('reason') or 'no K'}" for b in bench) or "no years"
        return {"colour": "unrated", "colour_zh": COLOUR_ZH["unrated"], "rule": "unrated",
                "rule_text": RULES["factory.k_colour"], "basis_year": None,
                "reason": f"no year of the report has a K ({why})"}  # fmt: skip
    if kind == "orchard":
        rated = [lab for lab in labels if lab.get("rated")]
        if rated:
            lab = rated[-1]
            return {"colour": lab["colour"], "colour_zh": COLOUR_ZH[lab["colour"]],
                    "rule": "orchard.label", "rule_text": RULES["orchard.label"],
                    "basis_year": lab["year"], "reason": None}  # fmt: skip
        why = "; ".join(f"{lab['year']}: {lab.get('reason') or 'unrated'}" for lab in labels)
        return {"colour": "unrated", "colour_zh": COLOUR_ZH["unrated"], "rule": "unrated",
                "rule_text": RULES["orchard.label"], "basis_year": None,
                "reason": f"no year of the report is rated ({why})"}  # fmt: skip
    reason = ("a line is rated through its factory" if kind == "line"
              else f"no rating rule for a {kind}")  # fmt: skip
    return {"colour": "unrated", "colour_zh": COLOUR_ZH["unrated"], "rule": "unrated",
            "rule_text": RULES["unrated"], "basis_year": None, "reason": reason}  # fmt: skip


def _line_savings(savings: sv.SavingsService, line: Any, years: list[int]) -> dict:
    """Per year: CalTRACK avoided energy and CO2 with its ASHRAE G14 uncertainty (90 %)."""
    from accounting.errors import AccountingError
    from accounting.savings import compute_savings

    store = savings.store
    cal = site_calendar()
    out: dict[str, Any] = {"line": line.id, "confidence": sv.SAVINGS_CONFIDENCE, "years": []}
    try:
        win = sv.baseline_window(line)
        model = savings.baseline_model(line)
        ref, ef = savings.grid_factor(line)
    except ServiceError as exc:
        out["status"] = "unavailable"
        out["reason"] = exc.code
        out["detail"] = exc.message
        return out
    out.update(status="measured", method="CalTRACK 2.0 daily baseline; ASHRAE Guideline 14 "
               "uncertainty", factor_set=ref, grid_ef_kg_per_kwh=ef,
               intervention_date=win.intervention,
               baseline={"start": win.start, "end": win.end, "r_squared": model.r_squared,
                         "cvrmse": model.cvrmse, "n_days": model.n})  # fmt: skip
    for y in years:
        p = cal.year(y)
        row: dict[str, Any] = {"year": y}
        lo_ms, hi_ms = sv.reporting_range(line, win, p.start, p.end)
        if hi_ms - lo_ms < sv.DAY_MS:
            row["status"] = "not_in_reporting_period"
            out["years"].append(row)
            continue
        try:
            d = sv.daily(sv.line_hours(store, line, lo_ms // sv.HOUR_MS * sv.HOUR_MS, hi_ms))
            r = compute_savings(model, d, grid_ef_kg_per_kwh=ef, confidence=sv.SAVINGS_CONFIDENCE)
        except (AccountingError, ServiceError, ValueError) as exc:
            row.update(status="unavailable", reason=str(exc))
            out["years"].append(row)
            continue
        row.update(_figures(r))
        out["years"].append(row)
    # since the intervention (or the baseline's end) up to now: a saving that began in the
    # current year is shown too
    first = win.intervention or (win.end + timedelta(days=1))
    now = clock.now()
    lo_ms, hi_ms = sv.reporting_range(line, win, cal.day(first).start, now)
    td: dict[str, Any] = {"start": first, "end": now}
    if hi_ms - lo_ms < sv.DAY_MS:
        td["status"] = "not_in_reporting_period"
    else:
        try:
            d = sv.daily(sv.line_hours(store, line, lo_ms // sv.HOUR_MS * sv.HOUR_MS, hi_ms))
            r = compute_savings(model, d, grid_ef_kg_per_kwh=ef, confidence=sv.SAVINGS_CONFIDENCE)
            td.update(_figures(r))
        except (AccountingError, ServiceError, ValueError) as exc:
            td.update(status="unavailable", reason=str(exc))
    out["to_date"] = td
    return out


def _figures(r: Any) -> dict[str, Any]:
    """A :class:`accounting.savings.SavingsResult` as report figures, with its band."""
    return {
        "status": "measured",
        "n_days": r.n_days,
        "metered_kwh": r.metered_kwh,
        "predicted_kwh": r.predicted_kwh,
        "avoided_kwh": r.avoided_kwh,
        "uncertainty_kwh": r.uncertainty_kwh,
        "avoided_t_co2": r.avoided_t_co2,
        "uncertainty_t_co2": r.uncertainty_t_co2,
        "lower_t_co2": r.avoided_t_co2 - r.uncertainty_t_co2,
        "upper_t_co2": r.avoided_t_co2 + r.uncertainty_t_co2,
        "fractional_savings": r.fractional_savings,
    }


def _line_emc(emc: EmcService, line: Any) -> dict | None:
    """The line's EMC contract and its savings in money over the whole contract to date
    (:meth:`ledger.emc_service.EmcService.statements`, as ``GET /v1/lines/{id}/emc``)."""
    if not (getattr(line, "attrs", None) or {}).get("emc"):
        return None
    try:
        es = emc.statements(line, "month")
    except ServiceError as exc:
        return {
            "line": line.id,
            "status": "unavailable",
            "reason": exc.code,
            "detail": exc.message,
        }
    return {
        "line": line.id,
        "status": "valued" if es.to_date else "no_savings_yet",
        "contract": es.contract.as_dict(site_calendar().today()),
        "to_date": es.to_date,
        "months": len(es.rows),
        "factor_set": es.factor_set,
        "warnings": es.warnings,
    }


def _rejects(store: Any, registry: Any, ids: set[str], lo: datetime, hi: datetime) -> dict:
    devices = {d.id for d in registry.devices.values() if d.entity in ids} if registry else set()
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    try:
        rows = store.rejects(since_ms=lo_ms, limit=MAX_REJECTS)
    except Exception as exc:  # a store without a quarantine, or down
        return {"count": None, "reason": f"rejects unavailable: {exc}"}
    by_reason: dict[str, int] = {}
    n = 0
    for r in rows:
        if r.received_ms >= hi_ms:
            continue
        if r.device in devices or r.entity in ids:
            n += 1
            by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
    return {"count": n, "by_reason": dict(sorted(by_reason.items())), "devices": sorted(devices),
            "truncated": len(rows) >= MAX_REJECTS}  # fmt: skip


def _restatements(session: Session, acct: Account, lo: datetime, hi: datetime) -> list[dict]:
    q = (
        select(PostedStatement)
        .where(
            PostedStatement.account_id == acct.id,
            PostedStatement.period_kind.in_(sorted({acct.booking_period, "year"})),
            PostedStatement.period_start >= lo,
            PostedStatement.period_start < hi,
            PostedStatement.version > 1,
        )
        .order_by(PostedStatement.period_start, PostedStatement.version)
    )
    return [
        {
            "period_kind": s.period_kind,
            "period_start": s.period_start,
            "version": s.version,
            "current": s.current,
            "reason": s.reason,
            "created_at": s.created_at,
            "net_t": s.net_t,
        }  # fmt: skip
        for s in session.scalars(q)
    ]


def build_report(
    session: Session,
    entity_id: str,
    *,
    registry: Any = None,
    store: Any = None,
    savings: sv.SavingsService | None = None,
    emc: EmcService | None = None,
    years: int = DEFAULT_YEARS,
    lang: str = "zh",
) -> dict[str, Any]:
    """The unsigned report of ``entity_id`` over the last ``years`` whole calendar years.

    ``savings`` and ``emc`` are the services that measure the lines' savings (the API passes
    its own, which cache the fitted baselines); by default new ones on ``store`` and
    ``registry``. Without a store there are no savings and no EMC figures.
    """
    years = max(1, min(int(years), MAX_YEARS))
    acct = book.get_account(session, entity_id)
    cal = site_calendar()
    ys = report_years(years, cal.today())
    lo, hi = cal.year(ys[0]).start, cal.year(ys[-1]).end
    ent = registry.entities.get(entity_id) if registry is not None else None
    lines = []
    if ent is not None and registry is not None:
        lines = [
            e for e in registry.entities.values() if e.kind == "line" and e.parent == entity_id
        ]
        if ent.kind == "line":
            lines = [ent]
    rows, ystmts, used = [], {}, []
    for y in ys:
        row, booked, ystmt = _year_figures(session, acct, y)
        rows.append(row)
        ystmts[y] = ystmt
        used += booked + ([ystmt] if ystmt is not None else [])
    bench = _factory_benchmarks(registry, entity_id, ystmts) if acct.kind == "factory" else []
    labels = _orchard_labels(registry, ystmts) if acct.kind == "orchard" else []
    fsets: dict[str, dict] = {}
    methods: dict[str, str] = {}
    for s in used:
        fs = _fs(s)
        if fs:
            fsets[f"{fs.get('name')}@{fs.get('version')}#{fs.get('digest', '')}"] = fs
        m = _doc(s).get("methods")
        if isinstance(m, dict):
            methods.update({str(k): str(v) for k, v in m.items()})
    line_savings: list[dict] = []
    line_emc: list[dict] = []
    if store is not None and lines:
        savings = savings or sv.SavingsService(store, registry)
        emc = emc or EmcService(savings)
        line_savings = [_line_savings(savings, ln, ys) for ln in lines]
        line_emc = [x for x in (_line_emc(emc, ln) for ln in lines) if x]
    reds = session.scalars(
        select(Redemption)
        .where(
            Redemption.account_id == acct.id,
            Redemption.created_at >= lo,
        )  # fmt: skip
        .order_by(Redemption.created_at)
    ).all()
    bal = book.balance(session, entity_id, hi)
    issued = clock.now()
    now_bal = book.balance(session, entity_id, issued)
    ids = {entity_id, *(ln.id for ln in lines)}
    report = {
        "report": {
            "type": REPORT_TYPE,
            "version": REPORT_VERSION,
            "id": uuid.uuid4().hex,
            "lang": lang,
            "issuer": "tanzhang 碳账 carbon account programme",
        },  # fmt: skip
        "issued_at": issued,
        "period": {"years": ys, "start": lo, "end": hi, "site_tz": str(cal.zone)},
        "entity": {
            "entity_id": entity_id,
            "kind": acct.kind,
            "name": acct.name
            or (ent.name if ent is not None and getattr(ent, "name", None) else None),  # fmt: skip
            "parent": acct.parent,
            "account_opened": acct.created_at,
            "booking_period": acct.booking_period,
            "registry": dict(ent.attrs) if ent is not None else None,
            "lines": sorted(ln.id for ln in lines if ln.id != entity_id),
        },
        "years": rows,
        "totals": {
            "emissions_t": _t(sum(_grams(r["emissions_t"]) for r in rows)),
            "removals_t": _t(sum(_grams(r["removals_t"]) for r in rows)),
            "net_t": _t(sum(_grams(r["net_t"]) for r in rows)),
        },
        "trend": _trend(rows),
        "balance_at_end": {
            "at": hi,
            "emissions_t": bal.emissions_t,
            "removals_t": bal.removals_t,
            "net_t": bal.net_t,
            "redeemed_t": bal.redeemed_t,
            "available_t": bal.available_t,
        },  # fmt: skip
        "balance_at_issue": {
            "at": issued,
            "emissions_t": now_bal.emissions_t,
            "removals_t": now_bal.removals_t,
            "net_t": now_bal.net_t,
            "redeemed_t": now_bal.redeemed_t,
            "available_t": now_bal.available_t,
        },
        "benchmark": bench,
        "labels": labels,
        "savings": line_savings,
        "emc": line_emc,
        "data_quality": {
            "coverage_by_year": {str(r["year"]): r["coverage"] for r in rows},
            "rejects": _rejects(store, registry, ids, lo, hi)
            if store is not None
            else {"count": None, "reason": "no telemetry store"},
            "restatements": _restatements(session, acct, lo, hi),
            "year_statements_agree": all(
                r["year_statement"]["agrees"] for r in rows if r["year_statement"]
            ),
        },
        "redemptions": {
            "count_in_period": sum(1 for r in reds if r.created_at < hi),
            "total_in_period_t": _t(sum(_grams(r.amount_t) for r in reds if r.created_at < hi)),
            "count_since_period": sum(1 for r in reds if r.created_at >= hi),
            "total_since_period_t": _t(sum(_grams(r.amount_t) for r in reds if r.created_at >= hi)),
            "items": [
                {
                    "created_at": r.created_at,
                    "in_period": r.created_at < hi,
                    "amount_t": r.amount_t,
                    "fertiliser_amount": r.fertiliser_amount,
                    "fertiliser_unit": r.fertiliser_unit,
                    "reference": r.reference,
                }
                for r in reds
            ],
        },
        "methods": {
            "factor_sets": [fsets[k] for k in sorted(fsets)],
            "removal_methods": dict(sorted(methods.items())),
            "sign_convention": "net = removals - emissions [t CO2e]; positive is a net sink",
            "figures": "year figures are the sums of the booked statements in the ledger",
        },
        "rating": _rating(acct.kind, bench, labels),
    }
    return clean(report)
