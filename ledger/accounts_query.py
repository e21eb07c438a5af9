"""Reading the accounts for a caller: what it may see, listings, redemptions and the latest
statement of an account, with the engine's view of a posted statement.

Visibility is a plain :class:`Scope` (entity ids and kinds), not the caller's key: the API
builds it from the key's role and entities (``api.deps.scope_of``), and ``ledger`` knows
nothing of keys or roles. A listing filters in SQL with :func:`scope_clause`; one account is
checked by the API before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ledger.errors import NoStatement, NotLabelable
from ledger.models import Account, PostedStatement, Redemption


@dataclass(frozen=True, slots=True)
class Scope:
    """The accounts a caller may see.

    entities : the accounts of these entity ids and their children; None: every entity
    kinds : only accounts of these kinds; None: every kind
    """

    entities: frozenset[str] | None = None
    kinds: frozenset[str] | None = None


#: every account
ALL = Scope()


def scope_clause(scope: Scope) -> Any:
    """SQL condition on :class:`~ledger.models.Account` matching ``scope`` (None: all)."""
    conds: list[ColumnElement[bool]] = []
    if scope.kinds is not None:
        conds.append(Account.kind.in_(sorted(scope.kinds)))
    if scope.entities is not None:
        ents = sorted(scope.entities)
        conds.append(or_(Account.entity_id.in_(ents), Account.parent.in_(ents)))
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else and_(*conds)


def _where(scope: Scope, *conds: Any) -> list[Any]:
    clause = scope_clause(scope)
    return [*conds, *([clause] if clause is not None else [])]


def visible_accounts(
    session: Session,
    scope: Scope,
    *,
    kind: str | None = None,
    parent: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Account], int]:
    """A page of the accounts in ``scope`` (by entity id), filtered by kind and parent
    entity, and how many there are in all."""
    conds = []
    if kind is not None:
        conds.append(Account.kind == kind)
    if parent is not None:
        conds.append(Account.parent == parent)
    conds = _where(scope, *conds)
    rows = session.scalars(
        select(Account).where(*conds).order_by(Account.entity_id).limit(limit).offset(offset)
    )
    items = list(rows)
    total = session.scalar(select(func.count()).select_from(Account).where(*conds)) or 0
    return items, total


def redemptions(
    session: Session, acct: Account, *, limit: int = 100, offset: int = 0
) -> tuple[list[Redemption], int]:
    """A page of the account's redemptions, newest first, and how many there are in all."""
    cond = Redemption.account_id == acct.id
    rows = session.scalars(
        select(Redemption).where(cond).order_by(Redemption.id.desc()).limit(limit).offset(offset)
    )
    items = list(rows)
    total = session.scalar(select(func.count()).select_from(Redemption).where(cond)) or 0
    return items, total


def redemptions_between(
    session: Session, acct: Account, start: datetime, end: datetime
) -> list[Redemption]:
    """The account's redemptions made in ``[start, end)``, oldest first."""
    return list(
        session.scalars(
            select(Redemption)
            .where(
                Redemption.account_id == acct.id,
                Redemption.created_at >= start,
                Redemption.created_at < end,
            )
            .order_by(Redemption.created_at)
        )
    )


def latest_statement(session: Session, acct: Account, period: str) -> PostedStatement:
    """The current statement of ``period`` kind with the latest start; :class:`NoStatement`
    when none was closed."""
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
        raise NoStatement(
            f"no {period} statement has been closed for {acct.entity_id!r} yet: try a shorter "
            "period (period=month or day), or close one with `tanzhang close`"
        )
    return ps


def latest_statements(
    session: Session, scope: Scope, kind: str, period: str
) -> list[PostedStatement]:
    """The latest current statement of ``period`` kind of every account of ``kind`` in
    ``scope`` that has one, by entity id, in one query (as :func:`latest_statement` for
    each account)."""
    latest = (
        select(PostedStatement.account_id, func.max(PostedStatement.period_start).label("ps"))
        .where(PostedStatement.period_kind == period, PostedStatement.current.is_(True))
        .group_by(PostedStatement.account_id)
        .subquery()
    )
    conds = _where(scope, Account.kind == kind)
    return list(
        session.scalars(
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
    )


def engine_statement(ps: PostedStatement) -> Any:
    """The :class:`accounting.statements.Statement` a posted statement was made from;
    :class:`NotLabelable` for one the accounting engine did not compute (no breakdown)."""
    from accounting.statements import Statement

    try:
        return Statement.from_dict(ps.statement)
    except Exception:
        raise NotLabelable(
            f"the {ps.period_kind} statement of {ps.account.entity_id!r} starting "
            f"{ps.period_start:%Y-%m-%d} was not computed by the accounting engine "
            "(no breakdown to label)"
        ) from None
