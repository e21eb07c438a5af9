"""Posting statements, restatements with their audit trail, balances at a date.

Figures are hand-worked: a day with 2.5 t CO2e emitted and 4.0 t removed has
net = 4.0 - 2.5 = +1.5 t (a net sink).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.book import (
    audit_trail,
    balance,
    ensure_accounts,
    last_closed,
    list_accounts,
    post_statement,
    statements,
)
from ledger.errors import InvalidEntity, InvalidStatement, UnknownAccount
from ledger.periods import Period

SITE = ZoneInfo("Asia/Shanghai")  # the default site calendar
NOV1 = Period.containing("day", date(2026, 11, 1))
NOV2 = Period.containing("day", date(2026, 11, 2))


def stmt(emissions_t: float, removals_t: float, **extra) -> dict:
    return {
        "emissions_t": emissions_t,
        "removals_t": removals_t,
        "factor_set": {"name": "cn-mee-2023", "version": "1"},
        "data_window": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
        "coverage": 0.98,
        **extra,
    }


def test_post_records_figures_and_two_entries(session):
    ps = post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="scheduled close")
    assert (ps.version, ps.current, ps.superseded_at) == (1, True, None)
    assert (ps.emissions_t, ps.removals_t, ps.net_t) == (2.5, 4.0, 1.5)
    # a local day of the site calendar (Asia/Shanghai): [D-1 16:00Z, D 16:00Z)
    assert ps.period_start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert ps.period_end == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert ps.factor_set == {"name": "cn-mee-2023", "version": "1"}
    assert ps.coverage == pytest.approx(0.98)
    [v1] = audit_trail(session, "orchard-1", NOV1)
    assert [(e.kind, e.amount_t) for e in v1.entries] == [
        ("emission_debit", -2.5),
        ("removal_credit", 4.0),
    ]
    assert all(e.effective_at == NOV1.end for e in v1.entries)


def test_identical_repost_is_a_no_op(session):
    first = post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    again = post_statement(
        session, "orchard-1", NOV1, stmt(2.5, 4.0, computed_at="later"), reason="close"
    )
    assert again.id == first.id
    assert len(audit_trail(session, "orchard-1", NOV1)) == 1
    assert balance(session, "orchard-1").net_t == 1.5


def test_restatement_keeps_earlier_version_and_reverses_its_entries(session):
    v1 = post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    v2 = post_statement(session, "orchard-1", NOV1, stmt(3.0, 4.0), reason="late reading")
    assert v2.version == 2 and v2.current
    trail = audit_trail(session, "orchard-1", NOV1)
    assert [(v.version, v.current, v.emissions_t, v.reason) for v in trail] == [
        (1, False, 2.5, "close"),
        (2, True, 3.0, "late reading"),
    ]
    assert trail[0].superseded_at == trail[1].created_at
    assert [(e.kind, e.amount_t) for e in trail[0].entries] == [
        ("emission_debit", -2.5),
        ("removal_credit", 4.0),
    ]
    reversals = [e for e in trail[1].entries if e.kind == "reversal"]
    assert sorted((e.reverses_id, e.amount_t) for e in reversals) == sorted(
        (e.id, -e.amount_t) for e in trail[0].entries
    )
    assert [(e.kind, e.amount_t) for e in trail[1].entries if e.kind != "reversal"] == [
        ("emission_debit", -3.0),
        ("removal_credit", 4.0),
    ]
    b = balance(session, "orchard-1")
    assert (b.emissions_t, b.removals_t, b.net_t) == (3.0, 4.0, 1.0)
    # as reported before the restatement
    b_then = balance(session, "orchard-1", known_at=v1.created_at)
    assert (b_then.emissions_t, b_then.net_t) == (2.5, 1.5)
    # listing shows only the current version unless asked
    start, end = datetime(2026, 11, 1, tzinfo=SITE), datetime(2026, 12, 1, tzinfo=SITE)
    assert [s.version for s in statements(session, "orchard-1", "day", start, end)] == [2]
    assert [
        s.version
        for s in statements(session, "orchard-1", "day", start, end, include_superseded=True)
    ] == [1, 2]


def test_restating_back_to_the_first_figures_makes_a_third_version(session):
    post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    post_statement(session, "orchard-1", NOV1, stmt(3.0, 4.0), reason="late reading")
    v3 = post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="reading corrected")
    assert v3.version == 3
    assert balance(session, "orchard-1").net_t == 1.5


def test_balance_at_a_date_before_during_and_after(session):
    post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    post_statement(session, "orchard-1", NOV2, stmt(1.0, 0.25), reason="close")
    assert balance(session, "orchard-1", date(2026, 10, 31)).net_t == 0.0
    b1 = balance(session, "orchard-1", date(2026, 11, 1))
    assert (b1.emissions_t, b1.removals_t, b1.net_t, b1.available_t) == (2.5, 4.0, 1.5, 1.5)
    # a datetime inside day 2 does not yet count day 2 (effective at the period's end)
    assert balance(session, "orchard-1", datetime(2026, 11, 2, 12, tzinfo=UTC)).net_t == 1.5
    b2 = balance(session, "orchard-1", date(2026, 11, 2))
    assert (b2.emissions_t, b2.removals_t, b2.net_t) == (3.5, 4.25, 0.75)
    assert balance(session, "orchard-1") == b2


def test_net_source_has_nothing_available(session):
    post_statement(session, "factory-a", NOV1, stmt(10.0, 0.0), reason="close")
    b = balance(session, "factory-a")
    assert (b.net_t, b.available_t) == (-10.0, 0.0)


def test_only_the_booking_period_moves_the_balance(session):
    hour = Period.containing("hour", datetime(2026, 11, 1, 5, tzinfo=UTC))
    month = Period.containing("month", date(2026, 11, 1))
    post_statement(session, "orchard-1", hour, stmt(0.1, 0.2), reason="close")
    post_statement(session, "orchard-1", month, stmt(50.0, 90.0), reason="close")
    assert balance(session, "orchard-1").net_t == 0.0
    post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    assert balance(session, "orchard-1").net_t == 1.5
    assert last_closed(session, "orchard-1", "hour") == hour.end
    assert last_closed(session, "orchard-1", "year") is None


def test_amounts_are_exact_to_the_gram(session):
    for i in range(10):
        day = Period.containing("day", date(2026, 11, 1 + i))
        post_statement(session, "forest-1", day, stmt(0.1, 0.3), reason="close")
    b = balance(session, "forest-1")
    assert (b.emissions_t, b.removals_t, b.net_t) == (1.0, 3.0, 2.0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"removals_t": 1.0}, "no 'emissions_t'"),
        ({"emissions_t": "x", "removals_t": 1.0}, "not a number"),
        ({"emissions_t": float("nan"), "removals_t": 1.0}, "not finite"),
        ({"emissions_t": -1.0, "removals_t": 1.0}, "negative"),
    ],
)
def test_invalid_statements_raise(session, bad, message):
    with pytest.raises(InvalidStatement, match=message):
        post_statement(session, "orchard-1", NOV1, bad, reason="close")


def test_unknown_account(session):
    with pytest.raises(UnknownAccount, match="no account for entity 'nope'.*ensure_accounts"):
        post_statement(session, "nope", NOV1, stmt(1, 1), reason="close")
    with pytest.raises(UnknownAccount):
        balance(session, "nope")


def test_ensure_accounts_upserts_and_lists(session):
    assert [a.entity_id for a in list_accounts(session)] == [
        "factory-a",
        "forest-1",
        "line-a1",
        "orchard-1",
    ]
    ensure_accounts(
        session,
        [
            {"id": "line-a2", "kind": "line", "parent": "factory-a"},
            {"id": "orchard-1", "kind": "orchard", "name": "renamed"},
        ],
    )
    assert [a.entity_id for a in list_accounts(session, parent="factory-a")] == [
        "line-a1",
        "line-a2",
    ]
    [o] = list_accounts(session, kind="orchard")
    assert o.name == "renamed"
    assert [a.entity_id for a in list_accounts(session, ids=["forest-1", "x"])] == ["forest-1"]
    assert [a.entity_id for a in list_accounts(session, limit=2, offset=1)] == [
        "forest-1",
        "line-a1",
    ]
    with pytest.raises(InvalidEntity, match="parent entity 'factory-z'"):
        ensure_accounts(session, [{"id": "l9", "kind": "line", "parent": "factory-z"}])
    with pytest.raises(InvalidEntity, match="kind 'farm'"):
        ensure_accounts(session, [{"id": "f9", "kind": "farm"}])


def test_concurrent_posts_of_one_period_leave_one_current_version(session, sessions):
    import threading

    n = 4
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        with sessions() as s:
            barrier.wait(timeout=30)
            try:
                post_statement(s, "orchard-1", NOV1, stmt(1.0 + i, 10.0), reason=f"close {i}")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    session.rollback()
    trail = audit_trail(session, "orchard-1", NOV1)
    assert [v.version for v in trail] == [1, 2, 3, 4]
    [current] = [v for v in trail if v.current]
    assert current.version == 4
    assert balance(session, "orchard-1").net_t == current.net_t


def test_accounting_periods_and_registry_entities_are_accepted(session):
    from accounting.periods import Period as LocalPeriod
    from telemetry.registry import Entity

    ensure_accounts(
        session,
        [Entity(id="orchard-9", kind="orchard", attrs={"area_mu": 30, "booking_period": "month"})],
    )
    [acct] = list_accounts(session, ids=["orchard-9"])
    assert acct.booking_period == "month"
    nov = LocalPeriod.month(2026, 11)  # Asia/Shanghai
    ps = post_statement(session, "orchard-9", nov, stmt(1.0, 2.0), reason="close")
    assert ps.period_start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert [v.version for v in audit_trail(session, "orchard-9", nov)] == [1]
    assert balance(session, "orchard-9").net_t == 1.0


def test_purge_memo_statements_keeps_booked_ones(session):
    from ledger.book import purge_memo_statements

    hours = [Period.containing("hour", datetime(2026, 11, 1, h, tzinfo=UTC)) for h in (1, 2, 3)]
    for h in hours:
        post_statement(session, "orchard-1", h, stmt(0.1, 0.2), reason="close")
    post_statement(session, "orchard-1", hours[0], stmt(0.2, 0.2), reason="late reading")
    post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    # hours 1 and 2 ended before the cut-off, hour 3 after
    n = purge_memo_statements(session, "hour", hours[2].start + timedelta(minutes=1))
    assert n == 3  # two versions of hour 1, one of hour 2
    start, end = datetime(2026, 11, 1, tzinfo=SITE), datetime(2026, 11, 2, tzinfo=SITE)
    assert [s.period_start.hour for s in statements(session, "orchard-1", "hour", start, end)] == [
        3
    ]
    assert purge_memo_statements(session, "day", end + timedelta(days=1)) == 0
    assert balance(session, "orchard-1").net_t == 1.5


def test_post_statements_batch_outcomes_and_all_or_nothing(session):
    from ledger.book import post_statements

    post_statement(session, "orchard-1", NOV1, stmt(2.5, 4.0), reason="close")
    posted = post_statements(
        session,
        [
            ("orchard-1", NOV1, stmt(2.5, 4.0)),  # identical
            ("forest-1", NOV1, stmt(0.0, 1.0)),  # new
            ("orchard-1", NOV2, stmt(1.0, 1.0)),  # new
        ],
        reason="close",
    )
    assert [(p.statement.entity_id, p.outcome) for p in posted] == [
        ("orchard-1", "unchanged"),
        ("forest-1", "posted"),
        ("orchard-1", "posted"),
    ]
    restated = post_statements(session, [("orchard-1", NOV1, stmt(2.0, 4.0))], reason="late")
    assert [(p.outcome, p.statement.version) for p in restated] == [("restated", 2)]
    with pytest.raises(UnknownAccount):
        post_statements(
            session,
            [("forest-1", NOV2, stmt(0.0, 9.0)), ("nope", NOV2, stmt(0.0, 1.0))],
            reason="close",
        )
    start, end = datetime(2026, 11, 1, tzinfo=SITE), datetime(2026, 12, 1, tzinfo=SITE)
    assert [
        s.period_start.astimezone(SITE).day
        for s in statements(session, "forest-1", "day", start, end)
    ] == [1]
    with pytest.raises(InvalidStatement, match="twice"):
        post_statements(
            session, [("forest-1", NOV2, stmt(0, 1)), ("forest-1", NOV2, stmt(0, 2))], reason="x"
        )
