"""HTTP routes of the accounts: listing, balances, statements (JSON, CSV, printable), audit
trail and redemptions. Orchard labels, line savings and benchmarking are in
:mod:`accounts.routes_insights` (included here).

Every route checks the caller's key (:mod:`access.deps`): a listing shows only what the key
may see, a single account answers 403 when the key may not see it.
"""

from __future__ import annotations

import csv
import html
import io
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import BigInteger, bindparam, func, or_, select

from access import params
from access.deps import (
    LookupDep,
    PrincipalDep,
    RegistryDep,
    SessionDep,
    StoreDep,
    WriterDep,
    ensure_visible,
)
from access.errors import AUTH_ERRORS, ApiError, error_responses
from access.params import ID_PATTERN, EntityId, Limit, Offset, parse_when
from access.roles import AGRONOMIST_KINDS, Principal
from accounts import ledger
from accounts.errors import UnknownAccount
from accounts.models import Account, LedgerEntry, PostedStatement, Redemption
from accounts.periods import Period
from tanzhang.api_schemas import (
    AccountPublic,
    BalancePublic,
    BaselineModelPublic,
    BenchmarksPublic,
    FactoryBenchmarkPublic,
    LabelExplanationPublic,
    LabelPublic,
    LedgerEntryPublic,
    LineSavingsPublic,
    Page,
    PeriodSavingsPublic,
    RedemptionCreate,
    RedemptionPublic,
    SavingsWindowPublic,
    StatementPublic,
    StatementVersionPublic,
    WhatIfPublic,
)

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)

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


def account_public(acct: Account) -> AccountPublic:
    return AccountPublic(
        entity_id=acct.entity_id,
        kind=acct.kind,
        parent=acct.parent,
        name=acct.name,
        booking_period=acct.booking_period,
        created_at=acct.created_at,
    )


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
    return ledger.get_account(session, entity_id)


@router.get("/accounts", tags=["accounts"], summary="Accounts visible to this key")
def list_accounts(
    principal: PrincipalDep,
    session: SessionDep,
    kind: Annotated[str | None, Query(pattern="^(factory|line|orchard|forest)$")] = None,
    parent: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AccountPublic]:
    conds = []
    if kind is not None:
        conds.append(Account.kind == kind)
    if parent is not None:
        conds.append(Account.parent == parent)
    clause = visible_clause(principal)
    if clause is not None:
        conds.append(clause)
    rows = session.scalars(
        select(Account).where(*conds).order_by(Account.entity_id).limit(limit).offset(offset)
    )
    total = session.scalar(select(func.count()).select_from(Account).where(*conds))
    items = [account_public(a) for a in rows]
    return Page[AccountPublic](items=items, limit=limit, offset=offset, total=total)


@router.get(
    "/accounts/{entity_id}",
    tags=["accounts"],
    summary="One account",
    responses=error_responses(404),
)
def get_account(
    entity_id: EntityId, principal: PrincipalDep, session: SessionDep, lookup: LookupDep
) -> AccountPublic:
    return account_public(_visible_account(session, principal, entity_id, lookup))


@router.get(
    "/accounts/{entity_id}/balance",
    tags=["accounts"],
    summary="Balance at a date: emissions, removals, net, redeemed and available [t CO2e]",
    responses=error_responses(404),
)
def get_balance(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    lookup: LookupDep,
    at: Annotated[
        str | None,
        params.when_query("cut-off (a date: the end of that day)"),
    ] = None,
) -> BalancePublic:
    ensure_visible(principal, entity_id, lookup)
    cutoff = parse_when(at, "at", end_of_day=True)
    bal = fast_balance(session, entity_id, cutoff)
    return BalancePublic(
        entity_id=entity_id,
        at=cutoff,
        emissions_t=bal.emissions_t,
        removals_t=bal.removals_t,
        net_t=bal.net_t,
        redeemed_t=bal.redeemed_t,
        available_t=bal.available_t,
    )


