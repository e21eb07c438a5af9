"""The API under test, in its own process: ``python -m bench.api.serve DATA_DIR PORT [WORKERS]``.

The app is ``tanzhang.app.create_app`` over the benchmark's accounts database and registry
(and an empty embedded telemetry store), served by uvicorn without access log; with
``WORKERS`` > 1, uvicorn forks that many processes sharing the port.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from ledger.db import make_engine
from tanzhang.app import POOL, create_app
from tanzhang.settings import Settings
from telemetry.registry import Registry
from telemetry.sqlite import SqliteStore


def app_factory() -> FastAPI:
    """The app over ``$TANZHANG_BENCH_DIR`` (one per worker process)."""
    data_dir = Path(os.environ["TANZHANG_BENCH_DIR"])
    store = SqliteStore(data_dir / "telemetry.sqlite")
    store.ensure_ready()
    app = create_app(
        Settings(data_dir=data_dir, gateway_http_port=0),
        store=store,
        registry=Registry.load(data_dir / "registry.toml"),
        engine=make_engine(f"sqlite:///{data_dir / 'accounts.sqlite3'}", **POOL),
        publisher=lambda topic, payload: None,
    )
    return app


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.environ["TANZHANG_BENCH_DIR"] = str(data_dir)
    uvicorn.run(
        "bench.api.serve:app_factory",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
