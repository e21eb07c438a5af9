"""One measured phase of the accounting benchmark, run in its own process.

Each phase runs in a fresh interpreter so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own and not the data generator's.

``floor``  the store queries alone: ``series()`` of the two register fields the fleet has
           (``energy_kwh_total``, ``output_units_total``) and ``events()`` of the period, each
           ONE call for all entities: the raw limit of the store.
``close``  :func:`ledger.closing.close_entities` for all entities into a fresh SQLite
           ledger, split into query (time inside the store's methods), post (time inside
           :func:`ledger.book.post_statements`) and compute (the rest: activity data,
           statements, roll-ups, statement dicts).
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

CASES = {"day": date(2026, 11, 1), "year": date(2025, 1, 1)}
TZ = "Asia/Shanghai"


def rss_mb() -> float:
    """Peak resident memory of this process so far [MiB].

    ``VmHWM`` of /proc/self/status: unlike ``ru_maxrss``, which Linux carries over from the
    parent through fork and exec (so a child would inherit the data generator's peak), the
    high-water mark belongs to this program's own address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def raw_http(url: str, db: str, field: str, start_ms: int, end_ms: int, ids: list[str]) -> int:
    """Run the InfluxQL of ``InfluxStore.series(field, ..., previous=True)`` and read the
    chunked answer without parsing it: the server's own time plus transfer. Bytes read."""
    import httpx

    from telemetry.influx_lines import quote_ident, where_in

    f, cond = quote_ident(field), where_in("entity", ids)
    q = (
        f"SELECT {f} FROM telemetry WHERE time >= {start_ms * 1_000_000} "
        f"AND time < {end_ms * 1_000_000}{cond} GROUP BY entity, device;"
        f"SELECT last({f}) FROM telemetry WHERE time < {start_ms * 1_000_000}{cond} "
        "GROUP BY entity, device"
    )
    params = {"db": db, "epoch": "ms", "chunked": "true", "chunk_size": "20000"}
    n = 0
    with (
        httpx.Client(base_url=url, timeout=600) as client,
        client.stream("POST", "/query", params=params, data={"q": q}) as resp,
    ):
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            n += len(chunk)
    return n


def open_bench_store(store: str, target: str, case: str) -> Any:
    if store == "influx":
        from telemetry.influx import InfluxStore

        return InfluxStore(target, db=f"bench_{case}", retention=None, timeout_s=600.0)
    from telemetry.sqlite import SqliteStore

    return SqliteStore(Path(target) / f"telemetry-{case}.sqlite", retention=None)


class TimedStore:
    """Delegates to a store and adds the wall time of every call to ``seconds``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.seconds = 0.0
        self.cpu_s = 0.0
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def timed(*a: Any, **kw: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return attr(*a, **kw)
            finally:
                self.seconds += time.perf_counter() - t0
                self.cpu_s += time.process_time() - c0
                self.calls += 1

        return timed


def floor(store: Any, entities: list[dict], period: Any, settle_ms: int) -> dict:
    ids = [e["id"] for e in entities]
    start = int(period.start.timestamp() * 1000)
    end = int(period.end.timestamp() * 1000)
    out: dict[str, Any] = {"rss_imports_mb": rss_mb()}
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for field in ("energy_kwh_total", "output_units_total"):
        got = store.series(field, start, end + settle_ms, entities=ids, previous=True)
        n += sum(len(s) for s in got.values())
    t1 = time.perf_counter()
    evs = store.events(start, end, entities=ids)
    t2 = time.perf_counter()
    out["client_cpu_s"] = time.process_time() - c0
    if hasattr(store, "db"):  # InfluxDB: the same queries, answer read but not parsed
        nbytes = 0
        for field in ("energy_kwh_total", "output_units_total"):
            nbytes += raw_http(store.url, store.db, field, start, end + settle_ms, ids)
        out |= {"raw_http_s": time.perf_counter() - t2, "raw_http_mb": nbytes / 2**20}
    out |= {
        "series_s": t1 - t0,
        "events_s": t2 - t1,
        "query_s": t2 - t0,
        "values": n,
        "events": len(evs),
        "rss_peak_mb": rss_mb(),
    }
    return out


def close(
    store: Any, entities: list[dict], period: Any, ledger_path: Path, profile: Path | None
) -> dict:
    import ledger.closing as closing
    from ledger.db import make_engine, make_session_factory, upgrade
    from ledger.registry_sync import ensure_accounts

    out: dict[str, Any] = {"rss_imports_mb": rss_mb()}
    engine = make_engine(f"sqlite:///{ledger_path}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    timed = TimedStore(store)
    post = {"s": 0.0}
    real_post = closing.post_statements

    def timed_post(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real_post(*a, **kw)
        finally:
            post["s"] += time.perf_counter() - t0

    closing.post_statements = timed_post
    with sessions() as session:
        t0 = time.perf_counter()
        ensure_accounts(session, entities)
        out["accounts_s"] = time.perf_counter() - t0
        out["rss_before_mb"] = rss_mb()
        prof = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        results = closing.close_entities(session, timed, entities, period, reason="bench", tz=TZ)
        if prof:
            prof.disable()
        total = time.perf_counter() - t0
    outcomes: dict[str, int] = {}
    for r in results:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    failed = [(r.entity_id, r.error) for r in results if r.outcome == "failed"][:3]
    out |= {
        "total_s": total,
        "query_s": timed.seconds,
        "query_client_cpu_s": timed.cpu_s,
        "store_calls": timed.calls,
        "post_s": post["s"],
        "compute_s": total - timed.seconds - post["s"],
        "outcomes": outcomes,
        "failed_examples": failed,
        "net_t": sum(r.net_t or 0.0 for r in results),
        "rss_peak_mb": rss_mb(),
    }
    if prof and profile:
        prof.dump_stats(str(profile))
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        profile.with_suffix(".txt").write_text(buf.getvalue())
    return out


def run_phase(args: Any) -> None:
    """Entry of the child process: print one JSON line with the phase's figures."""
    from bench.accounting.data import fleet
    from ledger.closing import DEFAULT_SETTLE
    from ledger.periods import Period

    entities = fleet(args.n)
    period = Period.containing(args.case, CASES[args.case], TZ)
    store = open_bench_store(args.store, args.target, args.case)
    settle_ms = int(DEFAULT_SETTLE[args.case].total_seconds() * 1000)
    if args.phase == "floor":
        res = floor(store, entities, period, settle_ms)
    else:
        ledger = Path(args.workdir) / f"ledger-{args.case}-{time.time_ns()}.db"
        prof = Path(args.profile_out) if args.profile_out else None
        res = close(store, entities, period, ledger, prof)
    store.close()
    sys.stdout.write(json.dumps(res) + "\n")
