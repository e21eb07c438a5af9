"""Command line of the simulators (``tanzhang simulate`` calls :func:`main`).

Examples::

    tanzhang simulate --registry-out registry.toml            # write the demo registry
    tanzhang simulate --mode backfill --days 365              # a year, hourly, as batches
    tanzhang simulate --mode live --speed 60 --faults dup,ooo # live, one minute per second
    tanzhang simulate --mode demo                             # back-fill, then live
    tanzhang simulate --mode load --readings 100000 --devices 50 --processes 2
    tanzhang simulate --mode backfill --days 2 --dry-run | head   # JSON lines, no MQTT
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator

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
from simulators.publisher import PublishError, publish

MODES = ("backfill", "live", "demo", "load")


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
    p.add_argument("--speed", type=float, default=1.0, help="live acceleration factor")
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


def _progress(start: int, end: int, quiet: bool):  # noqa: ANN202
    def show(sent: int, ts: int | None) -> None:
        if quiet:
            return
        frac = 1.0 if ts is None else min(max((ts - start) / max(end - start, 1), 0.0), 1.0)
        bar = "#" * int(frac * 30)
        print(f"\r[{bar:<30}] {frac:6.1%} {sent:>8} messages", end="", file=sys.stderr)
        if ts is None:
            print(file=sys.stderr)

    return show


def _dry_run(messages: Iterator[Message]) -> int:
    out = sys.stdout
    try:
        for m in messages:
            out.write(f"{m.topic}\t{encode(m.payload).decode(errors='replace')}\n")
        out.flush()
    except BrokenPipeError:  # e.g. piped into head
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


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
            return _dry_run(msgs)
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

    days = args.days if args.days is not None else (365.0 if args.mode != "live" else None)
    if args.start:
        start = parse_time(args.start)
    elif args.mode == "live":
        start = now
    else:
        start = now - int((days or 0) * 86_400_000)
    history_end = start + int(days * 86_400_000) if days is not None else None
    today = local_date(history_end if history_end and args.mode != "live" else now)
    fleet = demo_fleet(
        args.seed,
        today=today,
        history_days=int(days or 365),
        prefix=args.prefix,
    )
    if args.registry_out:
        with open(args.registry_out, "w", encoding="utf-8") as fh:
            fh.write(fleet.registry_toml(passwords=args.passwords))
        if not args.quiet:
            print(f"registry written to {args.registry_out}", file=sys.stderr)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def run(messages: Iterator[Message], lo: int, hi: int, speed: float | None, **kw) -> None:  # noqa: ANN003
        if args.dry_run:
            _dry_run(messages)
            return
        publish(
            messages,
            args.mqtt_url,
            speed=speed,
            start_ms=lo if speed else None,
            progress=_progress(lo, hi, args.quiet),
            stop=stop,
            **kw,
        )

    try:
        online = fleet.status_messages("online")
        offline = fleet.status_messages("offline")
        if args.mode in ("backfill", "demo"):
            end = history_end if history_end is not None else now
            step = args.step or 3600
            msgs = fleet.messages(start, end, step, faults=faults, batch=not args.no_batch)
            run(
                msgs,
                start,
                end,
                None,
                initial=online,
                final=offline if args.mode == "backfill" else (),
            )
        if args.mode in ("live", "demo") and not stop.is_set():
            lo = start if args.mode == "live" else (history_end or now)
            hi = lo + int(days * 86_400_000) if args.mode == "live" and days else None
            step = (args.step or args.live_step) if args.mode == "live" else args.live_step
            msgs = fleet.messages(lo, hi, step, faults=faults)
            initial = online if args.mode == "live" else ()
            run(msgs, lo, hi or lo + 86_400_000, args.speed, initial=initial, final=offline)
        elif args.mode == "demo" and not args.dry_run:
            publish([], args.mqtt_url, final=offline)  # stopped during the back-fill
    except PublishError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
