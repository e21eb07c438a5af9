"""Load generator, in its own process: open loop at a fixed rate, or closed loop.

``python -m bench.api.load URL KEYS.json SCENARIO --rate R --duration S`` sends requests at
``R`` per second (scheduled times; latency counts from the scheduled time, so a server that
falls behind shows it instead of slowing the generator: no coordinated omission).
``--concurrency C`` instead runs ``C`` workers back to back (maximum throughput).
Scenarios: ``balance`` (``GET /v1/accounts/{id}/balance``, admin key), ``balance_holder``
(the same with each account holder's own key), ``statements`` (``GET
/v1/accounts/{id}/statements?period=month`` for a year: 12 statements). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

import httpx
import numpy as np


def _request(scenario: str, keys: dict, rng: random.Random) -> tuple[str, dict[str, str]]:
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


async def _run(args: argparse.Namespace, keys: dict) -> dict:
    rng = random.Random(1)
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=10.0) as client:

        async def one(scheduled: float) -> None:
            nonlocal errors
            path, headers = _request(args.scenario, keys, rng)
            try:
                r = await client.get(path, headers=headers)
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            lat.append(time.perf_counter() - scheduled)

        for _ in range(20):  # warm-up (connections, caches)
            await one(time.perf_counter())
        lat.clear()
        t0 = time.perf_counter()
        if args.concurrency:

            async def worker() -> None:
                while time.perf_counter() - t0 < args.duration:
                    await one(time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        else:
            tasks = []
            n = int(args.rate * args.duration)
            for i in range(n):
                at = t0 + i / args.rate
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(at)))
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    ms = np.asarray(lat) * 1000
    return {
        "scenario": args.scenario,
        "mode": f"closed, {args.concurrency} concurrent"
        if args.concurrency
        else f"open, {args.rate}/s",
        "requests": len(lat),
        "errors": errors,
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
    a = p.parse_args()
    with open(a.keys) as fh:
        keys = json.load(fh)
    print(json.dumps(asyncio.run(_run(a, keys))))


if __name__ == "__main__":
    main()
