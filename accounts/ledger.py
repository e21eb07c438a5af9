"""The carbon ledger: posted statements with their audit trail, entries and balances.

Sign convention (t CO2e): ``net = removals - emissions``; positive is a net sink.
Each booked statement posts two entries: an ``emission_debit`` of ``-emissions_t`` and a
``removal_credit`` of ``+removals_t``, effective at the end of the period. A restatement
keeps the earlier version (``current=False``, ``superseded_at``), posts a ``reversal`` of
each of its entries (same effective time, opposite amount) and the new version's entries,
so the audit trail shows both sets of figures and every balance adds up.

Every write function here is one transaction that it commits (see
:func:`accounts.db.write_transaction`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from accounts.balances import Balance, balance
from accounts.db import write_transaction
from accounts.errors import InvalidStatement
from accounts.models import (
    GRAMS_PER_TONNE,
    Account,
    FactorSetRecord,
    LedgerEntry,
    PostedStatement,
    tonnes_to_grams,
    utcnow,
)
from accounts.periods import Period, as_period, as_utc
from accounts.registry_sync import ensure_accounts, get_account, list_accounts

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
    "post_statement",
    "purge_memo_statements",
    "statements",
]

#: keys of a statement that don't take part in the "same figures?" comparison
VOLATILE_KEYS = frozenset({"computed_at", "created_at", "generated_at"})


def _jsonable(value: Any) -> Any:
    """Turn a statement (numpy scalars/arrays, datetimes, dataclass-like) into plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _as_mapping(statement: Any) -> Mapping[str, Any]:
    if isinstance(statement, Mapping):
        return statement
    if hasattr(statement, "to_dict"):
        return statement.to_dict()
    raise InvalidStatement(
        f"statement of type {type(statement).__name__} is neither a mapping nor has to_dict()"
    )


def _figure(doc: Mapping[str, Any], key: str) -> float:
    if key not in doc:
        raise InvalidStatement(f"statement has no {key!r} figure [t CO2e]; keys: {sorted(doc)}")
    try:
        value = float(doc[key])
    except (TypeError, ValueError):
        raise InvalidStatement(f"statement {key!r} = {doc[key]!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidStatement(f"statement {key!r} = {value} is not finite")
    return value


def _digest(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k not in VOLATILE_KEYS}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _remember_factor_set(session: Session, ref: dict[str, Any]) -> None:
    """Store a factor set's full reference once per digest (concurrent posts: no conflict)."""
    row = {
        "digest": str(ref["digest"]),
        "name": str(ref.get("name", "")),
        "version": None if ref.get("version") is None else str(ref["version"]),
        "ref": ref,
        "first_seen": utcnow(),
    }
    if session.get(FactorSetRecord, row["digest"]) is not None:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(FactorSetRecord).values(**row).on_conflict_do_nothing())


def factor_set_ref(session: Session, digest: str) -> dict[str, Any] | None:
    """The full reference (with sources) of the factor set a statement names by digest."""
    rec = session.get(FactorSetRecord, digest)
    return None if rec is None else rec.ref


