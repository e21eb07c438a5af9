"""Orchard four-colour labels: list, current with explanation, history, what-if."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select

from access.roles import Principal
from api.deps import (
    LookupDep,
    PrincipalDep,
    RegistryDep,
    SessionDep,
    StoreDep,
)
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import EntityId, Limit, Offset
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    _engine_statement,
    _factor_set,
    _label_dict_public,
    _latest_statement,
    _statements,
    _thresholds,
    _visible_account,
    label_public,
    visible_clause,
)
from api.schemas import (
    LabelPublic,
    Page,
    WhatIfPublic,
)
from ledger.models import Account, PostedStatement
from ledger.periods import Period

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


#: most rows a CSV export holds
MAX_ROWS = 100_000
Practice = Literal["grass_cover", "straw_return", "organic_substitution"]


def _orchard(session: Any, principal: Principal, entity_id: str, lookup: Any) -> Account:
    acct = _visible_account(session, principal, entity_id, lookup)
    if acct.kind != "orchard":
        raise ApiError(
            422, "not_an_orchard", f"entity {entity_id!r} is a {acct.kind}; labels are for orchards"
        )
    return acct


LabelPeriod = Annotated[
    PeriodKind, Query(description="period of the statement labelled (a year by default)")
]


@router.get(
    "/orchards",
    tags=["orchards"],
    summary="Every visible orchard with its current colour, filtered by county and colour",
)
def list_orchard_labels(
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    period: LabelPeriod = "year",
    colour: Annotated[
        str | None, Query(pattern="^(dark_green|light_green|yellow|red|unrated)$")
    ] = None,
    county: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LabelPublic]:
    latest = (
        select(PostedStatement.account_id, func.max(PostedStatement.period_start).label("ps"))
        .where(PostedStatement.period_kind == period, PostedStatement.current.is_(True))
        .group_by(PostedStatement.account_id)
        .subquery()
    )
    conds = [Account.kind == "orchard"]
    clause = visible_clause(principal)
    if clause is not None:
        conds.append(clause)
    rows = session.scalars(
        select(PostedStatement)
        .join(Account, PostedStatement.account_id == Account.id)
        .join(
            latest,
            (latest.c.account_id == PostedStatement.account_id)
            & (latest.c.ps == PostedStatement.period_start),
        )
        .where(*conds, PostedStatement.period_kind == period, PostedStatement.current.is_(True))
        .order_by(Account.entity_id)
    )
    if county is not None:  # from the registry, before any label is computed

        def county_of(ps: PostedStatement) -> Any:
            ent = registry.entities.get(ps.account.entity_id)
            return ent.attrs.get("county") if ent is not None else None

        rows = [ps for ps in rows if county_of(ps) == county]
    if colour is None:  # label only the page asked for
        rows = list(rows)
        total, rows = len(rows), rows[offset : offset + limit]
    labels = []
    for ps in rows:
        try:
            lab = label_public(ps, registry)
        except ApiError:
            continue
        if colour is None or lab.colour == colour:
            labels.append(lab)
    if colour is not None:
        total, labels = len(labels), labels[offset : offset + limit]
    return Page[LabelPublic](items=labels, limit=limit, offset=offset, total=total)


CSV_COLUMNS = (
    "entity_id", "county", "area_mu", "colour", "colour_zh", "ratio", "period_start",
    "total_emissions_t", "total_sequestration_t", "net_t", "net_t_per_mu",
    "coverage", "unrated_reason", "largest_source", "largest_pool",
)  # fmt: skip


@router.get(
    "/orchards.csv",
    tags=["orchards"],
    summary="The orchard list as CSV (one row per orchard, same filters)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with header"}},
)
def orchard_labels_csv(
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    period: LabelPeriod = "year",
    colour: Annotated[
        str | None, Query(pattern="^(dark_green|light_green|yellow|red|unrated)$")
    ] = None,
    county: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    page = list_orchard_labels(
        principal, session, registry, period, colour, county, limit=MAX_ROWS, offset=0
    )
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for lab in page.items:
        e = lab.explanation
        out.writerow(
            [
                lab.entity_id, lab.county or "", lab.area_mu or "", lab.colour, lab.colour_zh,
                "" if lab.ratio is None else f"{lab.ratio:.4f}", lab.period_start.isoformat(),
                f"{e.total_emissions_t:.6f}", f"{e.total_sequestration_t:.6f}",
                f"{e.net_t:.6f}",
                "" if e.net_t_per_mu is None else f"{e.net_t_per_mu:.6f}",
                "" if e.coverage is None else f"{e.coverage:.4f}",
                (e.unrated or {}).get("reason", ""),
                e.largest_sources[0].name if e.largest_sources else "",
                e.largest_pools[0].name if e.largest_pools else "",
            ]
        )  # fmt: skip
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="orchards-{period}.csv"'},
    )


@router.get(
    "/orchards/{entity_id}/label",
    tags=["orchards"],
    summary="Current label of an orchard with its explanation (sources, pools, coverage)",
    responses=error_responses(404, 409),
)
def current_label(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    lookup: LookupDep,
    period: LabelPeriod = "year",
) -> LabelPublic:
    acct = _orchard(session, principal, entity_id, lookup)
    return label_public(_latest_statement(session, acct, period), registry)


@router.get(
    "/orchards/{entity_id}/labels",
    tags=["orchards"],
    summary="Label history of an orchard, one per closed period",
    responses=error_responses(404),
)
def label_history(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    lookup: LookupDep,
    period: Annotated[PeriodKind, Query()] = "month",
    start: StartQ = None,
    end: EndQ = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LabelPublic]:
    _orchard(session, principal, entity_id, lookup)
    rows = _statements(session, entity_id, period, start, end, False)
    labels = []
    for ps in rows:
        try:
            labels.append(label_public(ps, registry))
        except ApiError:
            continue
    return Page[LabelPublic](
        items=labels[offset : offset + limit], limit=limit, offset=offset, total=len(labels)
    )


@router.get(
    "/orchards/{entity_id}/what-if",
    tags=["orchards"],
    summary="The label the orchard would earn with a practice on a given area",
    responses=error_responses(404, 409, 503),
)
def what_if(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    store: StoreDep,
    lookup: LookupDep,
    practice: Annotated[
        Practice | None, Query(description="one practice; all three when left out")
    ] = None,
    area_mu: Annotated[
        float | None, Query(gt=0, le=1e6, description="extra area [mu]; default the orchard's")
    ] = None,
    period: LabelPeriod = "year",
) -> list[WhatIfPublic]:
    from accounting.events import PRACTICES
    from accounting.labels import what_if as engine_what_if
    from ledger.closing import profile_of, read_activities

    acct = _orchard(session, principal, entity_id, lookup)
    ps = _latest_statement(session, acct, period)
    stmt = _engine_statement(ps)
    ent = registry.entities.get(entity_id)
    if ent is None:
        raise ApiError(404, "entity_not_found", f"orchard {entity_id!r} is not in the registry")
    profile = profile_of(ent)
    area = area_mu if area_mu is not None else float(profile.area_mu or 0)
    fs_doc = ps.factor_set or {}
    try:
        fs = _factor_set(fs_doc.get("name", "cn-mee-2023"), fs_doc.get("version"))
    except Exception as exc:
        raise ApiError(
            409, "factor_set_unavailable", f"factor set {fs_doc!r} cannot be loaded: {exc}"
        ) from None
    try:
        activity = read_activities(
            store, [entity_id], Period(ps.period_start, ps.period_end, ps.period_kind)
        )[entity_id]
    except Exception as exc:
        raise ApiError(503, "store_unavailable", f"cannot read the orchard's data: {exc}") from None
    out = []
    for p in [practice] if practice else list(PRACTICES):
        doc = engine_what_if(
            profile, stmt.period, activity, fs, p, area, thresholds=_thresholds(ps.factor_set)
        )
        out.append(
            WhatIfPublic(
                practice=p,
                area_mu=area,
                before=_label_dict_public(doc["before"], ps, registry),
                after=_label_dict_public(doc["after"], ps, registry),
                delta_emissions_t=doc["delta_emissions_t"],
                delta_sequestration_t=doc["delta_sequestration_t"],
                delta_net_t=doc["delta_net_t"],
                improves=doc["improves"],
            )
        )
    return out