_ENTRY = LedgerEntry.__table__
_REVERSED = _ENTRY.alias("reversed")
_ACCOUNT = Account.__table__
_KIND = func.coalesce(_REVERSED.c.kind, _ENTRY.c.kind)
#: the query of :func:`accounts.balances.sums_by_kind_g`, by entity id, in one round trip,
#: built once (a LEFT JOIN from the account, so an account without entries gives one row)
_BALANCE_SQL = (
    select(_KIND, func.sum(_ENTRY.c.amount_t, type_=BigInteger))
    .select_from(
        _ACCOUNT.outerjoin(
            _ENTRY,
            (_ENTRY.c.account_id == _ACCOUNT.c.id) & (_ENTRY.c.effective_at <= bindparam("cutoff")),
        ).outerjoin(_REVERSED, _ENTRY.c.reverses_id == _REVERSED.c.id)
    )
    .where(_ACCOUNT.c.entity_id == bindparam("entity_id"))
    .group_by(_KIND)
)
_FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


def fast_balance(session: Any, entity_id: str, cutoff: datetime | None) -> Any:
    """:func:`accounts.ledger.balance` (entries effective at or before ``cutoff``) in one
    query instead of two ORM round trips: the balance lookup is the API's hottest route
    (docs/benchmarks.md). ``tests/api/test_values.py`` checks it equals the ledger's."""
    from accounts.balances import balance_from_sums

    rows = session.execute(
        _BALANCE_SQL, {"entity_id": entity_id, "cutoff": cutoff or _FAR_FUTURE}
    ).all()
    if not rows:
        raise UnknownAccount(entity_id)
    return balance_from_sums(entity_id, {k: int(v or 0) for k, v in rows if k is not None})


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
    return ledger.statements(
        session, entity_id, period, lo, hi, include_superseded=include_superseded
    )


@router.get(
    "/accounts/{entity_id}/statements",
    tags=["accounts"],
    summary="Statements per period with breakdown by source, scope and pool, and the factor set",
    responses=error_responses(404),
)
def list_statements(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    lookup: LookupDep,
    period: PeriodKind = "day",
    start: StartQ = None,
    end: EndQ = None,
    include_superseded: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[StatementPublic]:
    _visible_account(session, principal, entity_id, lookup)
    rows = _statements(session, entity_id, period, start, end, include_superseded)
    items = [statement_public(s) for s in rows[offset : offset + limit]]
    return Page[StatementPublic](items=items, limit=limit, offset=offset, total=len(rows))


CSV_COLUMNS = (
    "entity_id",
    "period_kind",
    "period_start",
    "period_end",
    "version",
    "current",
    "booked",
    "emissions_t",
    "removals_t",
    "net_t",
    "coverage",
    "factor_set",
    "factor_set_version",
)


@router.get(
    "/accounts/{entity_id}/statements.csv",
    tags=["accounts"],
    summary="Statements as CSV (one row per period; sources and pools as extra columns)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with header"},
        **error_responses(404),
    },
)
def statements_csv(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    lookup: LookupDep,
    period: PeriodKind = "day",
    start: StartQ = None,
    end: EndQ = None,
    include_superseded: bool = False,
) -> Response:
    _visible_account(session, principal, entity_id, lookup)
    rows = [
        statement_public(s)
        for s in _statements(session, entity_id, period, start, end, include_superseded)
    ]
    sources = sorted({k for r in rows for k in r.emissions_by_source})
    pools = sorted({k for r in rows for k in r.sequestration_by_pool})
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(
        [*CSV_COLUMNS, *(f"emissions_{s}_t" for s in sources), *(f"removals_{p}_t" for p in pools)]
    )
    for r in rows:
        fs = r.factor_set or {}
        out.writerow(
            [
                r.entity_id,
                r.period_kind,
                r.period_start.isoformat(),
                r.period_end.isoformat(),
                r.version,
                r.current,
                r.booked,
                f"{r.emissions_t:.6f}",
                f"{r.removals_t:.6f}",
                f"{r.net_t:.6f}",
                "" if r.coverage is None else f"{r.coverage:.4f}",
                fs.get("name", ""),
                fs.get("version", ""),
                *(f"{r.emissions_by_source.get(s, 0.0):.6f}" for s in sources),
                *(f"{r.sequestration_by_pool.get(p, 0.0):.6f}" for p in pools),
            ]
        )
    filename = f"{entity_id}-{period}-statements.csv"
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/accounts/{entity_id}/audit",
    tags=["accounts"],
    summary="Audit trail of one period: every version posted, with its ledger entries",
    responses=error_responses(404),
)
def audit(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    lookup: LookupDep,
    start: Annotated[str, params.when_query("a time within the period")],
    period: PeriodKind = "day",
) -> list[StatementVersionPublic]:
    _visible_account(session, principal, entity_id, lookup)
    when = parse_when(start, "start")
    versions = ledger.audit_trail(session, entity_id, Period.containing(period, when))
    return [
        StatementVersionPublic(
            **statement_public(v).model_dump(),
            entries=[
                LedgerEntryPublic(
                    id=e.id,
                    kind=e.kind,
                    amount_t=e.amount_t,
                    effective_at=e.effective_at,
                    posted_at=e.posted_at,
                    reverses_id=e.reverses_id,
                )
                for e in v.entries
            ],
        )
        for v in versions
    ]


