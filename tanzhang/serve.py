"""``tanzhang api`` and ``tanzhang scheduler``: the API (with dashboards) and the close jobs."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from tanzhang.settings import Settings

log = logging.getLogger(__name__)

#: Seconds uvicorn waits for open requests (live streams) before it stops anyway.
GRACEFUL_SHUTDOWN_S = 5


def ensure_demo_key(settings: Settings, engine: Any) -> str | None:
    """Store the development demo key (read-only ``operator`` role) so that its requests pass.

    Only in development, and marked development-only: an API outside development refuses it
    (:func:`refuse_demo_keys`). Outside development nothing is created and None is returned.
    The accounts database is upgraded already (both callers do it first, to report a database
    problem in one line).
    """
    from sqlalchemy.orm import Session

    from access.keys import register_key
    from access.models import DEMO_KEY_NAME

    if settings.environment != "development":
        refuse_demo_keys(settings, engine)
        return None
    if not settings.demo_api_key:
        return None
    with Session(engine) as session:
        register_key(
            session,
            settings.demo_api_key,
            role="operator",
            name=DEMO_KEY_NAME,
            development_only=True,
        )
    return settings.demo_api_key


def refuse_demo_keys(settings: Settings, engine: Any) -> int:
    """Outside development: make sure every demo key stored in this accounts database is
    marked development-only (so the API refuses it) and say so; the number of such keys.

    Besides the keys marked when they were made (and old ones found by name when the column
    was added), the key kept in ``{data_dir}/demo_api_key`` by ``tanzhang run`` and a
    ``TANZHANG_DEMO_API_KEY`` are marked, should they be stored.
    """
    from sqlalchemy.orm import Session

    from access.keys import count_development_keys, mark_development_only

    keys = [settings.demo_api_key] if settings.demo_api_key else []
    path = settings.data_dir / "demo_api_key"
    if path.is_file():
        keys.append(path.read_text().strip())
    with Session(engine) as session:
        for key in keys:
            if key:
                mark_development_only(session, key)
        n = count_development_keys(session)
    if n:
        log.warning(
            "event=demo_key_refused keys=%d environment=%s (the development demo key of "
            "`tanzhang run` is refused here; revoke it with `tanzhang keys revoke`)",
            n,
            settings.environment,
        )
    return n


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

    from sqlalchemy.exc import SQLAlchemyError

    from ledger.db import make_engine, make_session_factory, upgrade
    from ledger.errors import database_problem
    from ledger.migrations import MigrationError
    from ledger.scheduler import scheduler_from_settings
    from tanzhang.app import POOL, create_app
    from telemetry.stores import open_store_from_settings

    data_dir = Path(settings.data_dir).resolve()
    if not data_dir.is_dir():
        return _fail(
            f"the data folder {data_dir} does not exist (TANZHANG_DATA_DIR): create it, "
            "point TANZHANG_DATA_DIR at an existing one, or run `tanzhang run` once"
        )
    engine = make_engine(settings.accounts_url, **POOL)
    try:
        upgrade(engine)
        ensure_demo_key(settings, engine)
    except (SQLAlchemyError, MigrationError) as exc:
        return _fail(database_problem(settings.accounts_url, exc))
    log.info("event=api_settings %s", settings.describe_text())
    store = open_store_from_settings(settings)
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


def _fail(message: str) -> int:
    """Say on one line why the command cannot start; the exit status 2."""
    print(f"tanzhang api: {message}", file=sys.stderr)
    return 2


def scheduler_main(settings: Settings, argv: list[str]) -> int:
    """Run the accounting close jobs alone."""
    from ledger.scheduler import scheduler_main as run

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
