"""Balances of an account at a date [t CO2e], summed from its ledger entries in SQL.

Entries are summed as integer grams (exact on SQLite and PostgreSQL); a ``reversal`` counts
with the kind of the entry it reverses, so restated periods count once, with their current
figures. :func:`balance` is the general form (dates in a time zone, ``known_at``);
:func:`fast_balance` is the same figure by entity id in one query, for the API's balance
route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from ledger.errors import UnknownAccount
from ledger.models import GRAMS_PER_TONNE, Account, LedgerEntry
from ledger.periods import Period, as_utc
from ledger.registry_sync import get_account


@dataclass(frozen=True)
class Balance:
    """An account's balance [t CO2e].

    Attributes
    ----------
    entity_id : str
    emissions_t, removals_t : float
        Sums over the booked periods that ended by the cut-off (restatements applied).
    net_t : float
        ``removals_t - emissions_t``; positive is a net sink.
    redeemed_t : float
        Sum of redemptions made by the cut-off.
    available_t : float
        What can still be redeemed: ``max(net_t - redeemed_t, 0)``. It is 0, never
        negative, when the account is a net source or when a downward restatement left
        less net fixed carbon than was already redeemed (``net_t - redeemed_t < 0`` then
        shows the shortfall, which later net removals make up first).
    """

    entity_id: str
    emissions_t: float
    removals_t: float
    net_t: float
    redeemed_t: float
    available_t: float


def _cutoff(at: date | datetime | None, tz: str | tzinfo | None) -> datetime | None:
    if at is None:
        return None
    if isinstance(at, datetime):
        return as_utc(at)
    return as_utc(Period.containing("day", at, tz).end)  # end of that local day


def sums_by_kind_g(
    session: Session,
    account_id: int,
    cutoff: datetime | None,
    known_at: datetime | None,
) -> dict[str, int]:
    """Signed sums of entries [g] by original kind (a reversal counts with what it reverses)."""
    reversed_ = aliased(LedgerEntry)
    kind = func.coalesce(reversed_.kind, LedgerEntry.kind)
    q = (
        select(kind, func.sum(LedgerEntry.amount_t, type_=BigInteger))
        .outerjoin(reversed_, LedgerEntry.reverses_id == reversed_.id)
        .where(LedgerEntry.account_id == account_id)
        .group_by(kind)
    )
    if cutoff is not None:
        q = q.where(LedgerEntry.effective_at <= cutoff)
    if known_at is not None:
        q = q.where(LedgerEntry.posted_at <= as_utc(known_at))
    return {k: int(v or 0) for k, v in session.execute(q)}


def balance_from_sums(entity_id: str, sums: dict[str, int]) -> Balance:
    emis = -sums.get("emission_debit", 0)
    rem = sums.get("removal_credit", 0)
    red = -sums.get("redemption", 0)
    net = rem - emis
    return Balance(
        entity_id=entity_id,
        emissions_t=emis / GRAMS_PER_TONNE,
        removals_t=rem / GRAMS_PER_TONNE,
        net_t=net / GRAMS_PER_TONNE,
        redeemed_t=red / GRAMS_PER_TONNE,
        available_t=max(net - red, 0) / GRAMS_PER_TONNE,
    )


def balance(
    session: Session,
    entity_id: str,
    at: date | datetime | None = None,
    *,
    known_at: datetime | None = None,
    tz: str | tzinfo | None = None,
) -> Balance:
    """The balance of an account at a date, as the ledger knows it now (or at ``known_at``).

    Parameters
    ----------
    at : date or datetime, optional
        Cut-off on the entries' effective time: a datetime includes periods that ended at or
        before it; a date includes periods that ended by the end of that day (in ``tz``,
        UTC by default). None: everything.
    known_at : datetime, optional
        Count only entries posted by then: the balance as it was reported at that time,
        before later restatements.
    """
    acct = get_account(session, entity_id)
    return balance_from_sums(entity_id, sums_by_kind_g(session, acct.id, _cutoff(at, tz), known_at))


_ENTRY = LedgerEntry.__table__
_REVERSED = _ENTRY.alias("reversed")
_ACCOUNT = Account.__table__
_KIND = func.coalesce(_REVERSED.c.kind, _ENTRY.c.kind)
#: the query of :func:`sums_by_kind_g`, by entity id, in one round trip, built once (a LEFT
#: JOIN from the account, so an account without entries gives one row)
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


def fast_balance(session: Session, entity_id: str, cutoff: datetime | None) -> Balance:
    """:func:`balance` (entries effective at or before the aware ``cutoff``; None: all) in
    one query instead of two ORM round trips: the balance lookup is the API's hottest route
    (docs/benchmarks.md). ``tests/api/test_values.py`` checks it equals :func:`balance`.

    Raises
    ------
    UnknownAccount
    """
    rows = session.execute(
        _BALANCE_SQL, {"entity_id": entity_id, "cutoff": cutoff or _FAR_FUTURE}
    ).all()
    if not rows:
        raise UnknownAccount(entity_id)
    return balance_from_sums(entity_id, {k: int(v or 0) for k, v in rows if k is not None})
