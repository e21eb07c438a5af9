"""Helpers shared by the accounts route modules: visibility in SQL, statement views,
query windows, the latest posted statement and the engine's view of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from sqlalchemy import or_, select

from access.roles import AGRONOMIST_KINDS, Principal
from api import params
from api.deps import (
    ensure_visible,
)
from api.errors import ApiError
from api.schemas import (
    LabelExplanationPublic,
    LabelPublic,
    StatementPublic,
)
from ledger import book
from ledger.models import Account, PostedStatement

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


def visible_clause(principal: Principal) -> Any:
    """SQL condition on :class:`Account` matching what ``principal`` may see (None: all)."""
    if principal.sees_all:
        return None
    ents = sorted(principal.entities)
    own = or_(Account.entity_id.in_(ents), Account.parent.in_(ents))
    if principal.role == "agronomist":
        kinds = Account.kind.in_(AGRONOMIST_KINDS)
        return kinds if not ents else (kinds & own)
    return own


def _floats(doc: Any) -> dict[str, float]:
    if not isinstance(doc, dict):
        return {}
    return {str(k): float(v) for k, v in doc.items() if isinstance(v, int | float)}


def statement_public(ps: PostedStatement) -> StatementPublic:
    """The API view of a posted statement: ledger figures plus the engine's breakdown."""
    doc = ps.statement if isinstance(ps.statement, dict) else {}
    intensities = doc.get("intensities") if isinstance(doc.get("intensities"), dict) else {}
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


def _visible_account(session: Any, principal: Principal, entity_id: str, lookup: Any) -> Account:
    ensure_visible(principal, entity_id, lookup)
    return book.get_account(session, entity_id)


StartQ = Annotated[str | None, params.when_query("first period start")]
EndQ = Annotated[str | None, params.when_query("end (exclusive)")]


def _statements(
    session: Any,
    entity_id: str,
    period: str,
    start: str | None,
    end: str | None,
    include_superseded: bool,
) -> list[PostedStatement]:
    lo, hi = window(period, start, end)
    return book.statements(
        session, entity_id, period, lo, hi, include_superseded=include_superseded
    )


#: label thresholds of docs/methodology.md when a statement's factor set has none
DEFAULT_THRESHOLDS = (1.2, 1.0, 0.8)


@lru_cache(maxsize=32)
def _factor_set(name: str, version: str | None) -> Any:
    from accounting.factors import load_factor_set

    return load_factor_set(name, version)


def _thresholds(fs_doc: dict[str, Any] | None) -> tuple[float, float, float]:
    """Label thresholds from the statement's factor set, or the defaults of docs/methodology.md."""
    from accounting.labels import orchard_thresholds

    if not fs_doc or not fs_doc.get("name"):
        return DEFAULT_THRESHOLDS
    try:
        return orchard_thresholds(_factor_set(fs_doc["name"], fs_doc.get("version")))
    except Exception:  # a set without label keys, or one no longer packaged
        return DEFAULT_THRESHOLDS


def _engine_statement(ps: PostedStatement) -> Any:
    from accounting.statements import Statement

    try:
        return Statement.from_dict(ps.statement)
    except Exception:
        raise ApiError(
            409,
            "statement_not_labelable",
            f"the {ps.period_kind} statement of {ps.account.entity_id!r} starting "
            f"{ps.period_start:%Y-%m-%d} was not computed by the accounting engine "
            "(no breakdown to label)",
        ) from None


def _label_dict_public(d: dict[str, Any], ps: PostedStatement, registry: Any) -> LabelPublic:
    expl = dict(d["explanation"])
    ent = registry.entities.get(ps.account.entity_id) if registry is not None else None
    attrs = ent.attrs if ent is not None else {}
    ratio = d.get("ratio")
    return LabelPublic(
        entity_id=ps.account.entity_id,
        colour=d["colour"],
        colour_zh=d["colour_zh"],
        ratio=None if ratio is None or ratio == float("inf") else float(ratio),
        thresholds=list(d["thresholds"]),
        period_kind=ps.period_kind,
        period_start=ps.period_start,
        period_end=ps.period_end,
        county=attrs.get("county"),
        area_mu=attrs.get("area_mu"),
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


def label_public(ps: PostedStatement, registry: Any) -> LabelPublic:
    """The label of a posted orchard statement (thresholds from its factor set)."""
    from accounting.labels import orchard_label

    stmt = _engine_statement(ps)
    label = orchard_label(stmt, thresholds=_thresholds(ps.factor_set))
    return _label_dict_public(label.to_dict(), ps, registry)


def _latest_statement(session: Any, acct: Account, period: str) -> PostedStatement:
    ps = session.scalars(
        select(PostedStatement)
        .where(
            PostedStatement.account_id == acct.id,
            PostedStatement.period_kind == period,
            PostedStatement.current.is_(True),
        )
        .order_by(PostedStatement.period_start.desc())
        .limit(1)
    ).first()
    if ps is None:
        raise ApiError(
            404,
            "no_statement",
            f"no {period} statement has been closed for {acct.entity_id!r} yet: try a shorter "
            "period (period=month or day), or close one with `tanzhang close`",
        )
    return ps