def redemption_public(r: Redemption) -> RedemptionPublic:
    return RedemptionPublic(
        id=r.id,
        entity_id=r.account.entity_id,
        key=r.key.split(":", 1)[1] if r.key.startswith(f"{r.account.entity_id}:") else r.key,
        amount_t=r.amount_t,
        fertiliser_amount=r.fertiliser_amount,
        fertiliser_unit=r.fertiliser_unit,
        ratio=r.ratio,
        reference=r.reference,
        created_at=r.created_at,
    )


@router.get(
    "/accounts/{entity_id}/redemptions",
    tags=["accounts"],
    summary="Redemptions of an account, newest first",
    responses=error_responses(404),
)
def list_redemptions(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    lookup: LookupDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[RedemptionPublic]:
    acct = _visible_account(session, principal, entity_id, lookup)
    cond = Redemption.account_id == acct.id
    rows = session.scalars(
        select(Redemption).where(cond).order_by(Redemption.id.desc()).limit(limit).offset(offset)
    )
    total = session.scalar(select(func.count()).select_from(Redemption).where(cond))
    items = [redemption_public(r) for r in rows]
    return Page[RedemptionPublic](items=items, limit=limit, offset=offset, total=total)


@router.post(
    "/accounts/{entity_id}/redemptions",
    tags=["accounts"],
    summary="Redeem net fixed carbon for organic fertiliser (idempotent with Idempotency-Key)",
    status_code=201,
    responses={
        200: {"model": RedemptionPublic, "description": "repeat of an earlier request"},
        **error_responses(404, 409),
    },
)
def create_redemption(
    entity_id: EntityId,
    body: RedemptionCreate,
    response: Response,
    principal: WriterDep,
    session: SessionDep,
    lookup: LookupDep,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=8,
            max_length=128,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="unique per redemption (e.g. a UUID); a resend returns the first one",
        ),
    ],
) -> RedemptionPublic:
    if principal.role not in ("admin", "account_holder"):
        raise ApiError(
            403,
            "role_not_allowed",
            f"redemptions are made by the account holder or an admin; {principal.describe()} "
            "may not redeem",
        )
    _visible_account(session, principal, entity_id, lookup)
    from accounts.redemption import redeem

    started = datetime.now(UTC)
    red = redeem(session, entity_id, body.amount_t, key=idempotency_key, reference=body.reference)
    if red.created_at < started - timedelta(milliseconds=1):
        response.status_code = 200
    return redemption_public(red)


# -- orchard labels ------------------------------------------------------------------------
DEFAULT_THRESHOLDS = (1.2, 1.0, 0.8)
Practice = Literal["grass_cover", "straw_return", "organic_substitution"]


@lru_cache(maxsize=32)
def _factor_set(name: str, version: str | None) -> Any:
    from accounting.factors import load_factor_set

    return load_factor_set(name, version)


def _thresholds(fs_doc: dict[str, Any] | None) -> tuple[float, float, float]:
    """Label thresholds from the statement's factor set, or the defaults of METHODOLOGY.md."""
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
            net_emissions_t=expl["net_balance_t"],
            emissions_t_per_mu=expl.get("emissions_t_per_mu"),
            sequestration_t_per_mu=expl.get("sequestration_t_per_mu"),
            net_emissions_t_per_mu=expl.get("net_t_per_mu"),
            coverage=expl.get("coverage"),
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


