"""Accounting invariants of issue 9: period additivity and no credit without data.

The closing job books days and closes months and years separately; the figures must agree:
for every source and pool, the days of a month sum to the month's statement and the months
of a year to the year's (linear apportioning of registers, events counted once in the
window that holds them, removals integrated over covered time with the records known at
each instant).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.activity_data import activity_from_series
from accounting.events import record_time_s
from accounting.factors import load_factor_set
from accounting.periods import Period
from accounting.profiles import EntityProfile
from accounting.statements import compute_statement

FS = load_factor_set("cn-mee-2023")
YEAR = Period.year(2025)
DAY_MS = 86_400_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _activity(period: Period, records: list[dict]):
    """Activity of a window as the closing job builds it: events of the window, surveys and
    practices of any date up to its end, first data = the entity's first record."""
    start, end = period.start_ms, period.end_ms
    t = {id(r): record_time_s(r) * 1000 for r in records}
    first = min(t.values())
    return activity_from_series(
        {},
        [r for r in records if start <= t[id(r)] < end],
        start_ms=start,
        end_ms=end,
        tree_surveys=[r for r in records if r["type"] == "tree_survey" and t[id(r)] < end],
        practice_records=[r for r in records if r["type"] == "practice" and t[id(r)] < end],
        first_data_ms=first,
    )


def _by_source(profile, period, records) -> dict[str, float]:
    s = compute_statement(profile, period, _activity(period, records), FS)
    out = {f"emission:{k}": v for k, v in s.emissions_t.items()}
    out.update({f"removal:{k}": v for k, v in s.sequestration_t.items()})
    return out


def _assert_sums(parts: list[dict[str, float]], whole: dict[str, float]) -> None:
    keys = set(whole).union(*parts)
    for k in keys:
        total = sum(p.get(k, 0.0) for p in parts)
        assert total == pytest.approx(whole.get(k, 0.0), rel=1e-9, abs=1e-9), k


def _records(first_day, survey_days, practices, fert_days):
    y0 = YEAR.start_ms
    recs = [
        {"type": "fertilizer_applied", "id": f"f{i}", "ts": _iso(y0 + d * DAY_MS + 3_600_000),
         "product": "urea", "mass_kg": 100.0, "n_frac": 0.46}
        for i, d in enumerate(fert_days)
    ]  # fmt: skip
    recs += [
        {"type": "tree_survey", "id": f"s{i}", "ts": _iso(y0 + d * DAY_MS), "trees": 1000,
         "biomass_t": 100.0 + 0.01 * (d + 400)}
        for i, d in enumerate(survey_days)
    ]  # fmt: skip
    recs += [
        {"type": "practice", "id": f"p{i}", "ts": _iso(y0 + d * DAY_MS + 7_200_000),
         "practice": p, "area_mu": a}
        for i, (d, p, a) in enumerate(practices)
    ]  # fmt: skip
    # the entity's first record (e.g. its registration visit)
    recs.append(
        {"type": "harvest", "id": "first", "ts": _iso(y0 + first_day * DAY_MS), "mass_t": 0.0}
    )
    return recs


practice = st.tuples(
    st.integers(-100, 364),
    st.sampled_from(["grass_cover", "straw_return", "organic_substitution"]),
    st.floats(1.0, 60.0),
)


@settings(max_examples=25, deadline=None)
@given(
    first_day=st.integers(-60, 300),
    survey_days=st.lists(st.integers(-500, 364), max_size=4, unique=True),
    practices=st.lists(practice, max_size=3),
    fert_days=st.lists(st.integers(0, 364), max_size=3),
    mature=st.booleans(),
    month=st.integers(1, 12),
)
def test_days_sum_to_month_and_months_to_year(
    first_day, survey_days, practices, fert_days, mature, month
):
    profile = EntityProfile("o", "orchard", area_mu=50, orchard_mature=mature)
    recs = _records(first_day, survey_days, practices, fert_days)
    m = Period.month(2025, month)
    first = m.local_start.date()
    days = [Period.day(first + timedelta(days=i)) for i in range(round(m.days))]
    _assert_sums([_by_source(profile, d, recs) for d in days], _by_source(profile, m, recs))
    months = [Period.month(2025, k) for k in range(1, 13)]
    _assert_sums([_by_source(profile, p, recs) for p in months], _by_source(profile, YEAR, recs))


