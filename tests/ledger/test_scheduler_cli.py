"""The scheduled close jobs (APScheduler) and ``tanzhang close``, on the real embedded store."""

from __future__ import annotations

import logging
import threading
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import func, select

from ledger.book import statements
from ledger.cli import close_main, parse_period
from ledger.db import make_engine, make_session_factory
from ledger.periods import Period
from ledger.scheduler import AtStartThenCron, make_scheduler, run_close_job
from sitetime.clock import FixedClock, OffsetClock, SystemClock, use_clock
from tanzhang.settings import Settings
from telemetry.model import Reading
from telemetry.sqlite import SqliteStore

TZ = "Asia/Shanghai"
ENTITIES = [
    {"id": "factory-a", "kind": "factory"},
    {"id": "line-a1", "kind": "line", "parent": "factory-a"},
]
REGISTRY = """
[[entities]]
id = "factory-a"
kind = "factory"

[[entities]]
id = "line-a1"
kind = "line"
parent = "factory-a"

[[devices]]
id = "meter-a1"
entity = "line-a1"
role = "electricity_meter"
"""


def write_register(store: SqliteStore, start: datetime, end: datetime) -> None:
    """line-a1's meter: +10 kWh every 15 min."""
    t, v, out = int(start.timestamp() * 1000), 0.0, []
    while t <= int(end.timestamp() * 1000):
        out.append(Reading("line-a1", "meter-a1", t, {"energy_kwh_total": v}))
        t, v = t + 900_000, v + 10.0
    store.write(readings=out)


#: the product's clock in the scheduler tests (the jobs' catch-up reads it)
NOW = datetime(2027, 1, 1, 1, 5, tzinfo=UTC)  # 09:05 on 1 January, local


def test_scheduler_job_options_and_a_catch_up_run(sessions, tmp_path):
    store = SqliteStore(tmp_path / "t.sqlite", retention=None, synchronous="NORMAL")
    now = NOW
    write_register(store, now - timedelta(days=3), now)
    sched = make_scheduler(sessions, store, lambda: ENTITIES, kinds=("day",), tz=TZ)
    done = threading.Event()
    outcome: list[object] = []

    def listener(ev):
        outcome.append(ev.exception or ev.retval)
        done.set()

    sched.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    sched.start(paused=True)  # job defaults are applied when the scheduler starts
    try:
        [job] = sched.get_jobs()
        assert (job.id, job.coalesce, job.max_instances, job.misfire_grace_time) == (
            "close-day",
            True,
            1,
            3600,
        )
        assert str(job.trigger) == "cron[hour='0', minute='31']"
        with use_clock(FixedClock(now)):
            sched.resume()
            assert done.wait(120), "the start-up catch-up did not run"
    finally:
        sched.shutdown(wait=True)
        store.close()
    results = outcome[0]
    assert isinstance(results, list), results
    assert {r.outcome for r in results} == {"posted"}
    assert {r.entity_id for r in results} == {"factory-a", "line-a1"}
    with sessions() as s:
        days = statements(s, "line-a1", "day", now - timedelta(days=40), now)
    assert len(days) == 31  # DEFAULT_BACKFILL["day"]
    # the last full day has data: 96 intervals x 10 kWh
    assert days[-1].statement["activity"]["electricity_kwh"] == pytest.approx(960.0)


