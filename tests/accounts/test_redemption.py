"""Redemptions under the Changshan rule (1 t CO2e net fixed → 1 t organic fertiliser)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from accounts.errors import IdempotencyConflict, InsufficientBalance, InvalidAmount
from accounts.ledger import balance, post_statement
from accounts.models import LedgerEntry, Redemption
from accounts.periods import Period
from accounts.redemption import ExchangeRule, redeem

NOV1 = Period.containing("day", date(2026, 11, 1))


@pytest.fixture
def funded(session):
    """orchard-1 with net 5.0 t fixed (emitted 1.0 t, removed 6.0 t)."""
    post_statement(
        session, "orchard-1", NOV1, {"emissions_t": 1.0, "removals_t": 6.0}, reason="close"
    )
    return session


def test_redeem_within_available(funded):
    r = redeem(funded, "orchard-1", 2.0, key="req-1", reference="voucher 17")
    assert (r.amount_t, r.fertiliser_amount, r.fertiliser_unit) == (2.0, 2.0, "t")
    b = balance(funded, "orchard-1")
    assert (b.net_t, b.redeemed_t, b.available_t) == (5.0, 2.0, 3.0)


def test_redeem_everything_then_one_gram_more_fails(funded):
    redeem(funded, "orchard-1", 5.0, key="all")
    with pytest.raises(InsufficientBalance, match=r"cannot redeem 0\.000001 t.*only 0\.000000 t"):
        redeem(funded, "orchard-1", 0.000001, key="one-gram")
    assert balance(funded, "orchard-1").available_t == 0.0


def test_redeem_beyond_available_names_the_figures(funded):
    with pytest.raises(InsufficientBalance) as err:
        redeem(funded, "orchard-1", 5.5, key="too-much")
    assert (err.value.requested_t, err.value.available_t) == (5.5, 5.0)
    assert funded.scalar(select(func.count()).select_from(Redemption)) == 0


def test_net_source_cannot_redeem(session):
    post_statement(
        session, "factory-a", NOV1, {"emissions_t": 3.0, "removals_t": 0.0}, reason="close"
    )
    with pytest.raises(InsufficientBalance):
        redeem(session, "factory-a", 0.5, key="k")


def test_same_key_is_idempotent(funded):
    a = redeem(funded, "orchard-1", 1.0, key="req-1")
    b = redeem(funded, "orchard-1", 1.0, key="req-1")
    assert a.id == b.id
    assert balance(funded, "orchard-1").redeemed_t == 1.0
    n = funded.scalar(select(func.count()).where(LedgerEntry.kind == "redemption"))
    assert n == 1


def test_same_key_for_another_request_conflicts(funded):
    redeem(funded, "orchard-1", 1.0, key="req-1")
    with pytest.raises(IdempotencyConflict, match="'req-1' was already used"):
        redeem(funded, "orchard-1", 2.0, key="req-1")


def test_configured_exchange_rule(funded):
    r = redeem(funded, "orchard-1", 1.5, key="bags", rule=ExchangeRule(ratio=25.0, unit="bag"))
    assert (r.fertiliser_amount, r.fertiliser_unit, r.ratio) == (37.5, "bag", 25.0)


@pytest.mark.parametrize("amount", [0, -1.0, float("inf"), float("nan"), 1e-7])
def test_invalid_amounts(funded, amount):
    with pytest.raises(InvalidAmount):
        redeem(funded, "orchard-1", amount, key="k")


def test_restatement_below_redeemed_leaves_nothing_available(funded):
    redeem(funded, "orchard-1", 4.0, key="k")
    post_statement(
        funded, "orchard-1", NOV1, {"emissions_t": 1.0, "removals_t": 3.0}, reason="late reading"
    )
    b = balance(funded, "orchard-1")
    assert (b.net_t, b.redeemed_t, b.available_t) == (2.0, 4.0, 0.0)
    with pytest.raises(InsufficientBalance):
        redeem(funded, "orchard-1", 0.1, key="k2")


@pytest.mark.parametrize("read_first", [False, True], ids=["fresh", "after-a-read"])
def test_concurrent_redemptions_never_overdraw(funded, sessions, read_first):
    """8 threads each try to redeem 1.0 t of the 5.0 t available at the same moment.

    ``after-a-read``: each session has read the balance first (as an API request checks the
    account before redeeming), so its transaction is already open when redeem() starts.
    """
    n = 8
    barrier = threading.Barrier(n)
    ok: list[str] = []
    refused: list[str] = []
    other: list[BaseException] = []

    def worker(i: int) -> None:
        with sessions() as s:
            if read_first:
                balance(s, "orchard-1")
            barrier.wait(timeout=30)
            try:
                redeem(s, "orchard-1", 1.0, key=f"req-{i}")
                ok.append(f"req-{i}")
            except InsufficientBalance:
                refused.append(f"req-{i}")
            except BaseException as exc:  # noqa: BLE001 - reported below
                other.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not other, other
    assert (len(ok), len(refused)) == (5, 3)
    funded.rollback()
    b = balance(funded, "orchard-1")
    assert (b.redeemed_t, b.available_t) == (5.0, 0.0)
