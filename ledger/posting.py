"""Posting statements: idempotent, restating a changed period, one or many per transaction.

Sign convention (t CO2e): ``net = removals - emissions``; positive is a net sink.
Each booked statement posts two entries: an ``emission_debit`` of ``-emissions_t`` and a
``removal_credit`` of ``+removals_t``, effective at the end of the period. A restatement
keeps the earlier version (``current=False``, ``superseded_at``), posts a ``reversal`` of
each of its entries (same effective time, opposite amount) and the new version's entries.

:func:`post_statements` posts a batch in one transaction (the scheduled closes: one commit,
not one per entity); :func:`post_statement` is the batch of one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger.db import write_transaction
from ledger.errors import InvalidStatement, UnknownAccount
from ledger.models import (
    GRAMS_PER_TONNE,
    Account,
    FactorSetRecord,
    LedgerEntry,
    PostedStatement,
    tonnes_to_grams,
    utcnow,
)
from ledger.periods import Period, as_period

#: keys of a statement that don't take part in the "same figures?" comparison
VOLATILE_KEYS = frozenset({"computed_at", "created_at", "generated_at"})


class Posted(NamedTuple):
    """A posted statement and what posting did: ``posted``, ``restated`` or ``unchanged``."""

    statement: PostedStatement
    outcome: str


@dataclass
class _Prepared:
    entity_id: str
    period: Period
    doc: dict[str, Any]
    digest: str
    emissions_t: float
    removals_t: float
    factor_set: dict[str, Any] | None
    full_ref: dict[str, Any] | None
    window: dict[str, Any] | None
    coverage: float | None


@dataclass
class _Change:
    """A prepared item that posts a new version: ``current`` is the one it supersedes."""

    prepared: _Prepared
    account: Account
    current: PostedStatement | None
    new: PostedStatement


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


def prepare(entity_id: str, period: Any, statement: Any) -> _Prepared:
    """Validate a statement and take its figures; raises InvalidStatement / InvalidPeriod."""
    period = as_period(period)
    raw = _as_mapping(statement)
    if "total_emissions_t" in raw:  # accounting.statements.Statement.to_dict()
        emissions_t = _figure(raw, "total_emissions_t")
        removals_t = _figure(raw, "total_sequestration_t")
    else:
        emissions_t = _figure(raw, "emissions_t")
        removals_t = _figure(raw, "removals_t")
    if emissions_t < 0:
        raise InvalidStatement(
            f"emissions_t = {emissions_t} is negative: avoided emissions are not emissions; "
            "report them apart, and report carbon gained by a pool as removals"
        )
    doc = _jsonable(raw)
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
    return _Prepared(
        entity_id=entity_id,
        period=period,
        doc=doc,
        digest=_digest(doc),
        emissions_t=emissions_t,
        removals_t=removals_t,
        factor_set=factor_set if isinstance(factor_set, dict) else None,
        full_ref=full_ref,
        window=window,
        coverage=None if coverage is None else float(coverage),
    )


def _remember_factor_sets(session: Session, refs: Sequence[dict[str, Any]]) -> None:
    """Store each factor set's full reference once per digest (concurrent posts: no conflict)."""
    by_digest = {str(r["digest"]): r for r in refs}
    new = [d for d in by_digest if session.get(FactorSetRecord, d) is None]
    if not new:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    for d in new:
        ref = by_digest[d]
        row = {
            "digest": d,
            "name": str(ref.get("name", "")),
            "version": None if ref.get("version") is None else str(ref["version"]),
            "ref": ref,
            "first_seen": now,
        }
        session.execute(insert(FactorSetRecord).values(**row).on_conflict_do_nothing())


def factor_set_ref(session: Session, digest: str) -> dict[str, Any] | None:
    """The full reference (with sources) of the factor set a statement names by digest."""
    rec = session.get(FactorSetRecord, digest)
    return None if rec is None else rec.ref


