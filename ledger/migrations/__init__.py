"""Migrations of the accounts database (Alembic, configured here: no ``alembic.ini``).

The schema is one metadata, :data:`ledger.models.Base.metadata`: the ledger's tables and the
access tables (:mod:`access.models` declares them on the same ``Base``; this package, below
``access`` in the layers, never imports it: the functions that compare the models with a
database take the metadata from their caller, :func:`tanzhang.db_cli.accounts_metadata`).
Every change of a model comes with a revision in ``versions/`` (``tanzhang db revision -m
"..."`` writes it; see docs/ledger.md), and :func:`upgrade` brings a database to the newest
one:

* an empty database gets every table (revision 0001 onwards);
* a database made before migrations (release 0.1.0 or older: tables, no ``alembic_version``)
  is taken over by revision 0001, which adds what ``create_schema`` used to add in place,
  then goes on to the newest revision;
* a database at the newest revision is left alone (one read of ``alembic_version``).

Concurrent starts (the API and the scheduler on one database) take turns: on PostgreSQL the
upgrade holds a transaction-level advisory lock (``pg_advisory_xact_lock``), on SQLite the
write lock (``BEGIN IMMEDIATE``); the second one finds the database upgraded and does
nothing. PostgreSQL and SQLite run each upgrade in one transaction, so a failed one leaves the
database as it was.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, func, inspect, select

# Alembic narrates at INFO its plugins (when imported) and every context it opens ("Context
# impl SQLiteImpl."); the upgrade logs one line of its own instead (event=accounts_db_upgraded).
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402  (after the logger's level is set)
from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from alembic.util import CommandError  # noqa: E402,F401  (for callers: tanzhang.db_cli)

log = logging.getLogger(__name__)

#: the folder of env.py, script.py.mako and versions/ (shipped in the wheel)
SCRIPT_LOCATION = Path(__file__).resolve().parent
#: the key of the PostgreSQL advisory lock held while a database is upgraded
LOCK_KEY = zlib.crc32(b"tanzhang.accounts.migrations")
VERSION_TABLE = "alembic_version"


class MigrationError(RuntimeError):
    """The migrations could not run (several heads, a database newer than this code, ...)."""


def alembic_config(**attributes: Any) -> Config:
    """The Alembic configuration of the accounts database; ``attributes`` (``connection``,
    ``target_metadata``) are handed to env.py."""
    cfg = Config(cmd_opts=argparse.Namespace(quiet=True))  # the callers say what was done
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("truncate_slug_length", "40")
    cfg.attributes.update(attributes)
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def heads() -> tuple[str, ...]:
    """The newest revisions: one, unless two branches were written without a merge."""
    return tuple(script_directory().get_heads())


def head() -> str:
    """The newest revision; :class:`MigrationError` when there are several."""
    found = heads()
    if len(found) != 1:
        raise MigrationError(
            f"the migrations have {len(found)} heads ({', '.join(found)}): merge them with "
            "a revision whose down_revision names all of them"
        )
    return found[0]


@dataclass(frozen=True)
class State:
    """Where a database stands: its revision (None without ``alembic_version``), whether it
    holds tables all the same (made before migrations), and the newest revision."""

    revision: str | None
    unversioned_tables: bool
    head: str

    def describe(self) -> str:
        if self.revision is None:
            if self.unversioned_tables:
                return (
                    "no revision: tables made before migrations (release 0.1.0 or older); "
                    "`tanzhang db upgrade` takes them over"
                )
            return f"empty (no tables); `tanzhang db upgrade` creates revision {self.head}"
        if self.revision == self.head:
            return f"{self.revision} (head)"
        known = {s.revision for s in script_directory().walk_revisions()}
        if self.revision not in known:
            return f"{self.revision}, unknown to this code (head {self.head}): a newer release?"
        return f"{self.revision}, behind head {self.head}: run `tanzhang db upgrade`"


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: the revision before (None: no ``alembic_version``) and
    after, and whether the database had tables made before migrations."""

    before: str | None
    after: str | None
    unversioned_tables: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        if not self.changed:
            return f"at {self.after} (head), nothing to do"
        if self.before is None and self.unversioned_tables:
            return f"took over the tables made before migrations, upgraded to {self.after} (head)"
        if self.before is None:
            return f"created at {self.after} (head)"
        return f"upgraded from {self.before} to {self.after} (head)"


