"""Accounting benchmark: closing a day for 10,000 entities and a year for 1,000.

    python -m bench.accounting.run [--entities 10000] [--store influx|sqlite] [--quick]
                                   [--profile] [--json out.json]

Starts its own influxd (tests/servers.py, temporary folder, free port) or uses an SQLite
telemetry file, writes synthetic hourly telemetry (:mod:`bench.accounting.data`) for

* **day**: one local day (Asia/Shanghai) of ``--entities`` entities;
* **year**: one local year (2025) of ``--entities / 10`` entities;

then, for each case, in separate processes (:mod:`bench.accounting.measure`):

1. **floor**: the store queries alone, one call per field for all entities;
2. **close**: :func:`ledger.closing.close_entities` into a fresh SQLite ledger, wall time
   split into query / compute / post, and peak resident memory.

Prints a Markdown table with the ratio of each close to its floor. ``--quick``: 500 and 50
entities, for a smoke test.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.accounting.measure import CASES, TZ, run_phase

ROOT = Path(__file__).resolve().parents[2]


def write_case(store_kind: str, target: str, case: str, n: int) -> dict[str, Any]:
    """Write the case's telemetry and events; the count and the write time."""
    from bench.accounting import data
    from ledger.periods import Period

    entities = data.fleet(n)
    period = Period.containing(case, CASES[case], TZ)
    start, end = int(period.start.timestamp() * 1000), int(period.end.timestamp() * 1000)
    evs = data.events(entities, start, end)
    t0 = time.perf_counter()
    if store_kind == "influx":
        from telemetry.influx import InfluxStore

        store = InfluxStore(target, db=f"bench_{case}", retention=None, max_lines=50_000)
        store.ensure_ready()
        store.write_lines(data.reading_lines(entities, start, end))
        store.write(events=evs)
    else:
        from telemetry.sqlite import SqliteStore

        store = SqliteStore(
            Path(target) / f"telemetry-{case}.sqlite", retention=None, synchronous="OFF"
        )
        store.ensure_ready()
        batch = []
        for r in data.readings(entities, start, end):
            batch.append(r)
            if len(batch) >= 50_000:
                store.write(readings=batch)
                batch = []
        store.write(readings=batch, events=evs)
    store.close()
    return {
        "entities": n,
        "values": data.points(entities, start, end),
        "events": len(evs),
        "write_s": time.perf_counter() - t0,
    }


def child(phase: str, case: str, n: int, args: argparse.Namespace, target: str, work: Path) -> dict:
    cmd = [
        sys.executable, "-m", "bench.accounting.run", "--phase", phase, "--case", case,
        "--n", str(n), "--store", args.store, "--target", target, "--workdir", str(work),
    ]  # fmt: skip
    if args.profile and phase == "close":
        cmd += ["--profile-out", str(work / f"close-{case}.prof")]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{phase} {case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    import numpy
    import sqlalchemy

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    influxd = subprocess.run(["influxd", "version"], capture_output=True, text=True).stdout
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu,
        "load_before": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": __import__("sqlite3").sqlite_version,
        "influxd": influxd.strip(),
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        "| case | entities | values read | raw HTTP, unparsed [s] | floor: query only [s] (client CPU) | "
        "close total [s] | "
        "query [s] (client CPU) | compute [s] | post [s] | close / floor | peak RSS close [MiB] | "
        "peak RSS floor [MiB] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, r in results["cases"].items():
        f, c = r["floor"], r["close"]
        raw = f"{f['raw_http_s']:.2f}" if "raw_http_s" in f else "–"
        rows.append(
            f"| {case} | {r['write']['entities']:,} | {f['values']:,} | {raw} | {f['query_s']:.2f} ({f['client_cpu_s']:.1f}) | "
            f"{c['total_s']:.2f} | {c['query_s']:.2f} ({c['query_client_cpu_s']:.1f}) | {c['compute_s']:.2f} | "
            f"{c['post_s']:.2f} | {c['total_s'] / f['query_s']:.1f} | {c['rss_peak_mb']:.0f} | "
            f"{f['rss_peak_mb']:.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entities", type=int, default=10_000, help="entities of the day case")
    p.add_argument("--year-entities", type=int, default=None, help="default: entities / 10")
    p.add_argument("--store", choices=("influx", "sqlite"), default="influx")
    p.add_argument("--quick", action="store_true", help="500 and 50 entities")
    p.add_argument("--profile", action="store_true", help="cProfile each close (.prof, .txt)")
    p.add_argument("--cases", default="day,year", help="which cases, comma-separated")
    p.add_argument("--json", type=Path, help="write the results here too")
    p.add_argument("--phase", choices=("floor", "close"), help=argparse.SUPPRESS)
    p.add_argument("--case", choices=tuple(CASES), help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--target", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.phase:
        run_phase(args)
        return
    n_day = 500 if args.quick else args.entities
    n_year = 50 if args.quick else (args.year_entities or max(10, n_day // 10))
    work = Path(tempfile.mkdtemp(prefix="tanzhang-bench-acct-"))
    results: dict[str, Any] = {"machine": machine(), "store": args.store, "cases": {}}
    server = None
    if args.store == "influx":
        from tests.servers import Influxd

        server = Influxd(work / "influxd").start()
        target = server.url
    else:
        target = str(work)
    try:
        wanted = args.cases.split(",")
        for case, n in (c for c in (("day", n_day), ("year", n_year)) if c[0] in wanted):
            w = write_case(args.store, target, case, n)
            print(f"{case}: wrote {w['values']:,} values in {w['write_s']:.1f} s", flush=True)
            time.sleep(2)  # let influxd settle its write-ahead log before reading
            r = {"write": w}
            r["floor"] = child("floor", case, n, args, target, work)
            print(f"{case}: floor {r['floor']['query_s']:.2f} s", flush=True)
            r["close"] = child("close", case, n, args, target, work)
            print(
                f"{case}: close {r['close']['total_s']:.2f} s {r['close']['outcomes']}", flush=True
            )
            results["cases"][case] = r
    finally:
        if server:
            server.stop()
        for item in work.iterdir():  # the data; keep only the profiles
            if item.suffix not in (".prof", ".txt"):
                shutil.rmtree(item) if item.is_dir() else item.unlink()
    results["machine"]["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    print(json.dumps(results, indent=1))
    print(table(results))
    if args.profile:
        print(f"profiles in {work}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
