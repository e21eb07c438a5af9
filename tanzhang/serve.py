"""``tanzhang api`` and ``tanzhang scheduler``: the API (with dashboards) and the close jobs."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from tanzhang.settings import Settings

log = logging.getLogger(__name__)

#: Seconds uvicorn waits for open requests (live streams) before it stops anyway.
GRACEFUL_SHUTDOWN_S = 5


def ensure_demo_key(settings: Settings, engine: Any) -> str | None:
    """Store the development demo key (read-only ``operator`` role) so that its requests pass.

    Only in development: production never has a key it did not create with ``tanzhang keys``.
    """
    if settings.environment != "development" or not settings.demo_api_key:
        return None
    from sqlalchemy.orm import Session

    from access.keys import register_key
    from access.models import create_schema as create_access_schema

    create_access_schema(engine)
    with Session(engine) as session:
        register_key(session, settings.demo_api_key, role="operator", name="demo (development)")
    return settings.demo_api_key


def make_server(app: Any, host: str, port: int) -> Any:
    """A uvicorn server that stops within :data:`GRACEFUL_SHUTDOWN_S` even with open streams."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        access_log=False,
    )
    return uvicorn.Server(config)


def stop_server(server: Any) -> None:
    """Ask a running uvicorn server (and the dashboards' live streams) to stop."""
    from dashboards.stream import stop_streams

    stop_streams()
    server.should_exit = True


def api_main(settings: Settings, argv: list[str]) -> int:
    """Serve the API and dashboards; host the accounting scheduler unless ``--no-scheduler``."""
    parser = argparse.ArgumentParser(prog="tanzhang api", description=api_main.__doc__)
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument(
        "--no-scheduler", action="store_true", help="another process closes periods"
    )
    args = parser.parse_args(argv)

    from accounts.db import create_schema, make_engine, make_session_factory
    from accounts.scheduler import scheduler_from_settings
    from tanzhang.app import POOL, create_app
    from telemetry.stores import open_store_from_settings

    store = open_store_from_settings(settings)
    engine = make_engine(settings.accounts_url, **POOL)
    create_schema(engine)
    ensure_demo_key(settings, engine)
    app = create_app(settings, store=store, engine=engine)
    scheduler = None
    if not args.no_scheduler:
        scheduler = scheduler_from_settings(
            settings, store=store, sessions=make_session_factory(engine)
        )
        scheduler.start()
    server = make_server(app, args.host, args.port)
    log.info("event=api_start url=http://%s:%d/docs", args.host, args.port)
    try:
        server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        store.close()
    return 0


def scheduler_main(settings: Settings, argv: list[str]) -> int:
    """Run the accounting close jobs alone."""
    from accounts.scheduler import scheduler_main as run

    return run(settings, argv)


def run_in_thread(server: Any) -> threading.Thread:
    """Start a uvicorn server in a daemon thread and wait until it serves."""
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the API server did not start (is the port taken?)")
        threading.Event().wait(0.05)
    return thread
