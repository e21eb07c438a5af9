"""``tanzhang close``: close or restate accounting periods by hand.

::

    tanzhang close --entity orchard-1 --period day --date 2026-11-01
    tanzhang close --entity factory-a --period month --date 2026-11 --restate
    tanzhang close --period day --catch-up            # every entity, every missed day

Without ``--restate`` a period that already has a statement is left alone (and reported);
with it the statement is recomputed from the store and posted: unchanged figures are a
no-op, changed ones a restatement that keeps the earlier version in the audit trail.
A factory is closed with its lines (its statement is their roll-up).

The telemetry store is made ready first, as the gateway does (InfluxDB 1.x: ``CREATE
DATABASE``, idempotent, and the retention policy), so a close before any gateway ran finds an
empty database rather than none. When the store is unreachable, or the database is missing
and the user may not create it, one line on standard error says so.

Exit status: 0 when every close succeeded, 1 when one failed (or the store failed during the
closes), 2 for a usage error or an accounts database or telemetry store that cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from accounting.periods import DEFAULT_TZ
from ledger.book import ensure_accounts, statements
from ledger.closing import DEFAULT_FACTOR_SET, CloseResult, catch_up, close_entities
from ledger.errors import AccountsError
from ledger.periods import PERIOD_KINDS, Period

_FORMATS = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def parse_period(kind: str, text: str, tz: str) -> Period:
    """``2026-11-01T08`` (hour), ``2026-11-01`` (day), ``2026-11`` (month), ``2026`` (year),
    read in ``tz``; a full date is accepted for any kind (the period containing it)."""
    from zoneinfo import ZoneInfo

    for fmt in (_FORMATS[kind], "%Y-%m-%d"):
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return Period.containing(kind, naive.replace(tzinfo=ZoneInfo(tz)), tz)
    raise ValueError(
        f"--date {text!r} is not a {kind}: write it like "
        f"{datetime(2026, 11, 1, 8).strftime(_FORMATS[kind])}"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tanzhang close", description="Close or restate accounting periods by hand."
    )
    p.add_argument(
        "--entity", action="append", default=[], help="entity id (repeatable; default: all)"
    )
    p.add_argument(
        "--period", choices=PERIOD_KINDS, default="day", help="period kind (default day)"
    )
    p.add_argument("--date", help="the period: 2026-11-01T08 | 2026-11-01 | 2026-11 | 2026")
    p.add_argument("--restate", action="store_true", help="recompute periods already closed")
    p.add_argument("--catch-up", action="store_true", help="close every missed period up to now")
    p.add_argument(
        "--tz", default=DEFAULT_TZ, help=f"time zone of the period (default {DEFAULT_TZ})"
    )
    p.add_argument("--factor-set", default=DEFAULT_FACTOR_SET, help="name or name@version")
    return p


def _select(registry: Any, ids: Sequence[str]) -> list[Any]:
    ents = registry.entities
    if not ids:
        return list(ents.values())
    unknown = [i for i in ids if i not in ents]
    if unknown:
        raise ValueError(f"unknown entity {unknown[0]!r}: see 'tanzhang registry list'")
    chosen = {i: ents[i] for i in ids}
    for e in list(chosen.values()):
        if e.kind == "factory":  # its statement is the roll-up of its lines
            chosen.update({c.id: c for c in registry.children(e.id)})
    return list(chosen.values())


def _label(period: Period, tz: str) -> str:
    """The period as people name it in ``tz``: 2026-11-01T08, 2026-11-01, 2026-11, 2026."""
    from zoneinfo import ZoneInfo

    return period.start.astimezone(ZoneInfo(tz)).strftime(_FORMATS[period.kind])


def _print(r: CloseResult, tz: str) -> None:
    where = f"{r.entity_id} {r.period.kind} {_label(r.period, tz)}"
    if r.outcome == "failed":
        print(f"{where}: FAILED {r.error}", file=sys.stderr)
    else:
        print(f"{where}: {r.outcome} v{r.version} net {r.net_t:+.6f} t CO2e")


def _line(exc: BaseException) -> str:
    """An error's message on one line."""
    return " ".join(str(exc).split()) or repr(exc)


def close_main(settings: Any, argv: Sequence[str]) -> int:
    """Entry point of ``tanzhang close`` (called by :mod:`tanzhang.cli`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.db import make_engine, make_session_factory, upgrade
    from ledger.errors import database_problem
    from ledger.migrations import MigrationError
    from telemetry.registry import Registry
    from telemetry.store import StoreError
    from telemetry.stores import open_store_from_settings

    argv = list(argv)
    if argv[:1] == ["--"]:  # "tanzhang close -- --entity ..." passes the separator through
        argv = argv[1:]
    args = _parser().parse_args(argv)
    if bool(args.date) == bool(args.catch_up):
        print("tanzhang close: give either --date or --catch-up", file=sys.stderr)
        return 2
    try:
        registry = Registry.load(settings.registry_path)
        ents = _select(registry, args.entity)
        period = None if args.catch_up else parse_period(args.period, args.date, args.tz)
    except (ValueError, OSError) as exc:
        print(f"tanzhang close: {exc}", file=sys.stderr)
        return 2
    # the store first: a close that cannot read telemetry creates no accounts database
    store = open_store_from_settings(settings)
    try:
        store.ensure_ready()  # what the gateway does at start: creates the database
    except StoreError as exc:
        store.close()
        print(f"tanzhang close: the telemetry store cannot be used: {_line(exc)}", file=sys.stderr)
        return 2
    engine = make_engine(settings.accounts_url)
    try:
        upgrade(engine)
    except (SQLAlchemyError, MigrationError) as exc:
        engine.dispose()
        store.close()
        print(f"tanzhang close: {database_problem(settings.accounts_url, exc)}", file=sys.stderr)
        return 2
    try:
        with make_session_factory(engine)() as session:
            ensure_accounts(session, list(registry.entities.values()))
            if period is None:
                results = catch_up(
                    session, store, ents, args.period, tz=args.tz, factor_set=args.factor_set
                )
            else:
                todo = ents
                if not args.restate:
                    todo = []
                    for e in ents:
                        done = statements(session, e.id, period.kind, period.start, period.end)
                        if done and done[0].period_start == period.start:
                            print(
                                f"{e.id} {period.kind} {_label(period, args.tz)}: already "
                                f"closed (v{done[0].version}); --restate to recompute"
                            )
                        else:
                            todo.append(e)
                    # a factory's roll-up needs its lines (posting them again is a no-op)
                    factories = {e.id for e in todo if e.kind == "factory"}
                    todo += [e for e in ents if e.parent in factories and e not in todo]
                session.rollback()
                results = (
                    close_entities(
                        session,
                        store,
                        todo,
                        period,
                        reason="manual restatement" if args.restate else "manual close",
                        factor_set=args.factor_set,
                        tz=args.tz,
                    )
                    if todo
                    else []
                )
    except (AccountsError, StoreError) as exc:
        print(f"tanzhang close: {_line(exc)}", file=sys.stderr)
        return 1
    finally:
        store.close()
        engine.dispose()
    for r in results:
        _print(r, args.tz)
    return 1 if any(r.outcome == "failed" for r in results) else 0


__all__ = ["close_main", "parse_period"]