def test_practice_credited_pro_rata_from_its_date_in_every_period():
    # grass cover on 30 mu recorded 2025-07-01 (local): IPCC 2019R Tier 1 (docs/methodology.md §5b)
    # 2 ha × 55 t C/ha × 0.72 × (1.11 − 1.00) / 20 yr = 0.4356 t C/yr × 44/12 per year,
    # credited for the 184 days from 1 July to 31 December, in the day, month and year alike
    profile = EntityProfile("o", "orchard", area_mu=30, orchard_mature=True)
    t = datetime(2025, 7, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight 1 July
    recs = [
        {"type": "harvest", "id": "h", "ts": "2024-06-01", "mass_t": 0.0},
        {"type": "practice", "id": "g", "ts": t.isoformat(), "practice": "grass_cover", "area_mu": 30},
    ]  # fmt: skip
    rate = 2 * 55 * 0.72 * 0.11 / 20 * 44 / 12  # t CO2/yr
    year = _by_source(profile, YEAR, recs)["removal:soil"]
    assert year == pytest.approx(rate * 184 / 365.25)
    # before the fix the soil carbon was booked only on the day of the event
    aug = _by_source(profile, Period.day(date(2025, 8, 15)), recs)["removal:soil"]
    assert aug == pytest.approx(rate / 365.25)
    assert _by_source(profile, Period.day(date(2025, 6, 30)), recs).get("removal:soil", 0) == 0


def test_no_credit_before_the_first_data():
    # history begins 2025-12-01 (local): November gets nothing; December only from then on
    profile = EntityProfile("o", "orchard", area_mu=30, practices={"grass_cover": 30.0})
    start = datetime(2025, 12, 1, tzinfo=UTC) - timedelta(hours=8)
    recs = [{"type": "harvest", "id": "h", "ts": start.isoformat(), "mass_t": 0.0}]
    nov = compute_statement(
        profile, Period.month(2025, 11), _activity(Period.month(2025, 11), recs), FS
    )
    assert nov.total_sequestration_t == 0.0 and nov.coverage == 0.0
    dec = compute_statement(
        profile, Period.month(2025, 12), _activity(Period.month(2025, 12), recs), FS
    )
    assert dec.coverage == pytest.approx(1.0)
    year = compute_statement(profile, YEAR, _activity(YEAR, recs), FS)
    assert year.coverage == pytest.approx(31 / 365)
    assert year.total_sequestration_t == pytest.approx(dec.total_sequestration_t)
    assert year.methods == {"biomass": "tier1", "soil": "tier1_soc_stock_change"}


def test_short_inventory_pair_is_not_annualised():
    # two forest inventories 6 months apart: no stock difference (noise would be annualised)
    forest = EntityProfile("f", "forest", area_mu=150, forest_species="chinese_fir")
    inv = [{"ts": "2025-01-15", "volume_m3": 1000.0}, {"ts": "2025-07-15", "volume_m3": 1060.0}]
    act = activity_from_series(
        {}, start_ms=YEAR.start_ms, end_ms=YEAR.end_ms, forest_inventories=inv,
        first_data_ms=YEAR.start_ms,
    )  # fmt: skip
    s = compute_statement(forest, YEAR, act, FS)
    assert "forest" not in s.sequestration_t
    assert any(w.startswith("forest.no_inventory") for w in s.warnings)


def test_forest_pair_carries_its_uncertainty():
    # Chinese fir, 1000 -> 1100 m3 in two years, each inventory ±5 % (relative standard
    # error): u(ΔC) = √(C_a² + C_b²) × 0.05 / 2 yr × 44/12 (IPCC 2006 Vol. 1 Ch. 3, approach 1)
    forest = EntityProfile("f", "forest", area_mu=150, forest_species="chinese_fir")
    inv = [
        {"ts": "2023-01-01", "volume_m3": 1000.0, "stock_se_pct": 5.0},
        {"ts": "2024-12-31", "volume_m3": 1100.0, "stock_se_pct": 5.0},
    ]
    act = activity_from_series(
        {}, start_ms=YEAR.start_ms, end_ms=YEAR.end_ms, forest_inventories=inv,
        first_data_ms=YEAR.start_ms,
    )  # fmt: skip
    s = compute_statement(forest, YEAR, act, FS)
    per_m3 = 0.307 * 1.634 * 1.246 * 0.520  # t C per m3 (LY/T 2253 Chinese fir)
    years = 730 / 365.25
    rate_se = (1000**2 + 1100**2) ** 0.5 * per_m3 * 0.05 / years * 44 / 12
    assert s.uncertainty_t["forest"] == pytest.approx(rate_se * 365 / 365.25, rel=1e-6)
    assert s.to_dict()["uncertainty_t"] == s.uncertainty_t
