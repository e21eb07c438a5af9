"""The carbon ledger: posted statements with their audit trail, entries and balances.

Sign convention (t CO2e): ``net = removals - emissions``; positive is a net sink.
Each booked statement posts two entries: an ``emission_debit`` of ``-emissions_t`` and a
``removal_credit`` of ``+removals_t``, effective at the end of the period. A restatement
keeps the earlier version (``current=False``, ``superseded_at``), posts a ``reversal`` of
each of its entries (same effective time, opposite amount) and the new version's entries,
so the audit trail shows both sets of figures and every balance adds up.

Every write function here is one transaction that it commits (see
:func:`ledger.db.write_transaction`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ledger.balances import Balance, balance
from ledger.db import write_transaction
from ledger.models import (
    Account,
    PostedStatement,
)
from ledger.periods import Period, as_period, as_utc
from ledger.posting import Posted, factor_set_ref, post_statement, post_statements
from ledger.registry_sync import ensure_accounts, get_account, list_accounts

__all__ = [
    "Balance",
    "audit_trail",
    "factor_set_ref",
    "balance",
    "ensure_accounts",
    "get_account",
    "last_closed",
    "last_closed_many",
    "list_accounts",
    "Posted",
    "post_statement",
    "post_statements",
    "purge_memo_statements",
    "statements",
]


def statements(
    session: Session,
    entity_id: str,
    period_kind: str,
    start: datetime,
    end: datetime,
    *,
    include_superseded: bool = False,
) -> list[PostedStatement]:
    """Statements of ``period_kind`` whose period starts in ``[start, end)``.

    Ordered by period start, then version. Only current versions unless
    ``include_superseded``.
    """
    acct = get_account(session, entity_id)
    q = (
        select(PostedStatement)
        .where(
            PostedStatement.account_id == acct.id,
            PostedStatement.period_kind == period_kind,
            PostedStatement.period_start >= as_utc(start),
            PostedStatement.period_start < as_utc(end),
        )
        .order_by(PostedStatement.period_start, PostedStatement.version)
    )
    if not include_superseded:
        q = q.where(PostedStatement.current.is_(True))
    return list(session.scalars(q))


def audit_trail(session: Session, entity_id: str, period: Period) -> list[PostedStatement]:
    """Every version posted for one period, oldest first, each with its ledger entries.

    ``v.entries`` of a restating version lists the reversals of the version before it
    (``kind == "reversal"``, ``reverses_id`` set) followed by its own entries.
    """
    period = as_period(period)
    acct = get_account(session, entity_id)
    q = (
        select(PostedStatement)
        .where(
            PostedStatement.account_id == acct.id,
            PostedStatement.period_kind == period.kind,
            PostedStatement.period_start == period.start,
        )
        .order_by(PostedStatement.version)
        .options(selectinload(PostedStatement.entries))
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(q))


def last_closed(session: Session, entity_id: str, period_kind: str) -> datetime | None:
    """End of the latest period of ``period_kind`` posted for the entity, or None."""
    acct = get_account(session, entity_id)
    return session.scalar(
        select(func.max(PostedStatement.period_end)).where(
            PostedStatement.account_id == acct.id,
            PostedStatement.period_kind == period_kind,
        )
    )


def last_closed_many(session: Session, period_kind: str) -> dict[str, datetime]:
    """Entity id -> end of its latest posted period of ``period_kind`` (one query)."""
    q = (
        select(Account.entity_id, func.max(PostedStatement.period_end))
        .join(PostedStatement, PostedStatement.account_id == Account.id)
        .where(PostedStatement.period_kind == period_kind)
        .group_by(Account.entity_id)
    )
    return {eid: end for eid, end in session.execute(q)}


def purge_memo_statements(session: Session, period_kind: str, before: datetime) -> int:
    """Delete statements of ``period_kind`` that ended before ``before`` and were not booked.

    Memo statements (hours, for the live pages) post no ledger entries, so nothing in the
    ledger refers to them; booked statements are never deleted. Commits; returns the
    number of statement versions deleted.
    """
    from sqlalchemy import CursorResult, delete

    with write_transaction(session):
        res = session.execute(
            delete(PostedStatement).where(
                PostedStatement.period_kind == period_kind,
                PostedStatement.booked.is_(False),
                PostedStatement.period_end < as_utc(before),
            )
        )
    assert isinstance(res, CursorResult)  # a DML statement's result: it has the rowcount
    return int(res.rowcount or 0)
