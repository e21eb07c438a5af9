"""The ``tanzhang`` command line.

Every subcommand reads :class:`~tanzhang.settings.Settings` (``TANZHANG_*`` variables or the
TOML file named by ``TANZHANG_CONFIG``) and hands the rest of its arguments to the package
that owns the concern, imported only when that subcommand runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from pydantic import ValidationError

from tanzhang.settings import Settings

COMMANDS: dict[str, str] = {
    "run": "the whole system in one process group (embedded broker and store when unset)",
    "gateway": "MQTT -> InfluxDB gateway",
    "api": "the API and dashboards (hosts the scheduler unless --no-scheduler)",
    "scheduler": "scheduled accounting closes",
    "simulate": "publish simulated factory, orchard and forest telemetry",
    "registry": "list and add entities and devices; export mosquitto password/ACL files",
    "close": "close or restate an accounting period by hand",
    "rejects": "list and replay quarantined messages",
    "keys": "create, list and revoke API keys",
    "report": "verify a carbon credit report (authentic? restated after issue?)",
    "db": "the accounts database's schema: upgrade it, show its revision",
}


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # the embedded broker narrates every state change at INFO
        for noisy in ("transitions", "amqtt", "apscheduler.executors"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO (and httpcore every step at DEBUG), which
    # is noise, and a URL may carry a secret: never below WARNING, even with --verbose.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _run(settings: Settings, argv: list[str]) -> int:
    from tanzhang.run import main

    return main(settings, argv)


def _gateway(settings: Settings, argv: list[str]) -> int:
    from gateway.cli import main

    return main(settings, argv)


def _api(settings: Settings, argv: list[str]) -> int:
    from tanzhang.serve import api_main

    return api_main(settings, argv)


def _scheduler(settings: Settings, argv: list[str]) -> int:
    from tanzhang.serve import scheduler_main

    return scheduler_main(settings, argv)


def _simulate(settings: Settings, argv: list[str]) -> int:
    from simulators.cli import main

    if settings.mqtt_url and not any(a.startswith("--mqtt-url") for a in argv):
        argv = ["--mqtt-url", settings.mqtt_url, *argv]
    return main(argv)


def _registry(settings: Settings, argv: list[str]) -> int:
    from telemetry.registry_cli import main

    return main(argv, registry_path=settings.registry_path)


def _close(settings: Settings, argv: list[str]) -> int:
    from ledger.cli import close_main

    return close_main(settings, argv)


def _rejects(settings: Settings, argv: list[str]) -> int:
    from gateway.rejects_cli import main

    return main(settings, argv)


def _keys(settings: Settings, argv: list[str]) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from access.cli import main
    from ledger.errors import database_problem

    try:
        return main(argv, database_url=settings.accounts_url)
    except SQLAlchemyError as exc:  # one line, the password masked; no traceback
        print(f"tanzhang keys: {database_problem(settings.accounts_url, exc)}", file=sys.stderr)
        return 2


def _report(settings: Settings, argv: list[str]) -> int:
    from reports.cli import main

    return main(settings, argv)


def _db(settings: Settings, argv: list[str]) -> int:
    from tanzhang.db_cli import main

    return main(settings, argv)


HANDLERS: dict[str, Callable[[Settings, list[str]], int]] = {
    "run": _run,
    "gateway": _gateway,
    "api": _api,
    "scheduler": _scheduler,
    "simulate": _simulate,
    "registry": _registry,
    "close": _close,
    "rejects": _rejects,
    "keys": _keys,
    "report": _report,
    "db": _db,
}


def _commands_help() -> str:
    return "; ".join(f"{name}: {text}" for name, text in COMMANDS.items())


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: options and the COMMAND; each command parses the rest itself
    (``tanzhang COMMAND --help`` prints that command's usage without opening anything)."""
    parser = argparse.ArgumentParser(
        prog="tanzhang",
        description="碳账 tanzhang — telemetry and carbon accounts for farms and factories.",
        epilog="Settings come from TANZHANG_* variables or the TOML file named by TANZHANG_CONFIG. "
        "`tanzhang COMMAND --help` describes each command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND", help=_commands_help())
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Everything after the command belongs to the command's own parser (options included).
    split = next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))
    ns = parser.parse_args(argv[: split + 1])
    ns.args = argv[split + 1 :]
    _setup_logging(ns.verbose)
    try:
        settings = Settings()
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "settings"
            print(f"tanzhang: bad setting {loc}: {err['msg']}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"tanzhang: {exc}", file=sys.stderr)
        return 2
    settings.apply_time()
    try:
        return HANDLERS[ns.command](settings, list(ns.args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
