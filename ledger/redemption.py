"""Redeeming net fixed carbon: the Changshan exchange.

Changshan county's huyou programme lets an account holder exchange each tonne of net fixed
carbon [t CO2e] for one tonne of commercial organic fertiliser (programme description, as
given; see docs/methodology.md §1.3: the figures are unverified and whether the tonne is t C or
t CO2 is open). The ratio and the unit are therefore configuration (:class:`ExchangeRule`).

A redemption can never overdraw: the account row is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite) before the available amount is computed, so two
concurrent redemptions are serialized and the second sees the first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.balances import balance_from_sums, sums_by_kind_g
from ledger.db import write_transaction
from ledger.errors import IdempotencyConflict, InsufficientBalance, InvalidAmount
from ledger.models import GRAMS_PER_TONNE, LedgerEntry, Redemption, tonnes_to_grams, utcnow
from ledger.registry_sync import get_account


@dataclass(frozen=True)
class ExchangeRule:
    """What one tonne of net fixed carbon buys.

    Attributes
    ----------
    ratio : float
        Fertiliser received per tonne of CO2e redeemed [unit / t CO2e].
    unit : str
        Unit of the fertiliser amount.
    """

    ratio: float = 1.0
    unit: str = "t"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.ratio) and self.ratio > 0):
            raise InvalidAmount(f"exchange ratio {self.ratio} must be a positive number")


#: 1 t CO2e net fixed → 1 t commercial organic fertiliser (Changshan programme description)
CHANGSHAN = ExchangeRule(ratio=1.0, unit="t")


def _existing(session: Session, account_id: int, key: str, amount_g: int) -> Redemption | None:
    """This account's redemption made with ``key``, if any; a conflict when it differs.

    Only the account's own redemptions are looked at: a key another account used means
    nothing here, and the conflict names only this account's redemption.
    """
    found = session.scalars(
        select(Redemption)
        .where(Redemption.account_id == account_id, Redemption.key == key)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:
        return None
    if tonnes_to_grams(found.amount_t) != amount_g:
        raise IdempotencyConflict(
            key,
            f"{found.amount_t:.6f} t for entity {found.account.entity_id!r} at "
            f"{found.created_at.isoformat()}",
        )
    return found


@dataclass(frozen=True)
class RedeemResult:
    """A redemption and whether this call made it (False: an earlier one with the same key)."""

    redemption: Redemption
    created: bool


def redeem(
    session: Session,
    entity_id: str,
    amount_t: float,
    *,
    key: str,
    rule: ExchangeRule = CHANGSHAN,
    reference: str | None = None,
) -> Redemption:
    """Redeem ``amount_t`` [t CO2e] of an account's available net fixed carbon; commit.

    The redemption of :func:`redeem_once` (see there), without telling whether it is new.
    """
    return redeem_once(
        session, entity_id, amount_t, key=key, rule=rule, reference=reference
    ).redemption


def redeem_once(
    session: Session,
    entity_id: str,
    amount_t: float,
    *,
    key: str,
    rule: ExchangeRule = CHANGSHAN,
    reference: str | None = None,
) -> RedeemResult:
    """Redeem ``amount_t`` [t CO2e] of an account's available net fixed carbon, once per key.

    Parameters
    ----------
    amount_t : float
        Tonnes of CO2e to redeem, > 0 (rounded to the gram).
    key : str
        Idempotency key chosen by the caller (for example the request id), scoped to the
        account: resending the same request returns the first redemption and redeems
        nothing more; the same key on another account is another redemption.
    rule : ExchangeRule
        Fertiliser received per tonne; default :data:`CHANGSHAN` (1 t per t).
    reference : str, optional
        Free text kept with the redemption (voucher number, depot).

    Returns
    -------
    RedeemResult
        ``created`` is True only for the call whose insert the database accepted: the unique
        constraint on (account, key) decides, so of two simultaneous calls with one key
        exactly one is ``created``.

    Raises
    ------
    UnknownAccount
    InvalidAmount
        ``amount_t`` not a positive finite number, or an empty key.
    InsufficientBalance
        ``amount_t`` exceeds :attr:`ledger.book.Balance.available_t`.
    IdempotencyConflict
        ``key`` was used before on this account for another amount.
    """
    try:
        amount_g = tonnes_to_grams(amount_t)
    except (TypeError, ValueError):
        raise InvalidAmount(f"amount {amount_t!r} is not a finite number of tonnes") from None
    if amount_g <= 0:
        raise InvalidAmount(f"amount {amount_t!r} t must be positive (at least 1 g)")
    if not key:
        raise InvalidAmount("an idempotency key is required (for example the request id)")
    account_id = None
    try:
        with write_transaction(session):
            acct = get_account(session, entity_id, lock=True)
            account_id = acct.id
            if (found := _existing(session, acct.id, key, amount_g)) is not None:
                return RedeemResult(found, created=False)
            bal = balance_from_sums(entity_id, sums_by_kind_g(session, acct.id, None, None))
            available_g = tonnes_to_grams(bal.available_t)
            if amount_g > available_g:
                raise InsufficientBalance(entity_id, amount_g / GRAMS_PER_TONNE, bal.available_t)
            now = utcnow()
            amount = amount_g / GRAMS_PER_TONNE
            red = Redemption(
                account=acct,
                key=key,
                amount_t=amount,
                ratio=rule.ratio,
                fertiliser_amount=amount * rule.ratio,
                fertiliser_unit=rule.unit,
                reference=reference,
                created_at=now,
            )
            session.add(red)
            session.flush()  # the unique (account, key) constraint answers here
            session.add(
                LedgerEntry(
                    account_id=acct.id,
                    redemption_id=red.id,
                    kind="redemption",
                    amount_t=-amount,
                    effective_at=now,
                    posted_at=now,
                )
            )
        return RedeemResult(red, created=True)
    except IntegrityError:
        # the same key was committed meanwhile on this account (the account lock makes this
        # rare; the constraint makes it safe): the earlier redemption is the answer
        found = _existing(session, account_id, key, amount_g) if account_id else None
        if found is None:
            raise
        return RedeemResult(found, created=False)
