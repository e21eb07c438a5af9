"""HTTP routes of the accounts: listing, balances, statements (JSON, CSV), audit trail and
redemptions. The orchard, factory and printable-statement routes are in
:mod:`api.routes.orchards`, :mod:`api.routes.factories` and :mod:`api.routes.statement_page`.

Every route checks the caller's key (:mod:`api.deps`): a listing shows only what the key
may see (:data:`api.deps.ScopeDep`), a single account answers 404 or 403 through
:data:`api.deps.VisibleAccount` / :data:`api.deps.VisibleEntity`. The queries are the
ledger's: :mod:`ledger.accounts_query`, :func:`ledger.balances.fast_balance` (the balance in
one query), :func:`ledger.redemption.redeem_once` (idempotent by key, decided by the
database).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from access.roles import Principal
from api import params
from api.deps import (
    ScopeDep,
    SessionDep,
    VisibleAccount,
    VisibleEntity,
    WriterDep,
)
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import ID_PATTERN, Limit, Offset, parse_when
from api.routes.common import (
    EndQ,
    PeriodKind,
    StartQ,
    statement_public,
    statements,
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
from ledger import accounts_query, book
from ledger.balances import fast_balance
from ledger.models import Account, Redemption
from ledger.periods import Period
from ledger.redemption import redeem_once

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
    scope: ScopeDep,
    session: SessionDep,
    kind: Annotated[str | None, Query(pattern="^(factory|line|orchard|forest)$")] = None,
    parent: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AccountPublic]:
    rows, total = accounts_query.visible_accounts(
        session, scope, kind=kind, parent=parent, limit=limit, offset=offset
    )
    items = [account_public(a) for a in rows]
    return Page[AccountPublic](items=items, limit=limit, offset=offset, total=total)


@router.get(
    "/accounts/{entity_id}",
    tags=["accounts"],
    summary="One account",
    responses=error_responses(404),
)
def get_account(acct: VisibleAccount) -> AccountPublic:
    return account_public(acct)


@router.get(
    "/accounts/{entity_id}/balance",
    tags=["accounts"],
    summary="Balance at a date: emissions, removals, net, redeemed and available [t CO2e]",
    responses=error_responses(404),
)
def get_balance(
    entity_id: VisibleEntity,
    session: SessionDep,
    at: Annotated[
        str | None,
        params.when_query("cut-off (a date: the end of that day)"),
    ] = None,
) -> BalancePublic:
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


@router.get(
    "/accounts/{entity_id}/statements",
    tags=["accounts"],
    summary="Statements per period with breakdown by source, scope and pool, and the factor set",
    responses=error_responses(404),
)
def list_statements(
    acct: VisibleAccount,
    session: SessionDep,
    period: PeriodKind = "day",
    start: StartQ = None,
    end: EndQ = None,
    include_superseded: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[StatementPublic]:
    rows = statements(session, acct.entity_id, period, start, end, include_superseded)
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
    acct: VisibleAccount,
    session: SessionDep,
    period: PeriodKind = "day",
    start: StartQ = None,
    end: EndQ = None,
    include_superseded: bool = False,
) -> Response:
    entity_id = acct.entity_id
    rows = [
        statement_public(s)
        for s in statements(session, entity_id, period, start, end, include_superseded)
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
    acct: VisibleAccount,
    session: SessionDep,
    start: Annotated[str, params.when_query("a time within the period")],
    period: PeriodKind = "day",
) -> list[StatementVersionPublic]:
    when = parse_when(start, "start")
    versions = book.audit_trail(session, acct.entity_id, Period.containing(period, when))
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
    acct: VisibleAccount,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[RedemptionPublic]:
    rows, total = accounts_query.redemptions(session, acct, limit=limit, offset=offset)
    items = [redemption_public(r) for r in rows]
    return Page[RedemptionPublic](items=items, limit=limit, offset=offset, total=total)


async def redeemer(principal: WriterDep) -> Principal:
    """A key that may redeem: the account holder's or an admin's (403 otherwise)."""
    if principal.role not in ("admin", "account_holder"):
        raise ApiError(
            403,
            "role_not_allowed",
            f"redemptions are made by the account holder or an admin; {principal.describe()} "
            "may not redeem",
        )
    return principal


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
    _: Annotated[Principal, Depends(redeemer)],
    acct: VisibleAccount,
    body: RedemptionCreate,
    response: Response,
    session: SessionDep,
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
    done = redeem_once(
        session, acct.entity_id, body.amount_t, key=idempotency_key, reference=body.reference
    )
    if not done.created:  # decided by the database's unique (account, key), not by clocks
        response.status_code = 200
    return redemption_public(done.redemption)