def _user_tables(conn: Connection) -> list[str]:
    return [t for t in inspect(conn).get_table_names() if t != VERSION_TABLE]


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def state(engine: Engine) -> State:
    """The revision of the database behind ``engine`` (reads only)."""
    newest = head()
    with engine.connect() as conn:
        revision = _revision(conn)
        tables = revision is None and bool(_user_tables(conn))
    return State(revision, tables, newest)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only one process at a time gets; committed when
    the block ends without an error, rolled back otherwise."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            with conn.begin():
                conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
                yield conn
        elif engine.dialect.name == "sqlite":
            with _sqlite_write_transaction(conn):
                yield conn
        else:
            with conn.begin():
                yield conn


@contextmanager
def _sqlite_write_transaction(conn: Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` with foreign keys off, as SQLite's manual wants for a table that is
    copied into a new one (batch mode); the foreign keys are checked before the commit."""
    from ledger.db import _sqlite_begin_mode

    raw: Any = conn.connection.driver_connection  # the sqlite3 connection
    (foreign_keys,) = raw.execute("PRAGMA foreign_keys").fetchone()
    raw.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: before BEGIN
    try:
        token = _sqlite_begin_mode.set("BEGIN IMMEDIATE")  # engines of ledger.db.make_engine
        try:
            trans = conn.begin()
        finally:
            _sqlite_begin_mode.reset(token)
        try:
            if not raw.in_transaction:  # another engine: the sqlite3 module begins lazily
                raw.execute("BEGIN IMMEDIATE")
            yield
            problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise MigrationError(f"foreign keys broken by the migration: {problems[:5]}")
        except BaseException:
            trans.rollback()
            raise
        trans.commit()
    finally:
        raw.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Bring the accounts database behind ``engine`` to ``revision`` (the newest by default).

    Runs on every start; a database already there costs one read. Raises
    :class:`MigrationError` when the database has a revision this code does not know (made
    by a newer release) and the errors of SQLAlchemy when the database cannot be reached.
    """
    target = head() if revision == "head" else revision
    with engine.connect() as conn:
        if _revision(conn) == target:
            return Upgrade(target, target, False)
    with _locked(engine) as conn:
        before = _revision(conn)  # again, under the lock: another process may have done it
        unversioned = before is None and bool(_user_tables(conn))
        if before != target:
            known = {s.revision for s in script_directory().walk_revisions()}
            if before is not None and before not in known:
                raise MigrationError(
                    f"the accounts database is at revision {before}, which this release "
                    f"does not know (its newest is {target}): it was upgraded by a newer one"
                )
            command.upgrade(alembic_config(connection=conn), revision)
        after = _revision(conn)
    if before != after:
        log.info(
            "event=accounts_db_upgraded from=%s to=%s unversioned_tables=%s",
            before or "none",
            after,
            unversioned,
        )
    return Upgrade(before, after, unversioned)


def differences(engine: Engine, metadata: MetaData) -> list[Any]:
    """How the database differs from ``metadata`` (every table of the accounts database:
    Alembic's autogenerate comparison); empty when every model change has its revision."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))


def write_revision(message: str, metadata: MetaData, *, url: str | None = None) -> Path:
    """Write the next revision (``versions/NNNN_<message>.py``) from the difference between
    ``metadata`` (every table of the accounts database) and a database at the newest revision: a scratch SQLite file upgraded for the
    occasion, or the database at ``url`` (left as it is: it must be at the newest revision
    already). Review the file before committing it."""
    from ledger.db import make_engine

    with tempfile.TemporaryDirectory(prefix="tanzhang-revision-") as tmp:
        engine = make_engine(url or f"sqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            if url is None:
                upgrade(engine)
            elif (at := state(engine)).revision != at.head:
                raise MigrationError(
                    f"the database is at {at.revision or 'no revision'}, not at the newest "
                    f"revision {at.head}: upgrade it first (or leave out --url)"
                )
            if not differences(engine, metadata):
                raise MigrationError(
                    f"the models match revision {head()}: there is no change to write"
                )
            rev_id = f"{len(list(script_directory().walk_revisions())) + 1:04d}"
            with engine.connect() as conn:
                cfg = alembic_config(connection=conn, target_metadata=metadata)
                written = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
                conn.rollback()
        finally:
            engine.dispose()
    if written is None or isinstance(written, list):
        raise MigrationError("Alembic wrote no single revision")
    path = Path(written.path)
    if importlib.util.find_spec("ruff") is not None:  # a checkout with the dev tools
        for args in (["check", "--fix"], ["format"]):
            subprocess.run([sys.executable, "-m", "ruff", *args, "--quiet", str(path)], check=False)
    return path
