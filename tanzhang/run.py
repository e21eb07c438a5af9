"""``tanzhang run``: the whole system in one process group.

Start order (sinks before sources, stopped in reverse)::

    broker (embedded amqtt unless TANZHANG_MQTT_URL)
      └─ store (embedded SQLite unless TANZHANG_INFLUX_URL)
           └─ gateway (thread) ─ accounts DB ─ API + dashboards (thread)
                └─ simulators: back-fill history, then live (thread)
                     └─ catch-up closes of the history, then the scheduler

With nothing configured a fresh machine needs only pip. Ctrl-C (or SIGTERM) stops the
simulators first, then the scheduler and the API, then the gateway, which flushes and
acknowledges what it holds, then the broker: nothing acknowledged is lost.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sitetime import clock
from sitetime.calendar import site_calendar
from tanzhang.settings import Settings
from telemetry.redact import redact_url

#: what ``tanzhang run`` started: (name, stop callable), stopped in reverse
Started = list[tuple[str, Callable[[], object]]]

log = logging.getLogger(__name__)


class Progress:
    """A one-line progress bar on stderr (a plain log line when stderr is not a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, fraction: float, note: str = "") -> None:
        pct = int(max(0.0, min(fraction, 1.0)) * 100)
        if pct == self._last:
            return
        self._last = pct
        if self.tty:
            bar = "█" * (pct // 4) + "·" * (25 - pct // 4)
            sys.stderr.write(f"\r{self.label:<28} {bar} {pct:3d}% {note:<30}")
            if pct == 100:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif pct % 10 == 0:
            log.info("event=progress task=%r percent=%d %s", self.label, pct, note)


def _demo_key(settings: Settings) -> str | None:
    """The demo API key: the configured one, else one kept in the data folder (development only)."""
    if settings.environment != "development":
        return settings.demo_api_key
    if settings.demo_api_key:
        return settings.demo_api_key
    from access.keys import generate_key

    path = settings.data_dir / "demo_api_key"
    if path.exists():
        return path.read_text().strip()
    key = generate_key()[0]
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def _wait_drained(gateway_health: Any, quiet_s: float = 2.0, limit_s: float = 300) -> None:
    """Wait until the gateway holds nothing: spool empty, no message held, counters quiet.

    (``acked >= received`` is no test: redeliveries after a reconnect count as received twice.)
    """
    deadline = time.monotonic() + limit_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        health = gateway_health()
        spool = health["spool"]
        mark = (health["received"], health["acked"], health["readings_written"])
        if mark != last:
            last, since = mark, time.monotonic()
        elif (
            time.monotonic() - since >= quiet_s
            and not spool["batches"]
            and not spool["held_messages"]
        ):
            return
        time.sleep(0.25)
    log.warning("event=drain_timeout the gateway was still writing after %d s", limit_s)


def _default_history_days(today: date | None = None) -> int:
    """The demo's history [d]: all of last calendar year (its months and year close with full
    coverage, so labels and benchmarks exist) and each treated line's 365-day baseline before
    its intervention (:func:`simulators.fleet.demo_history_days`)."""
    from simulators.fleet import demo_history_days

    return demo_history_days(today or site_calendar().today())


def covered_closes(history_days: int, now: datetime) -> list[tuple[str, int]]:
    """``(kind, n)``: the number of whole days, months and years of the site calendar that lie
    inside a history of ``history_days`` ending at ``now`` — the only periods the demo closes
    at start (a period the history covers only in part would be credited for data it lacks)."""
    cal = site_calendar()
    # the back-fill starts ``history_days`` before ``now`` at now's time of day: the first
    # whole day is the next one
    first = cal.midnight(cal.local_date(now) - timedelta(days=history_days - 1))
    return [(kind, len(cal.periods_between(kind, first, now))) for kind in ("day", "month", "year")]


def main(settings: Settings, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tanzhang run", description="Run the whole system in one process group."
    )
    parser.add_argument(
        "--no-simulators",
        action="store_true",
        help="real devices only: no demo fleet; needs a real broker (TANZHANG_MQTT_URL)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=None,
        help="days of history to back-fill (demo; default: all of last calendar year and every "
        "line's 365-day baseline)",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the demo fleet")
    parser.add_argument(
        "--port", type=int, default=settings.api_port, help="API and dashboards port"
    )
    parser.add_argument("--host", default=settings.api_host)
    args = parser.parse_args(argv)
    if args.no_simulators and not settings.mqtt_url:
        # the embedded broker keeps what it acknowledged in memory only: never for devices
        print(
            "tanzhang run --no-simulators: real devices need a real MQTT broker; set "
            "TANZHANG_MQTT_URL (e.g. mosquitto, docs/deploy.md). The embedded broker keeps "
            "messages in memory only and loses what it holds when tanzhang stops.",
            file=sys.stderr,
        )
        return 2
    if args.history_days is None:
        args.history_days = _default_history_days()

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    started: Started = []
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.errors import database_problem
    from telemetry.store import StoreError

    try:
        return _run(settings, args, stop, started)
    except StoreError as exc:  # InfluxDB unreachable or refusing (its URL masked)
        print(f"tanzhang run: the telemetry store cannot be used: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"tanzhang run: {database_problem(settings.accounts_url, exc)}", file=sys.stderr)
        return 2
    finally:
        for name, stopper in reversed(started):
            try:
                stopper()
            except Exception as exc:  # keep stopping the rest
                log.warning("event=stop_failed part=%s error=%r", name, exc)
        print("tanzhang stopped.", file=sys.stderr)


def _run(
    settings: Settings, args: argparse.Namespace, stop: threading.Event, started: Started
) -> int:
    from gateway.service import build
    from ledger.book import ensure_accounts
    from ledger.closing import catch_up
    from ledger.db import make_engine, make_session_factory, upgrade
    from ledger.scheduler import make_scheduler
    from tanzhang.app import POOL, create_app
    from tanzhang.serve import ensure_demo_key, make_server, run_in_thread, stop_server
    from telemetry.registry import Registry
    from telemetry.stores import open_store_from_settings

    fleet = None
    if not args.no_simulators:
        from simulators.fleet import demo_fleet

        fleet = demo_fleet(args.seed, history_days=args.history_days, prefix=settings.mqtt_prefix)
        if not settings.registry_path.exists():
            settings.registry_path.parent.mkdir(parents=True, exist_ok=True)
            settings.registry_path.write_text(fleet.registry_toml())
            log.info("event=registry_written path=%s (demo fleet)", settings.registry_path)

    updates: dict[str, Any] = {}
    if not settings.mqtt_url:
        from tanzhang.embedded_broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        started.append(("broker", broker.stop))
        updates.update(mqtt_url=broker.url, mqtt_protocol="3.1.1")
    updates["demo_api_key"] = _demo_key(settings)
    settings = settings.model_copy(update=updates)

    store = open_store_from_settings(settings)
    store.ensure_ready()
    started.append(("store", store.close))

    agent = build(settings, store=store, http_port=settings.gateway_http_port or None)
    agent.start()
    started.append(("gateway", agent.stop))

    engine = make_engine(settings.accounts_url, **POOL)
    upgrade(engine)
    sessions = make_session_factory(engine)
    demo_key = ensure_demo_key(settings, engine)

    def entities() -> list[Any]:
        return list(Registry.load(settings.registry_path).entities.values())

    with sessions() as session:
        ensure_accounts(session, entities())
        session.commit()

    app = create_app(settings, store=store, engine=engine)
    server = make_server(app, args.host, args.port)
    run_in_thread(server)
    started.append(("api", lambda: stop_server(server)))
    base = f"http://{args.host}:{args.port}"

    sim_stop = threading.Event()
    backfilled = threading.Event()
    if fleet is not None:
        from simulators.runner import run_fleet

        bar = Progress("back-filling history")

        def on_progress(phase: str, fraction: float, sent: int) -> None:
            if phase == "backfill":
                bar(fraction, f"{sent} messages")

        sim = threading.Thread(
            target=run_fleet,
            args=(fleet, settings.mqtt_url),
            kwargs={
                "mode": "demo",
                "days": args.history_days,
                "stop": sim_stop,
                "progress": on_progress,
                "on_backfilled": lambda _end: backfilled.set(),
            },
            name="simulators",
            daemon=True,
        )
        sim.start()

        def stop_simulators() -> None:
            sim_stop.set()
            sim.join(15)

        started.append(("simulators", stop_simulators))
        while not backfilled.wait(0.5):
            if stop.is_set() or not sim.is_alive():
                break
        bar(1.0)
        _wait_drained(agent.health)

    older: list[Any] = []
    if not stop.is_set():
        closing = Progress("closing accounts")
        now = clock.now()
        kinds = covered_closes(args.history_days, now) if fleet else []
        # years and months first (labels, benchmarks), then the recent days; the older days
        # of the history are closed in the background after the banner (see _close_older_days)
        kinds = sorted(kinds, key=lambda kn: ("year", "month", "day").index(kn[0]))
        for i, (kind, backfill) in enumerate(kinds):
            closing(i / len(kinds), f"{kind} statements")
            n = min(backfill, RECENT_DAYS) if kind == "day" else backfill
            with sessions() as session:
                catch_up(session, store, entities(), kind, backfill=n, now=now)
            if kind == "day" and backfill > RECENT_DAYS:
                cal = site_calendar()
                today = cal.local_date(now)
                older = cal.days_between(
                    today - timedelta(days=backfill), today - timedelta(days=RECENT_DAYS + 1)
                )
        if kinds:
            closing(1.0)

        def start_scheduler() -> None:
            scheduler = make_scheduler(sessions, store, entities, run_at_start=True)
            scheduler.start()
            started.append(("scheduler", lambda: scheduler.shutdown(wait=False)))

        if older:
            threading.Thread(
                target=_close_older_days,
                args=(sessions, store, entities, older, stop, start_scheduler),
                name="history-close",
                daemon=True,
            ).start()
        else:
            start_scheduler()

    _banner(
        settings,
        base,
        demo_key,
        fleet is not None,
        embedded="mqtt_url" in updates,
        closing_days=len(older),
    )
    stop.wait()
    return 0


#: days of the history closed before the banner; older ones follow in the background
RECENT_DAYS = 31


def _close_older_days(
    sessions: Any, store: Any, entities: Any, periods: list[Any], stop: threading.Event,
    then: Any,
) -> None:  # fmt: skip
    """Close the history's older days (oldest first), then start the scheduler (one writer
    to the accounts database at a time). Logs ``event=history_closed`` when done."""
    from ledger.closing import close_entities

    started = time.monotonic()
    try:
        for period in periods:
            if stop.is_set():
                return
            with sessions() as session:
                close_entities(session, store, entities(), period, reason="history close")
        log.info(
            "event=history_closed days=%d seconds=%.1f", len(periods), time.monotonic() - started
        )
    finally:
        if not stop.is_set():
            then()


def _banner(
    settings: Settings,
    base: str,
    demo_key: str | None,
    simulating: bool,
    embedded: bool = False,
    closing_days: int = 0,
) -> None:
    mqtt = (
        f"{settings.mqtt_url}  (embedded, in memory: for the demo fleet only, not for devices)"
        if embedded
        else f"{redact_url(settings.mqtt_url)}  (topics {settings.mqtt_prefix}/<entity>/<device>/<channel>)"
    )
    lines = [
        "",
        "tanzhang 碳账 is running" + (" with a simulated demo fleet" if simulating else ""),
        f"  dashboards      {base}/dashboards/",
        f"  API docs        {base}/docs",
        f"  MQTT            {mqtt}",
        f"  gateway health  http://127.0.0.1:{settings.gateway_http_port}/health",
        f"  data folder     {Path(settings.data_dir).resolve()}",
    ]
    if demo_key:
        lines.append(f"  demo API key    {demo_key}   (read-only operator; development only)")
    if closing_days:
        lines.append(
            f"  history         {closing_days} older days are being closed in the background "
            "(balances fill in over the next minute; the log says history_closed when done)"
        )
    lines += ["Press Ctrl-C to stop.", ""]
    print("\n".join(lines), file=sys.stderr, flush=True)
