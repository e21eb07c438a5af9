"""Command line of the simulators (``tanzhang simulate`` calls :func:`main`).

Examples::

    tanzhang simulate --registry-out registry.toml            # write the demo registry
    tanzhang simulate --mode backfill --days 365              # a year, hourly, as batches
    tanzhang simulate --mode live --days 1 --speed 60         # replay the last day in 24 min
    tanzhang simulate --mode demo                             # back-fill, then live
    tanzhang simulate --mode load --readings 100000 --devices 50 --processes 2
    tanzhang simulate --mode backfill --days 2 --dry-run | head   # JSON lines, no MQTT
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

from simulators.faults import FAULTS, parse_faults
from simulators.fleet import demo_fleet
from simulators.load import load_messages, load_registry_toml, run_load
from simulators.messages import (
    DEFAULT_PREFIX,
    Message,
    encode,
    local_date,
    now_ms,
    parse_time,
)
from simulators.publisher import PublishError, PublishStats, publish
from simulators.runner import run_fleet

MODES = ("backfill", "live", "demo", "load")  # the first three: simulators.runner


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tanzhang simulate",
        description="Simulated factories, huyou orchards and a forest plot publishing over MQTT.",
    )
    p.add_argument(
        "--mqtt-url",
        default=os.environ.get("TANZHANG_MQTT_URL", "mqtt://127.0.0.1:1883"),
        help="mqtt://user:pass@host:port (default: $TANZHANG_MQTT_URL or localhost:1883)",
    )
    p.add_argument("--mode", choices=MODES, default="backfill")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--start",
        help="first simulated instant: ISO date (local midnight, UTC+8) or RFC 3339; "
        "default: --days before now (backfill, demo) or now (live)",
    )
    p.add_argument("--days", type=float, default=None, help="length [d]; backfill default 365")
    p.add_argument("--step", type=int, default=None, help="reading interval [s]")
    p.add_argument("--live-step", type=int, default=10, help="live reading interval [s]")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="live acceleration factor; readings are never sent before their time, so with "
        "--speed > 1 and --days but no --start, live replays the last --days up to now",
    )
    p.add_argument("--faults", default="", help=f"comma list of {','.join(FAULTS)} or all")
    p.add_argument("--prefix", default=DEFAULT_PREFIX)
    p.add_argument("--no-batch", action="store_true", help="back-fill single readings")
    p.add_argument("--registry-out", help="write the fleet's registry TOML to this path")
    p.add_argument(
        "--passwords",
        choices=("hash", "plain", "none"),
        default="hash",
        help="device credentials in the written registry",
    )
    p.add_argument("--dry-run", action="store_true", help="print topic<TAB>payload lines")
    p.add_argument("--readings", type=int, default=100_000, help="load: total readings")
    p.add_argument("--devices", type=int, default=50, help="load: number of devices")
    p.add_argument("--processes", type=int, default=1, help="load: parallel publishers")
    p.add_argument("--engine", choices=("paho", "mosquitto_pub"), default="paho")
    p.add_argument("--batch-size", type=int, default=1, help="load: readings per payload")
    p.add_argument("--quiet", action="store_true")
    return p


def _progress_bar(phase: str, frac: float, sent: int) -> None:
    bar = "#" * int(frac * 30)
    print(f"\r{phase:<8} [{bar:<30}] {frac:6.1%} {sent:>8} messages", end="", file=sys.stderr)
    if frac >= 1.0:
        print(file=sys.stderr)


def _print_messages(messages: Iterable[Message], mqtt_url: str, **kw: Any) -> PublishStats:
    """Stand-in for :func:`publish` with --dry-run: topic<TAB>payload lines on stdout."""
    stats = PublishStats()
    out = sys.stdout
    stop = kw.get("stop")
    try:
        for m in itertools.chain(kw.get("initial", ()), messages, kw.get("final", ())):
            if stop is not None and stop.is_set():
                break
            out.write(f"{m.topic}\t{encode(m.payload).decode(errors='replace')}\n")
            stats.messages += 1
        out.flush()
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return stats


def main(argv: list[str] | None = None) -> int:
    """Run the simulators; returns a process exit code."""
    args = build_parser().parse_args(argv)
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    now = now_ms()
    if args.mode == "load":
        if args.registry_out:
            with open(args.registry_out, "w", encoding="utf-8") as fh:
                fh.write(load_registry_toml(args.devices))
        if args.dry_run:
            msgs = load_messages(args.readings, args.devices, batch_size=args.batch_size)
            _print_messages(msgs, args.mqtt_url)
            return 0
        try:
            stats = run_load(
                args.mqtt_url,
                args.readings,
                args.devices,
                processes=args.processes,
                engine=args.engine,
                batch_size=args.batch_size,
                prefix=args.prefix,
            )
        except (PublishError, RuntimeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(
            json.dumps(
                {
                    "readings": stats.readings,
                    "messages": stats.messages,
                    "seconds": round(stats.seconds, 3),
                    "readings_per_s": round(stats.rate, 1),
                }
            )
        )
        return 0

    days = args.days
    start = parse_time(args.start) if args.start else None
    if args.mode == "demo" and start is not None:
        print("error: --start does not apply to --mode demo (it ends now)", file=sys.stderr)
        return 2
    span_ms = int((days if days is not None else 365.0) * 86_400_000)
    if args.mode == "live" and start is None and days and args.speed > 1:
        start = now - span_ms  # replay the last --days accelerated, ending now
    if args.mode == "live":
        today = local_date(start if start is not None else now)
    else:
        today = local_date(start + span_ms if start is not None else now)
    fleet = demo_fleet(
        args.seed,
        today=today,
        history_days=max(int(days or 0), 365),
        prefix=args.prefix,
    )
    if args.registry_out:
        with open(args.registry_out, "w", encoding="utf-8") as fh:
            fh.write(fleet.registry_toml(passwords=args.passwords))
        if not args.quiet:
            print(f"registry written to {args.registry_out}", file=sys.stderr)
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        run_fleet(
            fleet,
            args.mqtt_url,
            mode=args.mode,
            start_ms=start,
            days=days,
            step_s=args.step,
            live_step_s=args.live_step,
            speed=args.speed,
            faults=faults,
            batch=not args.no_batch,
            stop=stop,
            progress=None if args.quiet else _progress_bar,
            publish_fn=_print_messages if args.dry_run else publish,
        )
    except PublishError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
