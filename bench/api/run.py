"""Run the API benchmark: build the data, start the server, load it from another process.

    python -m bench.api.run [--data-dir /tmp/tanzhang-bench-api] [--duration 20]

Three processes on loopback: this one (orchestration only), the uvicorn server
(:mod:`bench.api.serve`) and the load generator (:mod:`bench.api.load`). Prints a Markdown
table for docs/benchmarks.md (## API) and writes ``results.json`` in the data folder.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.api.setup_db import build

RUNS = (
    ("balance", ["--rate", "500"]),
    ("balance_holder", ["--rate", "500"]),
    ("statements", ["--rate", "200"]),
    ("balance", ["--concurrency", "16"]),
    ("statements", ["--concurrency", "16"]),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/tanzhang-bench-api"))
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    a = p.parse_args()
    t0 = time.perf_counter()
    keys = build(a.data_dir, n_accounts=a.accounts)
    print(f"data ready ({len(keys['entities'])} accounts) in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)  # fmt: skip
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.api.serve", str(a.data_dir), str(port), str(a.workers)],
        env=env,
        start_new_session=True,  # its own process group: uvicorn's workers are stopped with it
    )
    url = f"http://127.0.0.1:{port}"
    results = []
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for scenario, extra in RUNS:
            out = subprocess.run(
                [sys.executable, "-m", "bench.api.load", url, str(a.data_dir / "keys.json"),
                 scenario, "--duration", str(a.duration), *extra],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            res = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(res), file=sys.stderr)
            results.append(res)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    (a.data_dir / "results.json").write_text(json.dumps(results, indent=2))
    print("| scenario | load | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['scenario']} | {r['mode']} | {r['requests']} | {r['errors']} | "
              f"{r['req_per_s']} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} |")  # fmt: skip


if __name__ == "__main__":
    main()
