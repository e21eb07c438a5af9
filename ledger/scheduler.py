"""Scheduled closes: APScheduler 3 ``BackgroundScheduler`` with hour, day, month and year jobs.

Each job is :func:`ledger.closing.catch_up` over the registry's entities, so it is
idempotent and closes everything missed while the process was down. Jobs run once at start
(:class:`AtStartThenCron`: APScheduler's own clock picks that first run time, so a shifted
``TANZHANG_NOW`` clock never makes it look "missed") and then on their cron schedule in the
programme's time zone:

==========  =========================  =============================================
job id      when (local time)          what
==========  =========================  =============================================
close-hour  every hour at minute 11    hour statements (live pages), last 2 re-checked
close-day   every day at 00:31         day statements (the booking period), last 3 re-checked
close-month the 1st at 02:07           month statements (labels, benchmarks), last 1 re-checked
close-year  1 January at 06:13         year statements (orchard labels, factory benchmarks)
==========  =========================  =============================================

Hour statements are memos (they post no ledger entries: the booking period is the day) and
are deleted after :data:`MEMO_RETENTION` (14 days) by the hourly job; at 10,000 entities
they are 240,000 rows a day.

All four are in the default ``kinds`` (:data:`DEFAULT_KINDS`), so a site gets its month
and year statements -- which the labels and the factory benchmarks read -- without cron. The
month and year jobs read a whole month or year of raw telemetry per entity; they run once a
month / once a year (plus once at start, where catch-up finds nothing new to close except the
``lookback`` re-check of the last month, :data:`ledger.closing.DEFAULT_LOOKBACK`). Pass a
narrower ``kinds`` to :func:`make_scheduler` to leave them to another process.

Job options: ``coalesce=True`` (runs missed while the process was suspended collapse into
one; catch-up does the rest), ``max_instances=1`` (a slow close is never run twice at once
in one process), ``misfire_grace_time`` one hour. Several processes may host the scheduler
(one per API replica): on PostgreSQL a job takes a session advisory lock and a replica that
finds it taken skips the run; on SQLite (one machine) the per-account serialization of the
ledger keeps concurrent runs correct.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accounting.periods import DEFAULT_TZ
from ledger.book import ensure_accounts, purge_memo_statements
from ledger.closing import DEFAULT_FACTOR_SET, CloseResult, catch_up
from ledger.models import utcnow
from telemetry.store import StoreError, TelemetryStore

log = logging.getLogger(__name__)

#: cron fields of each job, in the scheduler's time zone
SCHEDULES: dict[str, dict[str, Any]] = {
    "hour": {"minute": 11},
    "day": {"hour": 0, "minute": 31},
    "month": {"day": 1, "hour": 2, "minute": 7},
    "year": {"month": 1, "day": 1, "hour": 6, "minute": 13},
}
#: period kinds a scheduler closes unless told otherwise (docs/ledger.md, "Scheduled closes")
DEFAULT_KINDS: tuple[str, ...] = ("hour", "day", "month", "year")
MISFIRE_GRACE_S = 3600
#: memo statements (not booked) of these kinds are deleted when older than this
MEMO_RETENTION: dict[str, timedelta] = {"hour": timedelta(days=14)}


class AtStartThenCron(BaseTrigger):
    """Fire once as soon as the scheduler starts, then on ``cron``.

    The first fire time is the ``now`` APScheduler passes in (its own reading of the machine
    clock when the job is added to a running scheduler), not :func:`sitetime.clock.now`: the
    scheduler's timing runs on the machine clock, and a ``TANZHANG_NOW`` offset clock would
    otherwise make the start-up run hours "late" (``Run time of job ... was missed by``). The
    closes themselves read the product's clock (``catch_up(now=None)``).
    """

    def __init__(self, cron: CronTrigger) -> None:
        self.cron = cron

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return now
        return self.cron.get_next_fire_time(previous_fire_time, now)

    def __str__(self) -> str:
        return str(self.cron)

    def __repr__(self) -> str:
        return f"<AtStartThenCron ({self.cron!r})>"


def run_close_job(
    sessions: sessionmaker[Session],
    store: TelemetryStore,
    entities: Callable[[], Iterable[Any]],
    kind: str,
    *,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
    factor_set: str = DEFAULT_FACTOR_SET,
) -> list[CloseResult] | None:
    """One scheduled close: sync accounts with the registry, then catch up ``kind``.

    Returns the results, or None when another process holds this job's lock (PostgreSQL).
    A telemetry store that fails (InfluxDB down) stops the run with one warning line (no
    traceback); the next run catches up.
    """
    ents = list(entities())
    engine = sessions.kw["bind"]
    lock_conn = None
    if engine.dialect.name == "postgresql":
        lock_conn = engine.connect()
        key = zlib.crc32(f"tanzhang.close.{kind}".encode())
        if not lock_conn.scalar(select(func.pg_try_advisory_lock(key))):
            lock_conn.close()
            log.info("close-%s: another process is running it; skipped", kind)
            return None
    try:
        with sessions() as session:
            if ents:
                ensure_accounts(session, ents)
            try:
                # as the gateway and `tanzhang close` do: the store's database is made when
                # missing, so a scheduler started before any gateway still closes
                store.ensure_ready()
                results = catch_up(
                    session, store, ents, kind, now=now, tz=tz, factor_set=factor_set
                )
            except StoreError as exc:
                log.warning(
                    "close-%s stopped: the telemetry store failed (the next run catches up): %s",
                    kind,
                    exc,
                )
                return []
            if kind in MEMO_RETENTION:
                cutoff = (now or utcnow()) - MEMO_RETENTION[kind]
                n = purge_memo_statements(session, kind, cutoff)
                if n:
                    log.info("close-%s: deleted %d memo statements before %s", kind, n, cutoff)
        for r in results:
            if r.outcome == "failed":
                log.warning("close-%s %s %s failed: %s", kind, r.entity_id, r.period, r.error)
        return results
    finally:
        if lock_conn is not None:
            lock_conn.scalar(select(func.pg_advisory_unlock(key)))
            lock_conn.close()


def make_scheduler(
    sessions: sessionmaker[Session],
    store: TelemetryStore,
    entities: Callable[[], Iterable[Any]],
    *,
    kinds: Sequence[str] = DEFAULT_KINDS,
    tz: str = DEFAULT_TZ,
    factor_set: str = DEFAULT_FACTOR_SET,
    run_at_start: bool = True,
    misfire_grace_s: int = MISFIRE_GRACE_S,
) -> BackgroundScheduler:
    """A (not yet started) scheduler with one close job per period kind.

    Parameters
    ----------
    sessions : sessionmaker
        Of the accounts database (:func:`ledger.db.make_session_factory`).
    store : TelemetryStore
    entities : callable
        Returns the entities to close (registry entities or dicts); called on every run, so
        a reloaded registry is picked up.
    kinds : sequence of str
        Period kinds to close (default :data:`DEFAULT_KINDS`: hour, day, month, year); a kind without an entry in :data:`SCHEDULES` raises KeyError.
    tz : str
        Time zone of the cron schedule and of the period boundaries.
    run_at_start : bool
        Run every job once as soon as the scheduler starts (catch up after downtime).
    """
    sched = BackgroundScheduler(
        timezone=tz,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": misfire_grace_s,
        },
    )
    for kind in kinds:
        cron = CronTrigger(timezone=tz, **SCHEDULES[kind])
        sched.add_job(
            run_close_job,
            AtStartThenCron(cron) if run_at_start else cron,
            args=(sessions, store, entities, kind),
            kwargs={"tz": tz, "factor_set": factor_set},
            id=f"close-{kind}",
            name=f"close {kind} periods",
            replace_existing=True,
        )
    return sched


def scheduler_from_settings(
    settings: Any,
    *,
    store: TelemetryStore | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> BackgroundScheduler:
    """:func:`make_scheduler` for ``tanzhang.settings.Settings`` (duck-typed).

    The registry file is re-read on every run; the store and the accounts database are
    the configured ones unless given.
    """
    from ledger.db import make_engine, make_session_factory, upgrade
    from telemetry.registry import Registry
    from telemetry.stores import open_store_from_settings

    if sessions is None:
        engine = make_engine(settings.accounts_url)
        upgrade(engine)
        sessions = make_session_factory(engine)
    if store is None:
        store = open_store_from_settings(settings)
    path = settings.registry_path

    def entities() -> list[Any]:
        return list(Registry.load(path).entities.values())

    return make_scheduler(sessions, store, entities)


def scheduler_main(settings: Any, argv: Sequence[str] = ()) -> int:
    """``tanzhang scheduler``: run the close jobs until interrupted (SIGINT/SIGTERM).

    Exit status 0 when stopped, 2 when the accounts database cannot be opened (one line on
    standard error, its password masked).
    """
    import argparse
    import signal
    import sys
    import threading

    from sqlalchemy.exc import SQLAlchemyError

    from ledger.errors import database_problem

    argparse.ArgumentParser(
        prog="tanzhang scheduler",
        description="Run the scheduled accounting closes (hour, day, month and year jobs, "
        "each a catch-up at start and then on its cron schedule) until SIGINT or SIGTERM; "
        "for a site whose API runs with --no-scheduler. Settings: TANZHANG_DATABASE_URL, "
        "TANZHANG_INFLUX_*, TANZHANG_REGISTRY.",
    ).parse_args(list(argv))
    try:
        sched = scheduler_from_settings(settings)
    except SQLAlchemyError as exc:
        print(
            f"tanzhang scheduler: {database_problem(settings.accounts_url, exc)}", file=sys.stderr
        )
        return 2
    log.info(
        "event=scheduler_settings %s",
        " ".join(f"{k}={v}" for k, v in settings.describe().items()),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sched.start()
    log.info("scheduler started: %s", ", ".join(j.id for j in sched.get_jobs()))
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sched.shutdown(wait=True)
    return 0
