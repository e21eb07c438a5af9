"""Factory benchmarking of posted statements, as a service the ``/v1/factories/benchmarks``
route and the credit report call.

Each factory's latest statement of a period kind is set against its benchmark intensity
(:func:`accounting.benchmarking.benchmark_factories`): the registry attribute
``benchmark_tco2e_per_10k_cny`` when set, else the packaged industry table's row for its
``industry_code`` (GB/T 4754; docs/benchmarks.md). Statements the accounting engine did not
compute are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ledger.accounts_query import Scope, engine_statement, latest_statements
from ledger.errors import NotLabelable


@dataclass(frozen=True)
class Benchmarks:
    """What :func:`factory_benchmarks` returns.

    results : one dict per factory (:func:`accounting.benchmarking.benchmark_factories`)
        with ``period_start``, the start of the statement it rests on
    poor_performers, low_green_share : the two lists of entity ids
    """

    results: list[dict[str, Any]]
    poor_performers: list[str]
    low_green_share: list[str]


def benchmark_inputs(registry: Any, entity_id: str) -> tuple[dict[str, str], dict[str, float]]:
    """(industry codes, own benchmarks) of one factory from its registry attributes
    ``industry_code`` and ``benchmark_tco2e_per_10k_cny``, keyed by its id (empty when not
    set or not registered), as :func:`accounting.benchmarking.benchmark_factories` takes them."""
    ent = registry.entities.get(entity_id) if registry is not None else None
    attrs = ent.attrs if ent is not None else {}
    codes = {entity_id: str(attrs["industry_code"])} if attrs.get("industry_code") else {}
    overrides = (
        {entity_id: float(attrs["benchmark_tco2e_per_10k_cny"])}
        if attrs.get("benchmark_tco2e_per_10k_cny")
        else {}
    )
    return codes, overrides


def factory_benchmarks(session: Session, registry: Any, scope: Scope, period: str) -> Benchmarks:
    """Every factory in ``scope`` with a statement of ``period`` kind computed by the engine,
    against its benchmark, by entity id, with the poor-performer and low-green-share lists."""
    from accounting.benchmarking import benchmark_factories

    stmts = []
    starts: dict[str, datetime] = {}
    codes: dict[str, str] = {}
    overrides: dict[str, float] = {}
    for ps in latest_statements(session, scope, "factory", period):
        try:
            stmt = engine_statement(ps)
        except NotLabelable:
            continue
        eid = ps.account.entity_id
        c, o = benchmark_inputs(registry, eid)
        codes.update(c)
        overrides.update(o)
        stmts.append(stmt)
        starts[eid] = ps.period_start
    doc = benchmark_factories(stmts, industry_codes=codes, overrides=overrides)
    return Benchmarks(
        results=[{**r, "period_start": starts[r["entity_id"]]} for r in doc["results"]],
        poor_performers=list(doc["poor_performers"]),
        low_green_share=list(doc["low_green_share"]),
    )
