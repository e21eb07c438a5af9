"""``tanzhang db``: the accounts database's schema (Alembic migrations, :mod:`ledger.migrations`).

    tanzhang db upgrade            create the tables or bring them to the newest revision
    tanzhang db current            the database's revision (and whether it is the newest)
    tanzhang db revision -m MSG    (developers) write the next revision from the models

Every command prints one line; an error is one line on standard error and exit status 2.
The database is ``TANZHANG_DATABASE_URL`` (default: ``<data dir>/accounts.db``); ``--help``
needs none.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import MetaData


def accounts_metadata() -> MetaData:
    """Every table of the accounts database: :data:`ledger.models.Base.metadata`, on which
    :mod:`access.models` declares its tables too (imported here, above both in the layers,
    so that they are registered)."""
    import access.models  # noqa: F401  (api_key, lender, report_consent, report_access)
    from ledger.models import Base

    return Base.metadata


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tanzhang db",
        description="The accounts database's schema: Alembic migrations applied on every start "
        "(see docs/ledger.md). The database is TANZHANG_DATABASE_URL, by default "
        "<data dir>/accounts.db.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "upgrade",
        help="create the tables or bring them to the newest revision",
        description="Create the tables of an empty database, take over one made before "
        "migrations (release 0.1.0), or upgrade it to the newest revision. The API, the "
        "scheduler and `tanzhang run` do the same when they start.",
    )
    sub.add_parser(
        "current",
        help="show the database's revision",
        description="Show the database's revision and whether it is the newest (reads only).",
    )
    r = sub.add_parser(
        "revision",
        help="(developers) write the next revision from the models",
        description="Compare the models (ledger.models, access.models) with a database at "
        "the newest revision (a scratch SQLite file unless --url) and write the difference "
        "as ledger/migrations/versions/NNNN_<message>.py. Review it, then commit it.",
    )
    r.add_argument("-m", "--message", required=True, help="what the change is, in a few words")
    r.add_argument(
        "--url", help="compare with this database (at the newest revision) instead of SQLite"
    )
    return p


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(settings: Any, argv: Sequence[str] | None = None) -> int:
    """Run ``tanzhang db ...`` on ``settings.accounts_url``; return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)

    from sqlalchemy.exc import SQLAlchemyError

    from ledger import migrations  # before alembic: it quiets alembic's logger
    from ledger.db import make_engine
    from telemetry.redact import redact_url

    if args.command == "revision":
        try:
            path = migrations.write_revision(args.message, accounts_metadata(), url=args.url)
        except (
            migrations.MigrationError,
            migrations.CommandError,
            SQLAlchemyError,
            OSError,
        ) as exc:
            print(f"tanzhang db revision: {_one_line(exc)}", file=sys.stderr)
            return 2
        print(f"wrote {path}: review it, then commit it")
        return 0

    url = settings.accounts_url
    where = redact_url(url)
    engine = None
    try:
        engine = make_engine(url)
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            if args.command == "current" and not Path(database).exists():
                print(f"{where}: no database yet (`tanzhang db upgrade` creates it)")
                return 0
            if not Path(database).parent.is_dir():
                raise OSError(f"the folder {Path(database).parent} does not exist")
        if args.command == "current":
            print(f"{where}: {migrations.state(engine).describe()}")
        else:
            print(f"{where}: {migrations.upgrade(engine).describe()}")
        return 0
    except (migrations.MigrationError, migrations.CommandError, SQLAlchemyError, OSError) as exc:
        print(f"tanzhang db {args.command}: {where}: {_one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        if engine is not None:
            engine.dispose()
