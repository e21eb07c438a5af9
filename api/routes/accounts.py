"""HTTP routes of the accounts: listing, balances, statements (JSON, CSV), audit trail and
redemptions; the orchard, factory and printable-statement routes of
:mod:`api.routes.orchards`, :mod:`api.routes.factories` and
:mod:`api.routes.statement_page` are included in :data:`router`.

Every route checks the caller's key (:mod:`api.deps`): a listing shows only what the key
may see, a single account answers 403 when the key may not see it.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import BigInteger, bindparam, func, select

from api import params
from api.deps import (
    LookupDep,
    PrincipalDep,
    SessionDep,
    WriterDep,
    ensure_visible,
)
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import ID_PATTERN, EntityId, Limit, Offset, parse_when
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    _statements,
    _visible_account,
    statement_public,
    visible_clause,
)
from api.schemas import (
    AccountPublic,
    BalancePublic,
    LedgerEntryPublic,
    Page,
    RedemptionCreate,
    RedemptionPublic,
    StatementPublic,
    StatementVersionPublic,
)
from ledger import book
from ledger.errors import UnknownAccount
from ledger.models import Account, LedgerEntry, Redemption
from ledger.periods import Period

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)


def account_public(acct: Account) -> AccountPublic:
    return AccountPublic(
        entity_id=acct.entity_id,
        kind=acct.kind,
        parent=acct.parent,
        name=acct.name,
        booking_period=acct.booking_period,
        created_at=acct.created_at,
    )


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
#: the query of :func:`ledger.balances.sums_by_kind_g`, by entity id, in one round trip,
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
    """:func:`ledger.book.balance` (entries effective at or before ``cutoff``) in one
    query instead of two ORM round trips: the balance lookup is the API's hottest route
    (docs/benchmarks.md). ``tests/api/test_values.py`` checks it equals the ledger's."""
    from ledger.balances import balance_from_sums

    rows = session.execute(
        _BALANCE_SQL, {"entity_id": entity_id, "cutoff": cutoff or _FAR_FUTURE}
    ).all()
    if not rows:
        raise UnknownAccount(entity_id)
    return balance_from_sums(entity_id, {k: int(v or 0) for k, v in rows if k is not None})


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
    versions = book.audit_trail(session, entity_id, Period.containing(period, when))
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
    from ledger.redemption import redeem_once

    done = redeem_once(
        session, entity_id, body.amount_t, key=idempotency_key, reference=body.reference
    )
    if not done.created:  # decided by the database's unique (account, key), not by clocks
        response.status_code = 200
    return redemption_public(done.redemption)