def _orchard(session: Any, principal: Principal, entity_id: str, lookup: Any) -> Account:
    acct = _visible_account(session, principal, entity_id, lookup)
    if acct.kind != "orchard":
        raise ApiError(
            422, "not_an_orchard", f"entity {entity_id!r} is a {acct.kind}; labels are for orchards"
        )
    return acct


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
    colour: Annotated[str | None, Query(pattern="^(dark_green|light_green|yellow|red)$")] = None,
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
    labels = []
    for ps in rows:
        try:
            lab = label_public(ps, registry)
        except ApiError:
            continue
        if (colour is None or lab.colour == colour) and (county is None or lab.county == county):
            labels.append(lab)
    return Page[LabelPublic](
        items=labels[offset : offset + limit], limit=limit, offset=offset, total=len(labels)
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
    from accounts.closing import profile_of, read_activities

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
            store, [entity_id], Period(ps.period_kind, ps.period_start, ps.period_end)
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
                delta_net_emissions_t=doc["delta_net_balance_t"],
                improves=doc["improves"],
            )
        )
    return out


# -- line savings --------------------------------------------------------------------------
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SITE_UTC_OFFSET_H = 8.0  # China Standard Time: local days of the savings model
SAVINGS_CONFIDENCE = 0.90
MODEL_TTL_S = 3600.0  # a fitted baseline is reused this long (its data is history)


def _hourly_register(
    store: Any, field: str, entities: list[str], start_ms: int, end_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hour starts in ``[start_ms, end_ms)`` and the register usage of each hour, summed over
    the entity's devices (:func:`accounting.activity.register_usage`, resets and swaps
    handled there); NaN where no device covered the hour."""
    from accounting.activity import DEFAULT_MAX_RATE_PER_HOUR, register_usage

    hours = np.arange(start_ms, end_ms, HOUR_MS, dtype=np.int64)
    total = np.zeros(hours.size)
    covered = np.zeros(hours.size, dtype=bool)
    series = store.series(field, start_ms, end_ms + HOUR_MS, entities=entities, previous=True)
    rate = DEFAULT_MAX_RATE_PER_HOUR.get(field, 1e9)
    for s in series.values():
        ts, v = np.asarray(s.ts_ms, dtype=np.int64), np.asarray(s.values, dtype=float)
        if ts.size < 2:
            continue
        lo = np.clip(np.searchsorted(ts, hours, "right") - 1, 0, None)
        hi = np.searchsorted(ts, hours + HOUR_MS, "left") + 1
        for i in np.nonzero(hi - lo >= 2)[0]:
            u = register_usage(ts[lo[i] : hi[i]], v[lo[i] : hi[i]], int(hours[i]),
                               int(hours[i]) + HOUR_MS, max_rate_per_hour=rate)  # fmt: skip
            if u.coverage > 0.5:
                total[i] += u.total
                covered[i] = True
    return hours, np.where(covered, total, np.nan)


def _hourly_mean(
    store: Any, field: str, entities: list[str], start_ms: int, end_ms: int
) -> np.ndarray:
    """Hourly mean of a gauge over the devices of ``entities`` (NaN: no reading)."""
    n = (end_ms - start_ms + HOUR_MS - 1) // HOUR_MS
    sums, counts = np.zeros(n), np.zeros(n)
    for s in store.downsample(field, start_ms, end_ms, 3600, entities=entities).values():
        idx = (np.asarray(s.ts_ms, dtype=np.int64) - start_ms) // HOUR_MS
        ok = (idx >= 0) & (idx < n) & np.isfinite(s.values)
        np.add.at(sums, idx[ok], np.asarray(s.values)[ok])
        np.add.at(counts, idx[ok], 1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass
class _LineData:
    hours: np.ndarray
    energy: np.ndarray
    temp: np.ndarray
    output: np.ndarray | None
    warnings: list[str]


def _line_hours(store: Any, line: Any, start_ms: int, end_ms: int) -> _LineData:
    """Hourly energy, output and temperature of a line (temperature from the line's or its
    factory's weather devices; 18 °C, no degree days, when there is none)."""
    _, energy = _hourly_register(store, "energy_kwh_total", [line.id], start_ms, end_ms)
    hours, output = _hourly_register(store, "output_units_total", [line.id], start_ms, end_ms)
    warnings: list[str] = []
    temp = _hourly_mean(store, "air_temp_c", [line.id, *([line.parent] if line.parent else [])],
                        start_ms, end_ms)  # fmt: skip
    if not np.isfinite(temp).any():
        temp = np.full(hours.size, 18.0)
        warnings.append("savings.no_temperature: no air_temp_c; weather terms cannot be fitted")
    else:
        temp = np.where(np.isfinite(temp), temp, np.nanmean(temp))
    has_output = np.isfinite(output).any()
    return _LineData(hours, energy, temp, output if has_output else None, warnings)


def _daily(data: _LineData) -> Any:
    """Local-day totals (energy, output) and mean temperature; a day needs 90 % of its hours."""
    from accounting.baseline import DailyData

    off = int(SITE_UTC_OFFSET_H * HOUR_MS)
    day = (data.hours + off) // DAY_MS
    days = np.unique(day)
    idx = np.searchsorted(days, day)

    def total(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x)
        s = np.bincount(idx, np.where(ok, x, 0.0), days.size)
        n = np.bincount(idx, ok.astype(float), days.size)
        return np.where(n >= 0.9 * 24, s * 24 / np.maximum(n, 1), np.nan)

    temp = np.bincount(idx, data.temp, days.size) / np.bincount(idx, minlength=days.size)
    out = total(data.output) if data.output is not None else None
    return DailyData(days.astype("datetime64[D]"), total(data.energy), temp, out)


def _profile_dates(line: Any) -> tuple[date, date, date | None]:
    from accounts.closing import profile_of

    prof = profile_of(line)
    if prof.baseline_start is None or prof.baseline_end is None:
        raise ApiError(
            409,
            "no_baseline_period",
            f"line {line.id!r} has no baseline_start/baseline_end in the registry: add them "
            "(`tanzhang registry`) to measure its savings",
        )
    return prof.baseline_start, prof.baseline_end, prof.intervention_date


def _local_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) - int(
        SITE_UTC_OFFSET_H * HOUR_MS
    )


