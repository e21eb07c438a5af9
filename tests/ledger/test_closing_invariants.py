"""Issue 9 invariants through the real closing job and ledger (SqliteStore telemetry).

An orchard whose records begin on 15 November 2025 (local): grass cover on 20 of its 30 mu
from 1 December, urea on two days, one tree survey (so Tier 1 biomass, IPCC 2006 Vol. 4
Table 5.1: 2.1 t C/ha/yr for a young orchard). Days are booked; months and the year are
closed as statements. Checked: the booked days of December sum to December's statement and
the booked days of 2025 to the year's, per source and pool; October (before the history)
gets nothing; the year's booked ledger balance equals the year statement behind the label.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounting.labels import orchard_label
from accounting.statements import Statement
from ledger.book import balance, ensure_accounts, statements
from ledger.closing import catch_up, close_entities
from ledger.periods import Period
from telemetry.model import Event
from telemetry.sqlite import SqliteStore

TZ = "Asia/Shanghai"
ORCHARD = {"id": "orchard-9", "kind": "orchard", "area_mu": 30.0, "booking_period": "day"}


def _local_ms(y: int, m: int, d: int, h: int = 0) -> int:
    return int((datetime(y, m, d, h, tzinfo=UTC) - timedelta(hours=8)).timestamp() * 1000)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "telemetry.sqlite", retention=None, synchronous="NORMAL")
    s.ensure_ready()
    s.write(
        events=[
            Event("orchard-9", "app", _local_ms(2025, 11, 15, 9), "s0", "tree_survey",
                  {"trees": 1200, "mean_trunk_diameter_cm": 10.0}),
            Event("orchard-9", "app", _local_ms(2025, 11, 20, 10), "u1", "fertilizer_applied",
                  {"product": "urea", "mass_kg": 80.0, "n_frac": 0.46, "organic": False}),
            Event("orchard-9", "app", _local_ms(2025, 12, 1, 0), "g1", "practice",
                  {"practice": "grass_cover", "area_mu": 20.0}),
            Event("orchard-9", "app", _local_ms(2025, 12, 12, 10), "u2", "fertilizer_applied",
                  {"product": "urea", "mass_kg": 50.0, "n_frac": 0.46, "organic": False}),
        ]
    )  # fmt: skip
    yield s
    s.close()


@pytest.fixture
def ledger(sessions):
    with sessions() as s:
        ensure_accounts(s, [ORCHARD])
        yield s


def _by_key(docs: list[dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for d in docs:
        for k, v in d["emissions_t"].items():
            out[f"emission:{k}"] = out.get(f"emission:{k}", 0.0) + v
        for k, v in d["sequestration_t"].items():
            out[f"removal:{k}"] = out.get(f"removal:{k}", 0.0) + v
    return out


def _assert_equal(a: dict[str, float], b: dict[str, float]) -> None:
    assert set(a) == set(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k


def test_booked_days_sum_to_month_and_year_and_ledger_equals_label_year(ledger, store):
    # book every day of the covered history through the catch-up of the closing job
    now = datetime(2026, 1, 1, 4, tzinfo=UTC)  # 12:00 local on 1 January 2026
    days = catch_up(ledger, store, [ORCHARD], "day", now=now, tz=TZ, backfill=60, lookback=0)
    assert days and all(r.outcome == "posted" for r in days), days
    oct_, dec = (Period.containing("month", date(2025, m, 1), TZ) for m in (10, 12))
    year = Period.containing("year", date(2025, 1, 1), TZ)
    for p in (oct_, dec, year):
        [res] = close_entities(ledger, store, [ORCHARD], p, tz=TZ)
        assert res.outcome == "posted", res.error

    def posted(kind, p):
        return [ps.statement for ps in statements(ledger, "orchard-9", kind, p.start, p.end)]

    [dec_doc] = posted("month", dec)
    _assert_equal(_by_key(posted("day", dec)), _by_key([dec_doc]))
    [year_doc] = posted("year", year)
    _assert_equal(_by_key(posted("day", year)), _by_key([year_doc]))
    # practice in force from 1 December in every day after it, not only on its event day
    dec_days = posted("day", dec)
    assert all(d["sequestration_t"].get("soil", 0) > 0 for d in dec_days)
    # no credit before the first data: October (and the days before 15 November) get nothing
    [oct_doc] = posted("month", oct_)
    assert oct_doc["total_sequestration_t"] == 0 and oct_doc["coverage"] == 0
    assert year_doc["methods"] == {"biomass": "tier1", "soil": "tier1_soc_stock_change"}
    # the year's booked ledger balance equals the year statement behind the orchard label
    booked = balance(ledger, "orchard-9", year.end)
    label = orchard_label(Statement.from_dict(year_doc), thresholds=(1.2, 1.0, 0.8))
    assert booked.net_t == pytest.approx(label.explanation["net_t"], abs=1e-5)
    assert booked.net_t == pytest.approx(year_doc["net_t"], abs=1e-5)
    # covered from 15 November 09:00: 46 d 15 h of 365 days; no colour, and what is missing
    # is 0.9 × 365 − 46.625 = 281.875 days of data
    assert label.colour == "unrated"
    assert label.explanation["unrated"]["reason"] == "coverage.low"
    assert label.explanation["unrated"]["missing_days"] == pytest.approx(0.9 * 365 - 46.625)


LINE = {"id": "line-z1", "kind": "line", "parent": "factory-z", "booking_period": "day"}


def test_line_days_sum_to_month_and_a_spike_adds_nothing(sessions, store):
    # a line's register: 10 kWh every 15 min through November 2026 (local), plus one reading
    # of 1e9 kWh on 10 November 12:07. Each day is 96 × 10 = 960 kWh, the month 30 × 960 =
    # 28,800 kWh × 0.5306 kg/kWh (MEE/NBS 2023 national grid factor) = 15.2813 t CO2.
    from telemetry.model import Reading

    start, end = _local_ms(2026, 11, 1), _local_ms(2026, 12, 1)
    step = 15 * 60_000
    rows = [
        Reading("line-z1", "meter-z1", t, {"energy_kwh_total": 1000.0 + 10.0 * i})
        for i, t in enumerate(range(start - step, end + 2 * step, step))
    ]
    rows.append(Reading("line-z1", "meter-z1", _local_ms(2026, 11, 10, 12) + 7 * 60_000,
                        {"energy_kwh_total": 1e9}))  # fmt: skip
    store.write(readings=rows)
    month = Period.containing("month", date(2026, 11, 1), TZ)
    with sessions() as ledger:
        ensure_accounts(ledger, [{"id": "factory-z", "kind": "factory"}, LINE])
        now = datetime(2026, 12, 1, 4, tzinfo=UTC)
        days = catch_up(ledger, store, [LINE], "day", now=now, tz=TZ, backfill=30, lookback=0)
        assert len(days) == 30 and all(r.outcome == "posted" for r in days), days
        [res] = close_entities(ledger, store, [LINE], month, tz=TZ)
        assert res.outcome == "posted", res.error
        day_docs = [
            ps.statement for ps in statements(ledger, "line-z1", "day", month.start, month.end)
        ]
        [month_doc] = [
            ps.statement for ps in statements(ledger, "line-z1", "month", month.start, month.end)
        ]
        _assert_equal(_by_key(day_docs), _by_key([month_doc]))
        assert month_doc["activity"]["electricity_kwh"] == pytest.approx(28_800.0)
        assert month_doc["total_emissions_t"] == pytest.approx(28_800 * 0.5306 / 1000)
        spike_day = day_docs[9]
        assert spike_day["activity"]["electricity_kwh"] == pytest.approx(960.0)
        assert "registers.dropped: 1" in spike_day["warnings"]
        booked = balance(ledger, "line-z1", month.end)
        assert booked.emissions_t == pytest.approx(month_doc["total_emissions_t"], abs=1e-5)