def post_statements(
    session: Session,
    items: Sequence[tuple[str, Any, Any]],
    *,
    reason: str,
    book: bool | None = None,
) -> list[Posted]:
    """Post ``(entity_id, period, statement)`` items in one transaction; commit.

    Same rules as :func:`post_statement` for each item. The accounts are locked in id
    order (``SELECT ... FOR UPDATE``), so concurrent batches never deadlock. All or
    nothing: an invalid statement or an unknown account fails the whole batch before
    anything is written. An entity may appear once per period in a batch.

    Returns
    -------
    list of Posted, in the order of ``items``.
    """
    if not reason:
        raise InvalidStatement("reason is required: say why this statement is posted")
    prepared = [prepare(eid, period, st) for eid, period, st in items]
    keys = [(p.entity_id, p.period.kind, p.period.start) for p in prepared]
    if len(set(keys)) != len(keys):
        raise InvalidStatement("a batch holds the same entity and period twice")
    if not prepared:
        return []
    out: list[Posted] = []
    with write_transaction(session):
        ids = sorted({p.entity_id for p in prepared})
        accts = {
            a.entity_id: a
            for a in session.scalars(
                select(Account)
                .where(Account.entity_id.in_(ids))
                .order_by(Account.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        for eid in ids:
            if eid not in accts:
                raise UnknownAccount(eid)
        refs = [p.full_ref for p in prepared if p.full_ref is not None]
        if refs:
            _remember_factor_sets(session, refs)
        by_period: dict[tuple[str, datetime], list[int]] = defaultdict(list)
        for p in prepared:
            by_period[(p.period.kind, p.period.start)].append(accts[p.entity_id].id)
        conds = [
            (PostedStatement.period_kind == kind)
            & (PostedStatement.period_start == start)
            & PostedStatement.account_id.in_(acct_ids)
            for (kind, start), acct_ids in by_period.items()
        ]
        currents = {
            (s.account_id, s.period_kind, s.period_start): s
            for s in session.scalars(
                select(PostedStatement)
                .where(PostedStatement.current.is_(True), or_(*conds))
                .execution_options(populate_existing=True)
            )
        }
        now = utcnow()
        # in the items' order: a change, or the current statement an item leaves unchanged
        plan: list[_Change | PostedStatement] = []
        for p in prepared:
            acct = accts[p.entity_id]
            cur = currents.get((acct.id, p.period.kind, p.period.start))
            if cur is not None and cur.digest == p.digest:
                plan.append(cur)
                continue
            if cur is not None:
                cur.current = False
                cur.superseded_at = now
            new = PostedStatement(
                account=acct,
                period_kind=p.period.kind,
                period_start=p.period.start,
                period_end=p.period.end,
                version=1 if cur is None else cur.version + 1,
                current=True,
                emissions_t=p.emissions_t,
                removals_t=p.removals_t,
                net_t=(tonnes_to_grams(p.removals_t) - tonnes_to_grams(p.emissions_t))
                / GRAMS_PER_TONNE,
                statement=p.doc,
                digest=p.digest,
                factor_set=p.factor_set,
                data_window=p.window,
                coverage=p.coverage,
                booked=(p.period.kind == acct.booking_period) if book is None else book,
                reason=reason,
                created_at=now,
            )
            plan.append(_Change(p, acct, cur, new))
        changes = [c for c in plan if isinstance(c, _Change)]
        # old versions stop being current before the new ones are inserted (partial unique
        # index): the unit of work emits a table's UPDATEs before its INSERTs
        session.add_all([c.new for c in changes])
        session.flush()
        superseded = {c.current.id: c.new for c in changes if c.current is not None}
        if superseded:
            for e in session.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.statement_id.in_(list(superseded)),
                    LedgerEntry.kind.in_(("emission_debit", "removal_credit")),
                )
            ):
                assert e.statement_id is not None  # selected by it
                session.add(
                    LedgerEntry(
                        account_id=e.account_id,
                        statement_id=superseded[e.statement_id].id,
                        reverses_id=e.id,
                        kind="reversal",
                        amount_t=-e.amount_t,
                        effective_at=e.effective_at,
                        posted_at=now,
                    )
                )
        for step in plan:
            if not isinstance(step, _Change):
                out.append(Posted(step, "unchanged"))
                continue
            p = step.prepared
            if step.new.booked:
                for kind, amount in (
                    ("emission_debit", -p.emissions_t),
                    ("removal_credit", p.removals_t),
                ):
                    session.add(
                        LedgerEntry(
                            account_id=step.account.id,
                            statement_id=step.new.id,
                            kind=kind,
                            amount_t=amount,
                            effective_at=p.period.end,
                            posted_at=now,
                        )
                    )
            out.append(Posted(step.new, "posted" if step.current is None else "restated"))
    return out


def post_statement(
    session: Session,
    entity_id: str,
    period: Any,
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
        An :class:`ledger.periods.Period`, or any object with ``kind``, ``start`` and
        ``end`` (such as :class:`accounting.periods.Period`) of kind hour/day/month/year.
    statement : mapping (or object with ``to_dict()``)
        Either an :class:`accounting.statements.Statement` (or its ``to_dict()``), whose
        ``total_emissions_t`` and ``total_sequestration_t`` are taken, or a mapping with
        ``emissions_t`` [t CO2e, >= 0] and ``removals_t`` [t CO2e; negative when a pool
        lost carbon]. Its ``net_t`` has the same sign as :attr:`PostedStatement.net_t`
        (removals − emissions, positive = net sink).
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
    [posted] = post_statements(session, [(entity_id, period, statement)], reason=reason, book=book)
    return posted.statement


__all__ = [
    "VOLATILE_KEYS",
    "Posted",
    "factor_set_ref",
    "post_statement",
    "post_statements",
    "prepare",
]
