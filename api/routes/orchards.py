"""Orchard four-colour labels: list, current with explanation, history, what-if.

The labels are :mod:`ledger.label_service`'s; these routes check the caller
(:data:`api.deps.VisibleOrchard`, :data:`api.deps.ScopeDep`) and shape the answers
(:func:`api.routes.common.label_public`)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import (
    RegistryDep,
    ScopeDep,
    SessionDep,
    StoreDep,
    VisibleOrchard,
)
from api.errors import AUTH_ERRORS, error_responses
from api.params import Limit, Offset
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    label_public,
    window,
)
from api.schemas import (
    LabelPublic,
    Page,
    WhatIfPublic,
)
from ledger import label_service

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


#: most rows a CSV export holds
MAX_ROWS = 100_000
Practice = Literal["grass_cover", "straw_return", "organic_substitution"]


LabelPeriod = Annotated[
    PeriodKind, Query(description="period of the statement labelled (a year by default)")
]
Colour = Annotated[str | None, Query(pattern="^(dark_green|light_green|yellow|red|unrated)$")]
County = Annotated[str | None, Query(max_length=100)]


@router.get(
    "/orchards",
    tags=["orchards"],
    summary="Every visible orchard with its current colour, filtered by county and colour",
)
def list_orchard_labels(
    scope: ScopeDep,
    session: SessionDep,
    registry: RegistryDep,
    period: LabelPeriod = "year",
    colour: Colour = None,
    county: County = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LabelPublic]:
    total, labels = label_service.orchard_labels(
        session, registry, scope, period, colour=colour, county=county, limit=limit, offset=offset
    )
    items = [label_public(lab) for lab in labels]
    return Page[LabelPublic](items=items, limit=limit, offset=offset, total=total)


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
    scope: ScopeDep,
    session: SessionDep,
    registry: RegistryDep,
    period: LabelPeriod = "year",
    colour: Colour = None,
    county: County = None,
) -> Response:
    page = list_orchard_labels(
        scope, session, registry, period, colour, county, limit=MAX_ROWS, offset=0
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
    acct: VisibleOrchard,
    session: SessionDep,
    registry: RegistryDep,
    period: LabelPeriod = "year",
) -> LabelPublic:
    return label_public(label_service.current_label(session, registry, acct, period))


@router.get(
    "/orchards/{entity_id}/labels",
    tags=["orchards"],
    summary="Label history of an orchard, one per closed period",
    responses=error_responses(404),
)
def label_history(
    acct: VisibleOrchard,
    session: SessionDep,
    registry: RegistryDep,
    period: Annotated[PeriodKind, Query()] = "month",
    start: StartQ = None,
    end: EndQ = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LabelPublic]:
    lo, hi = window(period, start, end)
    labels = label_service.label_history(session, registry, acct.entity_id, period, lo, hi)
    return Page[LabelPublic](
        items=[label_public(lab) for lab in labels[offset : offset + limit]],
        limit=limit,
        offset=offset,
        total=len(labels),
    )


@router.get(
    "/orchards/{entity_id}/what-if",
    tags=["orchards"],
    summary="The label the orchard would earn with a practice on a given area",
    responses=error_responses(404, 409, 503),
)
def what_if(
    acct: VisibleOrchard,
    session: SessionDep,
    registry: RegistryDep,
    store: StoreDep,
    practice: Annotated[
        Practice | None, Query(description="one practice; all three when left out")
    ] = None,
    area_mu: Annotated[
        float | None, Query(gt=0, le=1e6, description="extra area [mu]; default the orchard's")
    ] = None,
    period: LabelPeriod = "year",
) -> list[WhatIfPublic]:
    results = label_service.what_if(session, registry, store, acct, period, practice, area_mu)
    return [
        WhatIfPublic(
            practice=r.practice,
            area_mu=r.area_mu,
            before=label_public(r.before),
            after=label_public(r.after),
            delta_emissions_t=r.delta_emissions_t,
            delta_sequestration_t=r.delta_sequestration_t,
            delta_net_t=r.delta_net_t,
            improves=r.improves,
        )
        for r in results
    ]
