"""Redemptions under the Changshan rule (1 t CO2e net fixed → 1 t organic fertiliser)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import MetaData, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError

from ledger.book import balance, post_statement
from ledger.db import make_engine, make_session_factory, upgrade
from ledger.errors import IdempotencyConflict, InsufficientBalance, InvalidAmount
from ledger.models import REDEMPTION_KEY_CONSTRAINT, Base, LedgerEntry, Redemption
from ledger.periods import Period
from ledger.redemption import ExchangeRule, redeem, redeem_once
from ledger.registry_sync import ensure_accounts
from tests.ledger.conftest import ENTITIES

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


# -- idempotency keys belong to the account, and the database decides ------------------------


def test_same_key_on_another_account_is_a_new_redemption(funded):
    post_statement(
        funded, "forest-1", NOV1, {"emissions_t": 0.0, "removals_t": 3.0}, reason="close"
    )
    a = redeem_once(funded, "orchard-1", 1.0, key="voucher-7")
    b = redeem_once(funded, "forest-1", 2.0, key="voucher-7")  # another amount, even
    assert a.created and b.created
    assert a.redemption.id != b.redemption.id
    assert (balance(funded, "orchard-1").redeemed_t, balance(funded, "forest-1").redeemed_t) == (
        1.0,
        2.0,
    )
    again = redeem_once(funded, "forest-1", 2.0, key="voucher-7")
    assert not again.created and again.redemption.id == b.redemption.id
    with pytest.raises(IdempotencyConflict) as err:
        redeem_once(funded, "forest-1", 0.5, key="voucher-7")
    assert "forest-1" in str(err.value) and "orchard-1" not in str(err.value)


def test_simultaneous_requests_with_one_key_create_one_redemption(funded, sessions):
    """8 threads send the same request (one key) at the same moment: exactly one is
    ``created``; the others get that redemption back; one ledger entry."""
    n = 8
    barrier = threading.Barrier(n)
    results: list[tuple[bool, int]] = []
    other: list[BaseException] = []

    def worker() -> None:
        with sessions() as s:
            balance(s, "orchard-1")  # as the API does: a transaction is open already
            barrier.wait(timeout=30)
            try:
                done = redeem_once(s, "orchard-1", 1.0, key="same-request")
                results.append((done.created, done.redemption.id))
            except BaseException as exc:  # noqa: BLE001 - reported below
                other.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not other, other
    assert sorted(created for created, _ in results) == [False] * (n - 1) + [True]
    assert len({rid for _, rid in results}) == 1
    funded.rollback()
    assert balance(funded, "orchard-1").redeemed_t == 1.0
    n_entries = funded.scalar(select(func.count()).where(LedgerEntry.kind == "redemption"))
    assert n_entries == 1


def test_database_refuses_a_second_row_with_the_same_account_and_key(funded):
    """The unique (account, key) constraint, not the application's check, is the last word."""
    red = redeem(funded, "orchard-1", 1.0, key="dup")
    funded.add(
        Redemption(
            account_id=red.account_id,
            key="dup",
            amount_t=1.0,
            ratio=1.0,
            fertiliser_amount=1.0,
            fertiliser_unit="t",
        )
    )
    with pytest.raises(IntegrityError):
        funded.flush()
    funded.rollback()


def _old_metadata() -> MetaData:
    """The schema as it was when idempotency keys were unique over all accounts."""
    md = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(md)
    red = md.tables["redemption"]
    scoped = next(c for c in red.constraints if c.name == REDEMPTION_KEY_CONSTRAINT)
    red.constraints.discard(scoped)
    red.append_constraint(UniqueConstraint(red.c.key))
    return md


@pytest.mark.servers
def test_older_database_gets_keys_scoped_to_the_account(request, tmp_path):
    """A database made with keys unique overall is migrated by upgrade (revision 0001), on SQLite and
    on PostgreSQL: rows and their ledger entries are kept, and another account may then use
    a key already used."""
    for url in _old_database_urls(request, tmp_path):
        eng = make_engine(url)
        _old_metadata().create_all(eng)
        with make_session_factory(eng)() as s:
            ensure_accounts(s, ENTITIES)
            post_statement(
                s, "orchard-1", NOV1, {"emissions_t": 0.0, "removals_t": 5.0}, reason="close"
            )
            post_statement(
                s, "forest-1", NOV1, {"emissions_t": 0.0, "removals_t": 5.0}, reason="close"
            )
            with pytest.raises(IntegrityError):  # the old schema: keys collide across accounts
                s.execute(
                    Redemption.__table__.insert(),
                    [
                        {"account_id": acct, "key": "k-1", "amount_t": 0.0, "ratio": 1.0,
                         "fertiliser_amount": 0.0, "fertiliser_unit": "t"}
                        for acct in (1, 2)
                    ],
                )  # fmt: skip
            s.rollback()
            first = redeem(s, "orchard-1", 1.0, key="k-1")
        upgrade(eng)
        upgrade(eng)  # idempotent
        with make_session_factory(eng)() as s:
            kept = s.get(Redemption, first.id)
            assert (kept.key, kept.amount_t) == ("k-1", 1.0)
            assert balance(s, "orchard-1").redeemed_t == 1.0
            other = redeem_once(s, "forest-1", 2.0, key="k-1")
            assert other.created and balance(s, "forest-1").redeemed_t == 2.0
            with pytest.raises(IntegrityError):
                s.execute(
                    Redemption.__table__.insert(),
                    {"account_id": kept.account_id, "key": "k-1", "amount_t": 1.0,
                     "ratio": 1.0, "fertiliser_amount": 1.0, "fertiliser_unit": "t"},
                )  # fmt: skip
            s.rollback()
        eng.dispose()


def _old_database_urls(request, tmp_path) -> list[str]:
    return [
        f"sqlite:///{tmp_path / 'old.sqlite3'}",
        request.getfixturevalue("pg_server").create_database(),
    ]