def test_run_at_start_is_due_on_the_scheduler_clock_whatever_the_product_clock(
    sessions, tmp_path, caplog
):
    """``TANZHANG_NOW`` shifts the product's clock (OffsetClock) while APScheduler times its
    jobs on the machine clock: the start-up run must be due now, never "missed by" hours."""
    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    ran = threading.Event()
    with use_clock(OffsetClock(datetime(2026, 6, 15, 10, tzinfo=UTC))):
        sched = make_scheduler(sessions, store, lambda: [], kinds=("hour", "day"), tz=TZ)
        sched.add_listener(lambda ev: ran.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        with caplog.at_level(logging.WARNING, logger="apscheduler"):
            sched.start(paused=True)
            try:
                machine_now = SystemClock().now()  # the subject: APScheduler's own timing
                for job in sched.get_jobs():
                    assert abs(job.next_run_time - machine_now) < timedelta(minutes=1), job
                sched.resume()
                assert ran.wait(60), "the start-up run did not happen"
            finally:
                sched.shutdown(wait=True)
                store.close()
    assert "was missed by" not in caplog.text


def test_at_start_then_cron_fires_at_the_given_now_then_on_the_cron():
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger

    trigger = AtStartThenCron(CronTrigger(timezone=TZ, hour=0, minute=31))
    now = datetime(2026, 12, 31, 15, 59, tzinfo=ZoneInfo(TZ))
    assert trigger.get_next_fire_time(None, now) == now
    assert trigger.get_next_fire_time(now, now) == datetime(2027, 1, 1, 0, 31, tzinfo=ZoneInfo(TZ))
    assert str(trigger) == "cron[hour='0', minute='31']"


@pytest.mark.servers
def test_a_second_replica_skips_a_running_job(pg_server, tmp_path):
    engine = make_engine(pg_server.create_database())
    from ledger.db import upgrade

    upgrade(engine)
    sessions = make_session_factory(engine)
    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    key = zlib.crc32(b"tanzhang.close.day")
    try:
        with engine.connect() as other_replica:
            assert other_replica.scalar(select(func.pg_try_advisory_lock(key)))
            assert run_close_job(sessions, store, lambda: ENTITIES, "day") is None
            other_replica.scalar(select(func.pg_advisory_unlock(key)))
        results = run_close_job(sessions, store, lambda: ENTITIES, "day")
        assert results is not None and len(results) == 2 * 31
    finally:
        store.close()
        engine.dispose()


@pytest.fixture
def site(tmp_path):
    (tmp_path / "registry.toml").write_text(REGISTRY)
    settings = Settings(data_dir=tmp_path, _env_file=None)
    day = Period.containing("day", date(2026, 11, 1), TZ)
    store = SqliteStore(settings.embedded_store_path, retention=None)
    write_register(store, day.start - timedelta(hours=1), day.end + timedelta(hours=1))
    store.close()
    return settings


def test_close_by_hand_then_already_closed_then_restate(site, capsys):
    argv = ["--entity", "line-a1", "--period", "day", "--date", "2026-11-01"]
    assert close_main(site, argv) == 0
    out = capsys.readouterr().out
    assert "line-a1 day 2026-11-01: posted v1 net -0.509376 t CO2e" in out
    assert close_main(site, argv) == 0
    assert "already closed (v1); --restate to recompute" in capsys.readouterr().out
    assert close_main(site, [*argv, "--restate"]) == 0
    assert "unchanged v1" in capsys.readouterr().out
    engine = make_engine(site.accounts_url)
    with make_session_factory(engine)() as s:
        [ps] = statements(
            s,
            "line-a1",
            "day",
            datetime(2026, 10, 1, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
        )
        assert ps.reason == "manual close"
    engine.dispose()


def test_closing_a_factory_closes_its_lines(site, capsys):
    argv = ["--entity", "factory-a", "--period", "day", "--date", "2026-11-01"]
    assert close_main(site, argv) == 0
    out = capsys.readouterr().out
    assert "factory-a day" in out and "line-a1 day" in out
    assert out.count("posted v1 net -0.509376") == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--entity", "nope", "--date", "2026-11-01"], "unknown entity 'nope'"),
        (["--period", "month", "--date", "2026-13"], "is not a month"),
        (["--period", "day"], "either --date or --catch-up"),
    ],
)
def test_usage_errors(site, capsys, argv, message):
    assert close_main(site, argv) == 2
    assert message in capsys.readouterr().err


def test_parse_period():
    assert parse_period("hour", "2026-11-01T08", TZ).start == datetime(2026, 11, 1, 0, tzinfo=UTC)
    assert parse_period("month", "2026-11", "UTC").end == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_period("year", "2026-05-03", "UTC").start == datetime(2026, 1, 1, tzinfo=UTC)


