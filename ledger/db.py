"""Engine, schema and sessions of the accounts database.

A SQLite file by default (``sqlite:///<data dir>/accounts.db``), PostgreSQL for a site
with several API replicas (``postgresql+psycopg://user:pass@host:5432/tanzhang``).

SQLite notes
------------
* The stdlib driver's own transaction handling is switched off and SQLAlchemy emits
  ``BEGIN`` itself (the recipe of the SQLAlchemy SQLite dialect documentation), so that a
  write function can open its transaction with ``BEGIN IMMEDIATE`` (see
  :func:`write_transaction`): the writer takes SQLite's reserved lock before it reads the
  balance, and a second writer waits (``busy_timeout``) instead of failing half-way.
* File databases use WAL journal mode (readers don't block the writer) and foreign keys on.

Schema changes: Alembic migrations (:mod:`ledger.migrations`), applied by :func:`upgrade`
on every start and by ``tanzhang db upgrade``; a changed model needs a revision (see
docs/ledger.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from ledger.migrations import Upgrade

#: seconds a SQLite writer waits for another writer's lock before giving up
SQLITE_BUSY_TIMEOUT_S = 30.0

_sqlite_begin_mode: ContextVar[str] = ContextVar("tanzhang_sqlite_begin", default="BEGIN")


def default_url(data_dir: str | Path) -> str:
    """The default accounts database: a SQLite file ``accounts.db`` in ``data_dir``."""
    return f"sqlite:///{Path(data_dir) / 'accounts.db'}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings the ledger relies on.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/accounts.db`` or
        ``postgresql+psycopg://user:pass@host:port/dbname``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine` (for example ``echo=True``).
    """
    if url.startswith("sqlite"):
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        in_memory = engine.url.database in (None, "", ":memory:")

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # take BEGIN away from the sqlite3 module; SQLAlchemy emits it (see _on_begin)
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(_sqlite_begin_mode.get())

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def upgrade(engine: Engine) -> Upgrade:
    """Create the accounts database's tables or bring them to the newest revision of the
    migrations (:func:`ledger.migrations.upgrade`: Alembic); what every start runs.

    A database at the newest revision costs one read; one made before migrations (release
    0.1.0) is taken over; two processes starting together take turns.
    """
    from ledger.migrations import upgrade as run

    return run(engine)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory for the ledger.

    ``expire_on_commit=False``: the write functions commit, and the objects they return stay
    readable afterwards without a new round trip (and without opening a new transaction).
    """
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run one unit of work that must be serialized per account, then commit.

    On SQLite the transaction is opened with ``BEGIN IMMEDIATE``, so concurrent writers
    queue on SQLite's write lock (up to :data:`SQLITE_BUSY_TIMEOUT_S`) instead of failing. A
    transaction the caller already opened in the session (say, by reading the balance
    first) is committed before, because a deferred SQLite transaction that read and then
    writes fails with "database is locked" as soon as another writer got in between. On
    PostgreSQL the caller's transaction is continued, and the write functions lock the
    account row with ``SELECT ... FOR UPDATE``.

    Commits on success, rolls back on any exception (including the caller's pending work in
    the same transaction).
    """
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        session.commit()
    token = _sqlite_begin_mode.set("BEGIN IMMEDIATE")
    try:
        session.connection()  # opens the transaction (fires "begin") if none is open yet
    except BaseException:
        session.rollback()
        raise
    finally:
        _sqlite_begin_mode.reset(token)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
