"""Load generator, in its own process: open loop at a fixed rate, or closed loop.

``python -m bench.api.load URL KEYS.json SCENARIO --rate R --duration S`` sends requests at
``R`` per second from a pool of threads with keep-alive connections (stdlib
``http.client``: ~0.1 ms of CPU per request, so the generator does not compete with the
server for the machine's two cores). Latency counts from each request's *scheduled* time,
so a server that falls behind shows it instead of slowing the generator (no coordinated
omission). ``--concurrency C`` instead runs ``C`` threads back to back (maximum throughput).

Scenarios: ``balance`` (``GET /v1/accounts/{id}/balance?at=...``, admin key),
``balance_holder`` (each account holder's own key and account), ``statements``
(``GET /v1/accounts/{id}/statements?period=month`` over a year: 12 statements).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from urllib.parse import urlsplit

import numpy as np


def make_request(scenario: str, keys: dict, rng: random.Random) -> tuple[str, dict[str, str]]:
    if scenario == "balance_holder":
        eid, key = rng.choice(list(keys["holders"].items()))
        return f"/v1/accounts/{eid}/balance", {"X-API-Key": key}
    eid = rng.choice(keys["entities"])
    h = {"X-API-Key": keys["admin"]}
    if scenario == "balance":
        return f"/v1/accounts/{eid}/balance?at=2025-12-31", h
    if scenario == "statements":
        return f"/v1/accounts/{eid}/statements?period=month&start=2025-01-01&end=2026-01-01", h
    raise SystemExit(f"unknown scenario {scenario!r}")


def run(url: str, keys: dict, scenario: str, *, rate: float, duration: float,
        concurrency: int, warmup: float = 0.0) -> dict:  # fmt: skip
    """Run the load; requests scheduled in the first ``warmup`` seconds are not counted
    (each worker process compiles its queries and caches the key on first use)."""
    parts = urlsplit(url)
    lock = threading.Lock()
    lat: list[float] = []
    errors = [0]
    duration += warmup
    n_total = int(rate * duration) if not concurrency else 0
    next_slot = [0]
    t0 = time.perf_counter() + 0.5  # start together after the connections are open
    stop_at = t0 + duration

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("GET", "/v1/health")
        conn.getresponse().read()
        while True:
            if concurrency:
                scheduled = time.perf_counter()
                if scheduled >= stop_at:
                    break
                scheduled = max(scheduled, t0)
            else:
                with lock:
                    i = next_slot[0]
                    next_slot[0] += 1
                if i >= n_total:
                    break
                scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            path, headers = make_request(scenario, keys, rng)
            ok = True
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            done = time.perf_counter()
            if scheduled < t0 + warmup:
                continue
            with lock:
                lat.append(done - scheduled)
                if not ok:
                    errors[0] += 1
        conn.close()

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True)
        for i in range(concurrency or max(8, int(rate // 10)))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0 - warmup
    ms = np.asarray(lat) * 1000
    return {
        "scenario": scenario,
        "mode": f"closed, {concurrency} concurrent" if concurrency else f"open, {rate:g}/s",
        "requests": len(lat),
        "errors": errors[0],
        "req_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("keys")
    p.add_argument("scenario")
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--concurrency", type=int, default=0)
    p.add_argument("--warmup", type=float, default=2.0, help="seconds not counted [s]")
    a = p.parse_args()
    with open(a.keys) as fh:
        keys = json.load(fh)
    res = run(a.url, keys, a.scenario, rate=a.rate, duration=a.duration,
              concurrency=a.concurrency, warmup=a.warmup)  # fmt: skip
    print(json.dumps(res))


if __name__ == "__main__":
    main()
