"""Helpers shared by the accounts route modules: query windows, and the API views of a
posted statement (:func:`statement_public`) and of a label (:func:`label_public`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from api import params
from api.schemas import (
    LabelExplanationPublic,
    LabelPublic,
    StatementPublic,
)
from ledger import book
from ledger.label_service import OrchardLabel
from ledger.models import PostedStatement

PeriodKind = Literal["hour", "day", "month", "year"]
#: default listing window when no start is given, per period kind
DEFAULT_SPAN = {
    "hour": timedelta(days=7),
    "day": timedelta(days=92),
    "month": timedelta(days=3 * 366),
    "year": timedelta(days=30 * 366),
}


def window(period: str, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    return params.window(start, end, DEFAULT_SPAN[period])


def _floats(doc: Any) -> dict[str, float]:
    if not isinstance(doc, dict):
        return {}
    return {str(k): float(v) for k, v in doc.items() if isinstance(v, int | float)}


def statement_public(ps: PostedStatement) -> StatementPublic:
    """The API view of a posted statement: ledger figures plus the engine's breakdown."""
    doc = ps.statement if isinstance(ps.statement, dict) else {}
    raw_intensities = doc.get("intensities")
    intensities = raw_intensities if isinstance(raw_intensities, dict) else {}
    return StatementPublic(
        entity_id=ps.account.entity_id,
        period_kind=ps.period_kind,
        period_start=ps.period_start,
        period_end=ps.period_end,
        version=ps.version,
        current=ps.current,
        booked=ps.booked,
        emissions_t=ps.emissions_t,
        removals_t=ps.removals_t,
        net_t=ps.net_t,
        coverage=ps.coverage,
        emissions_by_source=_floats(doc.get("emissions_by_source", doc.get("emissions_t"))),
        emissions_by_scope=_floats(doc.get("emissions_by_scope")),
        sequestration_by_pool=_floats(doc.get("sequestration_by_pool", doc.get("sequestration_t"))),
        intensities={
            str(k): (float(v) if isinstance(v, int | float) else None)
            for k, v in intensities.items()
        },
        factor_set=ps.factor_set,
        data_window=ps.data_window,
        warnings=[str(w) for w in doc.get("warnings", []) if isinstance(w, str)],
        reason=ps.reason,
        created_at=ps.created_at,
        superseded_at=ps.superseded_at,
    )


StartQ = Annotated[str | None, params.when_query("first period start")]
EndQ = Annotated[str | None, params.when_query("end (exclusive)")]


def statements(
    session: Any,
    entity_id: str,
    period: str,
    start: str | None,
    end: str | None,
    include_superseded: bool,
) -> list[PostedStatement]:
    """The account's statements of ``period`` kind in the window of the query strings
    ``start`` and ``end`` (:func:`window`)."""
    lo, hi = window(period, start, end)
    return book.statements(
        session, entity_id, period, lo, hi, include_superseded=include_superseded
    )


def label_public(lab: OrchardLabel) -> LabelPublic:
    """The API view of a label (:class:`ledger.label_service.OrchardLabel`)."""
    expl = lab.explanation
    return LabelPublic(
        entity_id=lab.entity_id,
        colour=lab.colour,
        colour_zh=lab.colour_zh,
        ratio=lab.ratio,
        thresholds=list(lab.label["thresholds"]),
        period_kind=lab.period_kind,
        period_start=lab.period_start,
        period_end=lab.period_end,
        county=lab.county,
        area_mu=lab.area_mu,
        explanation=LabelExplanationPublic(
            largest_sources=expl.get("largest_sources", []),
            largest_pools=expl.get("largest_pools", []),
            total_emissions_t=expl["total_emissions_t"],
            total_sequestration_t=expl["total_sequestration_t"],
            net_t=expl["net_t"],
            emissions_t_per_mu=expl.get("emissions_t_per_mu"),
            sequestration_t_per_mu=expl.get("sequestration_t_per_mu"),
            net_t_per_mu=expl.get("net_t_per_mu"),
            coverage=expl.get("coverage"),
            min_coverage=expl.get("min_coverage"),
            unrated=expl.get("unrated"),
            methods=expl.get("methods") or {},
            next_colour_up=expl.get("next_colour_up"),
            warnings=[str(w) for w in expl.get("warnings", [])],
        ),
    )