def _baseline_model(app_state: Any, store: Any, line: Any) -> Any:
    """The line's fitted baseline (CalTRACK-style daily model + hourly profile), cached."""
    from accounting.baseline import fit_line_baseline
    from accounting.errors import AccountingError
    from accounting.savings import fit_hourly_profile

    b0, b1, _ = _profile_dates(line)
    cache = app_state.__dict__.setdefault("savings_models", {})
    key = (line.id, b0, b1)
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < MODEL_TTL_S:
        return hit[1]
    try:
        data = _line_hours(store, line, _local_ms(b0), _local_ms(b1) + DAY_MS)
        model = fit_line_baseline(_daily(data))
        fit_hourly_profile(model, data.hours, data.energy, data.output,
                           utc_offset_h=SITE_UTC_OFFSET_H)  # fmt: skip
    except AccountingError as exc:
        raise ApiError(
            409,
            "insufficient_baseline_data",
            f"the baseline of line {line.id!r} ({b0} to {b1}) cannot be fitted: {exc}",
        ) from None
    cache[key] = (time.monotonic(), model)
    return model


def _grid_ef(line: Any) -> float:
    from accounts.closing import profile_of

    return float(_factor_set("cn-mee-2023", None).value(profile_of(line).grid_factor_key))


def _model_public(model: Any) -> BaselineModelPublic:
    return BaselineModelPublic(
        model_type=model.model_type,
        baseline_start=model.baseline_start,
        baseline_end=model.baseline_end,
        coefficients={k: float(v) for k, v in model.coefficients.items()},
        n_days=model.n,
        r_squared=model.r_squared,
        cvrmse=model.cvrmse,
        nmbe=model.nmbe,
        warnings=[getattr(w, "qualified_name", None) or str(w) for w in model.warnings],
    )