def post_statement(
    session: Session,
    entity_id: str,
    period: Period,
    statement: Mapping[str, Any] | Any,
    *,
    reason: str,
    book: bool | None = None,
) -> PostedStatement:
    """Post an entity's statement for a period; idempotent; restates a changed period.

    Parameters
    ----------
    session : Session
    entity_id : str
    period : Period
        An :class:`accounts.periods.Period`, or any object with ``kind``, ``start`` and
        ``end`` (such as :class:`accounting.periods.Period`) of kind hour/day/month/year.
    statement : mapping (or object with ``to_dict()``)
        Either an :class:`accounting.statements.Statement` (or its ``to_dict()``), whose
        ``total_emissions_t`` and ``total_sequestration_t`` are taken, or a mapping with
        ``emissions_t`` [t CO2e, >= 0] and ``removals_t`` [t CO2e; negative when a pool
        lost carbon]. Note the accounting statement's ``net_balance_t`` is emissions minus
        removals (positive = source), the opposite sign of :attr:`PostedStatement.net_t`.
        May hold ``factor_set`` ({name, version, digest, ...}), ``data_window`` and
        ``coverage`` [0..1]. Stored whole as JSON, except that a factor-set reference with
        ``sources`` is stored once in the ``factor_set`` table (see :func:`factor_set_ref`)
        and the statement keeps it without them.
    reason : str
        Why it is posted ("scheduled close", "late reading", ...); kept in the audit trail.
    book : bool, optional
        Whether it posts ledger entries; by default when ``period.kind`` is the account's
        ``booking_period``.

    Returns
    -------
    PostedStatement
        The current version: the existing one when the statement is identical to it (same
        content, keys in :data:`VOLATILE_KEYS` aside), otherwise a new version.
    """
    period = as_period(period)
    raw = _as_mapping(statement)
    if "total_emissions_t" in raw:  # accounting.statements.Statement.to_dict()
        emissions_t = _figure(raw, "total_emissions_t")
        removals_t = _figure(raw, "total_sequestration_t")
    else:
        emissions_t = _figure(raw, "emissions_t")
        removals_t = _figure(raw, "removals_t")
    doc = _jsonable(raw)
    if emissions_t < 0:
        raise InvalidStatement(
            f"emissions_t = {emissions_t} is negative: avoided emissions are not emissions; "
            "report them apart, and report carbon gained by a pool as removals"
        )
    factor_set = doc.get("factor_set")
    if isinstance(factor_set, str):
        factor_set = {"name": factor_set}
    full_ref = None
    if isinstance(factor_set, dict) and factor_set.get("digest") and "sources" in factor_set:
        full_ref = factor_set
        factor_set = {k: v for k, v in factor_set.items() if k != "sources"}
        doc["factor_set"] = factor_set
    window = doc.get("data_window")
    if window is not None and not isinstance(window, dict):
        window = {"window": window}
    coverage = doc.get("coverage")
    if not reason:
        raise InvalidStatement("reason is required: say why this statement is posted")
    digest = _digest(doc)
    with write_transaction(session):
        acct = get_account(session, entity_id, lock=True)
        if full_ref is not None:
            _remember_factor_set(session, full_ref)
        current = session.scalars(
            select(PostedStatement)
            .where(
                PostedStatement.account_id == acct.id,
                PostedStatement.period_kind == period.kind,
                PostedStatement.period_start == period.start,
                PostedStatement.current.is_(True),
            )
            .execution_options(populate_existing=True)
        ).one_or_none()
        if current is not None and current.digest == digest:
            return current
        now = utcnow()
        do_book = (period.kind == acct.booking_period) if book is None else book
        new = PostedStatement(
            account=acct,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            version=1 if current is None else current.version + 1,
            current=True,
            emissions_t=emissions_t,
            removals_t=removals_t,
            net_t=(tonnes_to_grams(removals_t) - tonnes_to_grams(emissions_t)) / GRAMS_PER_TONNE,
            statement=doc,
            digest=digest,
            factor_set=factor_set,
            data_window=window,
            coverage=None if coverage is None else float(coverage),
            booked=do_book,
            reason=reason,
            created_at=now,
        )
        if current is not None:
            current.current = False
            current.superseded_at = now
            session.flush()  # the old version stops being current before the new one is
        session.add(new)
        session.flush()
        if current is not None:
            originals = session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.statement_id == current.id,
                    LedgerEntry.kind.in_(("emission_debit", "removal_credit")),
                )
            ).all()
            for e in originals:
                session.add(
                    LedgerEntry(
                        account_id=acct.id,
                        statement_id=new.id,
                        reverses_id=e.id,
                        kind="reversal",
                        amount_t=-e.amount_t,
                        effective_at=e.effective_at,
                        posted_at=now,
                    )
                )
        if do_book:
            for kind, amount in (("emission_debit", -emissions_t), ("removal_credit", removals_t)):
                session.add(
                    LedgerEntry(
                        account_id=acct.id,
                        statement_id=new.id,
                        kind=kind,
                        amount_t=amount,
                        effective_at=period.end,
                        posted_at=now,
                    )
                )
    return new


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
    from sqlalchemy import delete

    with write_transaction(session):
        res = session.execute(
            delete(PostedStatement).where(
                PostedStatement.period_kind == period_kind,
                PostedStatement.booked.is_(False),
                PostedStatement.period_end < as_utc(before),
            )
        )
    return int(res.rowcount or 0)
