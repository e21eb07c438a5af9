"""Closing periods from the real embedded telemetry store (telemetry.sqlite.SqliteStore).

Hand-worked figures: a line's electricity register advances 10 kWh every 15 minutes, so a
day is 96 intervals x 10 kWh = 960 kWh, and with the cn-mee-2023 grid factor
0.5306 kg CO2/kWh (MEE/NBS 2023 national grid factor, docs/methodology.md §2) the day emits
960 x 0.5306 / 1000 = 0.509376 t CO2.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ledger.book import audit_trail, balance, ensure_accounts, statements
from ledger.closing import catch_up, close_entities, due_periods
from ledger.periods import Period
from telemetry.model import Event, Reading
from telemetry.sqlite import SqliteStore

TZ = "Asia/Shanghai"
DAY = Period.containing("day", date(2026, 11, 1), TZ)  # [10-31 16:00Z, 11-01 16:00Z)
STEP_MS = 15 * 60 * 1000
GRID_T_PER_KWH = 0.5306 / 1000

ENTITIES = [
    {"id": "factory-a", "kind": "factory"},
    {"id": "line-a1", "kind": "line", "parent": "factory-a"},
    {"id": "orchard-1", "kind": "orchard", "area_mu": 30.0},
]


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def register(entity: str, device: str, start: datetime, end: datetime, kwh_per_step: float):
    """Readings of an energy register every 15 min from ``start`` to ``end`` inclusive."""
    out, value, t = [], 1000.0, _ms(start)
    while t <= _ms(end):
        out.append(Reading(entity, device, t, {"energy_kwh_total": value}))
        value += kwh_per_step
        t += STEP_MS
    return out


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "telemetry.sqlite", retention=None, synchronous="NORMAL")
    s.ensure_ready()
    yield s
    s.close()


@pytest.fixture
def ledger(sessions):
    with sessions() as s:
        ensure_accounts(s, ENTITIES)
        yield s


def test_close_a_day_posts_the_hand_worked_figures(ledger, store):
    store.write(
        readings=register("line-a1", "meter-a1", DAY.start, DAY.end + timedelta(hours=1), 10)
    )
    [res] = close_entities(ledger, store, [ENTITIES[1]], DAY, tz=TZ)
    assert (res.entity_id, res.outcome, res.version) == ("line-a1", "posted", 1)
    [ps] = statements(ledger, "line-a1", "day", DAY.start, DAY.end)
    assert ps.emissions_t == pytest.approx(960 * GRID_T_PER_KWH, abs=1e-6)
    assert ps.removals_t == 0.0
    assert ps.statement["activity"]["electricity_kwh"] == pytest.approx(960.0)
    assert ps.factor_set["name"] == "cn-mee-2023"
    assert ps.coverage == pytest.approx(1.0)
    assert ps.data_window == {"start_ms": _ms(DAY.start), "end_ms": _ms(DAY.end)}


def test_closing_again_is_a_no_op_and_a_late_reading_restates(ledger, store):
    readings = register("line-a1", "meter-a1", DAY.start, DAY.end + timedelta(hours=1), 10)
    # the register's readings of 10:00-12:00 local arrive late
    gap = [
        r
        for r in readings
        if _ms(DAY.start) + 10 * 3_600_000 <= r.ts_ms < _ms(DAY.start) + 12 * 3_600_000
    ]
    store.write(readings=[r for r in readings if r not in gap])
    first = close_entities(ledger, store, [ENTITIES[1]], DAY, tz=TZ)
    again = close_entities(ledger, store, [ENTITIES[1]], DAY, tz=TZ)
    assert [r.outcome for r in first + again] == ["posted", "unchanged"]
    v1 = audit_trail(ledger, "line-a1", DAY)[0]
    assert v1.coverage < 0.95  # the gap shows in the coverage figure
    store.write(readings=gap)
    [late] = close_entities(ledger, store, [ENTITIES[1]], DAY, tz=TZ, reason="late reading")
    assert (late.outcome, late.version) == ("restated", 2)
    trail = audit_trail(ledger, "line-a1", DAY)
    assert [(v.version, v.current) for v in trail] == [(1, False), (2, True)]
    assert trail[1].coverage == pytest.approx(1.0)
    assert trail[1].emissions_t == pytest.approx(960 * GRID_T_PER_KWH, abs=1e-6)
    assert balance(ledger, "line-a1").emissions_t == trail[1].emissions_t


def test_factory_rolls_up_its_lines(ledger, store):
    end = DAY.end + timedelta(hours=1)
    store.write(readings=register("line-a1", "meter-a1", DAY.start, end, 10))
    store.write(readings=register("factory-a", "meter-main", DAY.start, end, 5))  # 480 kWh
    results = close_entities(ledger, store, ENTITIES[:2], DAY, tz=TZ)
    assert {r.entity_id: r.outcome for r in results} == {"factory-a": "posted", "line-a1": "posted"}
    [fa] = statements(ledger, "factory-a", "day", DAY.start, DAY.end)
    assert fa.emissions_t == pytest.approx((960 + 480) * GRID_T_PER_KWH, abs=2e-6)
    assert fa.statement["children"] == ["line-a1"]


def test_orchard_events_are_read(ledger, store):
    # 100 kg urea (46 % N) on 1 November, 10:00 local
    ts = _ms(DAY.start) + 10 * 3_600_000
    store.write(
        events=[
            Event(
                "orchard-1",
                "phone-1",
                ts,
                "ev-1",
                "fertilizer_applied",
                {"product": "urea", "mass_kg": 100.0, "n_frac": 0.46, "organic": False},
            )
        ]
    )
    [res] = close_entities(ledger, store, [ENTITIES[2]], DAY, tz=TZ)
    assert res.outcome == "posted", res.error
    [ps] = statements(ledger, "orchard-1", "day", DAY.start, DAY.end)
    sources = ps.statement["emissions_t"]
    assert "urea_co2" in sources and "fertiliser_n2o_direct" in sources
    # urea CO2: 0.1 t urea x 0.20 t C/t urea x 44/12 (IPCC 2006 Vol.4 eq. 11.13) = 0.0733 t
    assert sources["urea_co2"] == pytest.approx(0.1 * 0.20 * 44 / 12, rel=1e-3)
    assert ps.removals_t > 0  # Tier 1 biomass of a young orchard, pro rata for one day


def test_due_periods_catch_up_and_lookback():
    now = datetime(2026, 11, 4, 1, 0, tzinfo=UTC)  # 09:00 local on 4 November
    last = Period.containing("day", date(2026, 11, 1), TZ).end
    due = due_periods("day", last, now, tz=TZ, lookback=1)
    assert [p.start.astimezone(UTC).date().isoformat() for p in due] == [
        "2026-10-31",  # 1 November local, re-closed for late readings
        "2026-11-01",
        "2026-11-02",
    ]
    assert len(due_periods("hour", None, now, tz=TZ, backfill=5)) == 5


def test_catch_up_closes_every_missing_day_then_nothing_new(ledger, store):
    start = Period.containing("day", date(2026, 10, 30), TZ).start
    now = Period.containing("day", date(2026, 11, 3), TZ).start + timedelta(hours=2)
    store.write(readings=register("line-a1", "meter-a1", start, now, 10))
    ents = [ENTITIES[1]]
    first = catch_up(ledger, store, ents, "day", now=now, tz=TZ, backfill=4, lookback=1)
    assert [r.outcome for r in first] == ["posted"] * 4
    posted = statements(ledger, "line-a1", "day", start, now)
    assert [p.period_start.astimezone(UTC).day for p in posted] == [29, 30, 31, 1]
    assert all(p.emissions_t == pytest.approx(960 * GRID_T_PER_KWH, abs=1e-6) for p in posted)
    # a day later: one new day, the last closed one re-checked and unchanged
    later = catch_up(ledger, store, ents, "day", now=now + timedelta(days=1), tz=TZ, lookback=1)
    assert [r.outcome for r in later] == ["unchanged", "posted"]


def test_factor_set_sources_are_stored_once(ledger, store):
    from sqlalchemy import func, select

    from accounting.factors import load_factor_set
    from ledger.book import factor_set_ref
    from ledger.models import FactorSetRecord

    end = DAY.end + timedelta(hours=1)
    store.write(readings=register("line-a1", "meter-a1", DAY.start, end, 10))
    store.write(readings=register("factory-a", "meter-main", DAY.start, end, 5))
    close_entities(ledger, store, ENTITIES[:2], DAY, tz=TZ)
    assert ledger.scalar(select(func.count()).select_from(FactorSetRecord)) == 1
    [ps] = statements(ledger, "line-a1", "day", DAY.start, DAY.end)
    fs = load_factor_set("cn-mee-2023")
    assert ps.factor_set["digest"] == fs.digest and "sources" not in ps.factor_set
    assert "sources" not in ps.statement["factor_set"]
    assert factor_set_ref(ledger, fs.digest)["sources"] == fs.ref["sources"]


def test_one_bad_entity_does_not_stop_the_others(ledger, store):
    store.write(
        readings=register("line-a1", "meter-a1", DAY.start, DAY.end + timedelta(hours=1), 10)
    )
    ensure_accounts(ledger, [{"id": "orchard-bad", "kind": "orchard"}])  # no area_mu
    results = close_entities(
        ledger, store, [ENTITIES[1], {"id": "orchard-bad", "kind": "orchard"}], DAY, tz=TZ
    )
    by_id = {r.entity_id: r for r in results}
    assert by_id["line-a1"].outcome == "posted"
    assert by_id["orchard-bad"].outcome == "failed"
    assert "area_mu" in by_id["orchard-bad"].error
    # an entity without an account: its post fails, the batch falls back to one by one
    results = close_entities(
        ledger,
        store,
        [ENTITIES[1], {"id": "line-x", "kind": "line", "parent": "factory-a"}],
        DAY,
        tz=TZ,
    )
    by_id = {r.entity_id: r for r in results}
    assert by_id["line-a1"].outcome == "unchanged"
    assert by_id["line-x"].outcome == "failed" and "UnknownAccount" in by_id["line-x"].error


def test_chunks_keep_factories_with_their_lines(monkeypatch):
    from ledger import closing

    monkeypatch.setattr(closing, "BATCH", 3)
    ents = [
        {"id": "f1", "kind": "factory"},
        {"id": "o1", "kind": "orchard"},
        {"id": "l1", "kind": "line", "parent": "f1"},
        {"id": "l2", "kind": "line", "parent": "f1"},
        {"id": "o2", "kind": "orchard"},
    ]
    chunks = [[e["id"] for e in c] for c in closing._chunks(ents)]
    assert chunks == [["f1", "l1", "l2"], ["o1", "o2"]]


def test_profile_takes_the_registry_species_of_a_forest():
    # the registry (docs/registry.md) names the attribute `species`; the profile `forest_species`
    from ledger.closing import profile_of

    profile = profile_of(
        {"id": "forest-1", "kind": "forest", "area_mu": 300.0, "species": "chinese_fir"}
    )
    assert profile.forest_species == "chinese_fir"