def _window_public(model: Any, w: dict[str, Any], ef: float) -> SavingsWindowPublic:
    """A rolling window with its uncertainty: ASHRAE G14 FSU with the daily model's
    CV(RMSE) and m = the window's days rounded up (at least one; conservative for
    sub-day windows)."""
    from accounting.errors import AccountingError
    from accounting.savings import fractional_savings_uncertainty

    u_kwh = None
    if w["hours"] > 0:
        try:
            u_kwh, _ = fractional_savings_uncertainty(
                cvrmse=model.cvrmse, n_baseline=model.n, n_params=model.n_params,
                rho1=model.rho1, m_reporting=max(1, -(-w["hours"] // 24)),
                predicted_kwh=w["predicted_kwh"], avoided_kwh=w["avoided_kwh"],
                confidence=SAVINGS_CONFIDENCE,
            )  # fmt: skip
        except AccountingError:
            u_kwh = None
    u_t = None if u_kwh is None else u_kwh * ef / 1000
    t = w["avoided_t_co2"]
    return SavingsWindowPublic(
        metered_kwh=w["metered_kwh"],
        predicted_kwh=w["predicted_kwh"],
        avoided_kwh=w["avoided_kwh"],
        avoided_t_co2=t,
        uncertainty_kwh=u_kwh,
        uncertainty_t_co2=u_t,
        lower_t_co2=None if u_t is None else t - u_t,
        upper_t_co2=None if u_t is None else t + u_t,
        hours=w["hours"],
    )


def _line(registry: Any, principal: Principal, entity_id: str, lookup: Any) -> Any:
    ensure_visible(principal, entity_id, lookup)
    line = registry.entities.get(entity_id)
    if line is None or line.kind != "line":
        kind = line.kind if line is not None else "unregistered entity"
        raise ApiError(422, "not_a_line", f"{entity_id!r} is a {kind}; savings are for lines")
    return line


@router.get(
    "/lines/{entity_id}/savings",
    tags=["factories"],
    summary="Rolling savings of a line against its baseline: last 2 h, today, since intervention",
    responses=error_responses(404, 409),
)
def line_savings(
    entity_id: EntityId,
    request: Request,
    principal: PrincipalDep,
    registry: RegistryDep,
    store: StoreDep,
    lookup: LookupDep,
) -> LineSavingsPublic:
    from accounting.savings import rolling_figures

    line = _line(registry, principal, entity_id, lookup)
    _, _, intervention = _profile_dates(line)
    model = _baseline_model(request.app.state, store, line)
    now_ms = int(time.time() * 1000)
    start_ms = _local_ms(intervention) if intervention else now_ms - DAY_MS
    start_ms = max(start_ms, now_ms - 400 * DAY_MS) // HOUR_MS * HOUR_MS
    data = _line_hours(store, line, start_ms, now_ms)
    ef = _grid_ef(line)
    windows = rolling_figures(
        model, data.hours, data.energy, data.temp, data.output, now_ms=now_ms,
        intervention_ms=start_ms, grid_ef_kg_per_kwh=ef, utc_offset_h=SITE_UTC_OFFSET_H,
    )  # fmt: skip
    return LineSavingsPublic(
        entity_id=entity_id,
        intervention_date=intervention.isoformat() if intervention else None,
        confidence=SAVINGS_CONFIDENCE,
        grid_ef_kg_per_kwh=ef,
        model=_model_public(model),
        windows={k: _window_public(model, w, ef) for k, w in windows.items()},
        warnings=data.warnings
        + ([] if intervention else ["savings.no_intervention_date: windows start 24 h ago"]),
    )


@router.get(
    "/lines/{entity_id}/savings/periods",
    tags=["factories"],
    summary="Savings of a line per day or month, with uncertainty (ASHRAE Guideline 14)",
    responses=error_responses(404, 409),
)
def line_savings_periods(
    entity_id: EntityId,
    request: Request,
    principal: PrincipalDep,
    registry: RegistryDep,
    store: StoreDep,
    lookup: LookupDep,
    period: Annotated[Literal["day", "month"], Query()] = "day",
    start: StartQ = None,
    end: EndQ = None,
) -> list[PeriodSavingsPublic]:
    from accounting.baseline import DailyData
    from accounting.errors import AccountingError
    from accounting.savings import compute_savings

    line = _line(registry, principal, entity_id, lookup)
    model = _baseline_model(request.app.state, store, line)
    lo, hi = window(period, start, end)
    lo_ms = max(int(lo.timestamp() * 1000), int(time.time() * 1000) - 800 * DAY_MS)
    hi_ms = min(int(hi.timestamp() * 1000), int(time.time() * 1000))
    if hi_ms - lo_ms < DAY_MS:
        return []
    daily = _daily(_line_hours(store, line, lo_ms // HOUR_MS * HOUR_MS, hi_ms))
    ef = _grid_ef(line)
    keys = daily.dates.astype(f"datetime64[{'D' if period == 'day' else 'M'}]")
    out = []
    for k in np.unique(keys):
        sel = keys == k
        part = DailyData(daily.dates[sel], daily.energy_kwh[sel], daily.temp_c[sel],
                         None if daily.output_units is None else daily.output_units[sel])  # fmt: skip
        try:
            r = compute_savings(model, part, grid_ef_kg_per_kwh=ef, confidence=SAVINGS_CONFIDENCE)
        except AccountingError:
            continue
        first = k.astype("datetime64[D]").astype(object)
        nxt = (k + 1).astype("datetime64[D]").astype(object)
        out.append(
            PeriodSavingsPublic(
                period_start=datetime.fromtimestamp(_local_ms(first) / 1000, UTC),
                period_end=datetime.fromtimestamp(_local_ms(nxt) / 1000, UTC),
                n_days=r.n_days,
                predicted_kwh=r.predicted_kwh,
                metered_kwh=r.metered_kwh,
                avoided_kwh=r.avoided_kwh,
                fractional_savings=r.fractional_savings,
                uncertainty_kwh=r.uncertainty_kwh,
                fsu=None if not np.isfinite(r.fsu) else r.fsu,
                avoided_t_co2=r.avoided_t_co2,
                uncertainty_t_co2=r.uncertainty_t_co2,
            )
        )
    return out


# -- factory benchmarking ------------------------------------------------------------------
@router.get(
    "/factories/benchmarks",
    tags=["factories"],
    summary="Factories against their benchmark intensity: K, colour, and the two lists",
)
def factory_benchmarks(
    principal: PrincipalDep,
    session: SessionDep,
    registry: RegistryDep,
    lookup: LookupDep,
    period: Annotated[PeriodKind, Query()] = "year",
) -> BenchmarksPublic:
    """Uses each visible factory's latest statement of ``period`` and its registry attributes
    ``industry_code`` and ``benchmark_tco2e_per_10k_cny`` (no industry table is packaged:
    docs/accounting.md)."""
    from accounting.benchmarking import benchmark_factories

    conds = [Account.kind == "factory"]
    clause = visible_clause(principal)
    if clause is not None:
        conds.append(clause)
    stmts, starts, codes, benches = [], {}, {}, {}
    for acct in session.scalars(select(Account).where(*conds).order_by(Account.entity_id)):
        try:
            ps = _latest_statement(session, acct, period)
            stmt = _engine_statement(ps)
        except ApiError:
            continue
        ent = registry.entities.get(acct.entity_id)
        attrs = ent.attrs if ent is not None else {}
        if attrs.get("benchmark_tco2e_per_10k_cny"):
            codes[acct.entity_id] = acct.entity_id
            benches[acct.entity_id] = float(attrs["benchmark_tco2e_per_10k_cny"])
        stmts.append(stmt)
        starts[acct.entity_id] = (ps.period_start, attrs.get("industry_code"))
    doc = benchmark_factories(stmts, benches, industry_codes=codes)
    results = [
        FactoryBenchmarkPublic(
            **{**r, "industry_code": starts[r["entity_id"]][1]},
            period_start=starts[r["entity_id"]][0],
        )
        for r in doc["results"]
    ]
    return BenchmarksPublic(
        results=results,
        poor_performers=doc["poor_performers"],
        low_green_share=doc["low_green_share"],
    )


# -- printable account statement -----------------------------------------------------------
_PAGE_CSS = """
body{font:14px/1.45 system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}.muted{color:#555;font-size:12px}
.sum td{font-weight:600}@media print{body{margin:0}a{color:inherit;text-decoration:none}}
"""


def _t(x: float | None) -> str:
    return "" if x is None else f"{x:,.3f}"


@router.get(
    "/accounts/{entity_id}/statement.html",
    tags=["accounts"],
    summary="Printable account statement (HTML): balance, statements and redemptions",
    responses={
        200: {
            "content": {"text/html": {"schema": {"type": "string"}}},
            "description": "a printable page",
        },
        **error_responses(404),
    },
)
def printable_statement(
    entity_id: EntityId,
    principal: PrincipalDep,
    session: SessionDep,
    lookup: LookupDep,
    period: PeriodKind = "month",
    start: StartQ = None,
    end: EndQ = None,
) -> HTMLResponse:
    acct = _visible_account(session, principal, entity_id, lookup)
    lo, hi = window(period, start, end)
    bal = ledger.balance(session, entity_id, hi)
    rows = [statement_public(s) for s in _statements(session, entity_id, period, start, end, False)]
    reds = session.scalars(
        select(Redemption)
        .where(
            Redemption.account_id == acct.id,
            Redemption.created_at >= lo,
            Redemption.created_at < hi,
        )
        .order_by(Redemption.created_at)
    ).all()
    e = html.escape
    factor_sets = sorted(
        {f"{r.factor_set.get('name')} {r.factor_set.get('version')}" for r in rows if r.factor_set}
    )
    body_rows = "".join(
        f"<tr><td>{e(r.period_start.strftime('%Y-%m-%d %H:%M'))}</td><td>{_t(r.emissions_t)}</td>"
        f"<td>{_t(r.removals_t)}</td><td>{_t(r.net_t)}</td>"
        f"<td>{'' if r.coverage is None else f'{r.coverage:.0%}'}</td><td>{r.version}</td></tr>"
        for r in rows
    )
    red_rows = "".join(
        f"<tr><td>{e(r.created_at.strftime('%Y-%m-%d %H:%M'))}</td><td>{_t(r.amount_t)}</td>"
        f"<td>{_t(r.fertiliser_amount)} {e(r.fertiliser_unit)}</td><td>{e(r.reference or '')}</td></tr>"
        for r in reds
    )
    totals = (
        f"<tr class=sum><td>合计 Total</td><td>{_t(sum(r.emissions_t for r in rows))}</td>"
        f"<td>{_t(sum(r.removals_t for r in rows))}</td><td>{_t(sum(r.net_t for r in rows))}</td>"
        "<td></td><td></td></tr>"
    )
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>碳账户对账单 {e(entity_id)}</title><style>{_PAGE_CSS}</style></head><body>
<h1>碳账户对账单 · Carbon account statement</h1>
<p>{e(acct.name or entity_id)} (<b>{e(entity_id)}</b>, {e(acct.kind)}) ·
{e(lo.strftime("%Y-%m-%d"))} – {e(hi.strftime("%Y-%m-%d"))} UTC · {e(period)}</p>
<h2>余额 Balance at {e(hi.strftime("%Y-%m-%d %H:%M"))} UTC [t CO2e]</h2>
<table><tr><th>排放 Emissions</th><th>清除 Removals</th><th>净值 Net</th><th>已兑换 Redeemed</th>
<th>可兑换 Available</th></tr><tr><td>{_t(bal.emissions_t)}</td><td>{_t(bal.removals_t)}</td>
<td>{_t(bal.net_t)}</td><td>{_t(bal.redeemed_t)}</td><td>{_t(bal.available_t)}</td></tr></table>
<h2>账期 Statements [t CO2e]</h2>
<table><tr><th>Period start (UTC)</th><th>Emissions</th><th>Removals</th><th>Net</th>
<th>Coverage</th><th>Version</th></tr>{body_rows}{totals}</table>
<h2>兑换 Redemptions</h2>
<table><tr><th>Date (UTC)</th><th>t CO2e</th><th>Fertiliser</th><th>Reference</th></tr>{red_rows}</table>
<p class=muted>Net = removals − emissions; positive is a net sink. Factor sets:
{e(", ".join(factor_sets) or "—")}. Printed {e(datetime.now(UTC).strftime("%Y-%m-%d %H:%M"))} UTC
by tanzhang 碳账.</p></body></html>"""
    return HTMLResponse(page)
