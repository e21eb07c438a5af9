"""The API under test, in its own process: ``python -m bench.api.serve DATA_DIR PORT``.

The app is ``tanzhang.app.create_app`` over the benchmark's accounts database and registry
(and an empty embedded telemetry store), served by uvicorn with one worker and no access log.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from accounts.db import make_engine
from tanzhang.app import create_app
from tanzhang.settings import Settings
from telemetry.registry import Registry
from telemetry.sqlite import SqliteStore


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    store = SqliteStore(data_dir / "telemetry.sqlite")
    store.ensure_ready()
    app = create_app(
        Settings(data_dir=data_dir, gateway_http_port=0),
        store=store,
        registry=Registry.load(data_dir / "registry.toml"),
        engine=make_engine(f"sqlite:///{data_dir / 'accounts.sqlite3'}"),
        publisher=lambda topic, payload: None,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