def test_hourly_job_deletes_old_memo_statements(sessions, tmp_path):
    from ledger.book import ensure_accounts, post_statement

    now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    old = Period.containing("hour", now - timedelta(days=15))
    recent = Period.containing("hour", now - timedelta(days=13))
    with sessions() as s:
        ensure_accounts(s, [{"id": "forest-9", "kind": "forest"}])
        for p in (old, recent):
            post_statement(s, "forest-9", p, {"emissions_t": 0, "removals_t": 1}, reason="t")
    store = SqliteStore(tmp_path / "t.sqlite", retention=None)
    try:
        assert run_close_job(sessions, store, lambda: [], "hour", now=now) == []
    finally:
        store.close()
    with sessions() as s:
        left = statements(s, "forest-9", "hour", now - timedelta(days=30), now)
    assert [p.period_start for p in left] == [recent.start]


# -- month and year closes run by default ---------------------------------------------------
@pytest.fixture
def november_site(tmp_path):
    """A site whose line-a1 meter adds 10 kWh every 15 min through November 2026 (local)."""
    (tmp_path / "registry.toml").write_text(REGISTRY)
    settings = Settings(data_dir=tmp_path, _env_file=None)
    month = Period.containing("month", date(2026, 11, 1), TZ)
    store = SqliteStore(settings.embedded_store_path, retention=None)
    write_register(store, month.start - timedelta(hours=1), month.end + timedelta(hours=1))
    store.close()
    return settings


def test_default_scheduler_closes_months_and_years_on_its_own(november_site):
    """A scheduler made from default settings has the day, month and year jobs, and its month
    job, run on 1 December 2026 at 02:07 local time (its cron time), closes November.

    Hand-worked: November has 30 days x 96 quarter hours x 10 kWh = 28,800 kWh; at the
    ``cn-mee-2023`` grid factor of 0.5306 kg CO2/kWh (MEE 2023 national average, the same
    factor behind the 960 kWh -> 0.509376 t day above) that is 28,800 x 0.5306 / 1000 =
    15.28128 t CO2 emitted by the line, and the same by its factory.
    """
    from ledger.scheduler import SCHEDULES, scheduler_from_settings
    from sitetime.clock import use_clock

    sched = scheduler_from_settings(november_site)
    sessions = sched.get_jobs()[0].args[0]
    try:
        jobs = {j.id: j for j in sched.get_jobs()}
        assert {"close-day", "close-month", "close-year"} <= set(jobs)
        assert str(jobs["close-month"].trigger) == "cron[day='1', hour='2', minute='7']"
        assert str(jobs["close-year"].trigger) == "cron[month='1', day='1', hour='6', minute='13']"
        assert SCHEDULES["month"] == {"day": 1, "hour": 2, "minute": 7}
        job = jobs["close-month"]
        november = Period.containing("month", date(2026, 11, 1), TZ)

        # before November has settled (2 h after its end) the job leaves it open
        early = november.end + timedelta(minutes=30)
        with use_clock(early):
            job.func(*job.args, **job.kwargs)
        with sessions() as s:
            months = statements(s, "line-a1", "month", november.start - timedelta(days=400), early)
        assert months and months[-1].period_end <= november.start

        # at the cron time, 1 December 02:07 local = 30 November 18:07 UTC, it closes November
        at = datetime(2026, 11, 30, 18, 7, tzinfo=UTC)
        assert at == november.end + timedelta(hours=2, minutes=7)
        with use_clock(at):
            results = job.func(*job.args, **job.kwargs)
        assert {(r.entity_id, r.outcome) for r in results if r.period == november} == {
            ("factory-a", "posted"),
            ("line-a1", "posted"),
        }
        with sessions() as s:
            for eid in ("line-a1", "factory-a"):
                [ps] = statements(s, eid, "month", november.start, november.end)
                assert ps.period_start == november.start
                assert ps.statement["activity"]["electricity_kwh"] == pytest.approx(28_800.0)
                assert ps.statement["emissions_t"] == {"electricity": pytest.approx(15.28128)}
    finally:
        sessions.kw["bind"].dispose()
