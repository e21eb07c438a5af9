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

Schema changes: :func:`create_schema` creates missing tables and makes the one change made
since (:func:`scope_redemption_keys`: idempotency keys unique per account). Migrations
(Alembic) are future work; until then a changed model needs a new database, a hand-written
``ALTER TABLE`` or a function like that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import AddConstraint, CreateIndex, CreateTable

from ledger.models import REDEMPTION_KEY_CONSTRAINT, Base, Redemption

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


def create_schema(engine: Engine) -> None:
    """Create the tables that don't exist yet, and bring an older ``redemption`` table's
    idempotency keys from unique overall to unique per account
    (:func:`scope_redemption_keys`). Otherwise no migrations: see the module notes."""
    Base.metadata.create_all(engine)
    scope_redemption_keys(engine)


def _global_key_constraint(engine: Engine) -> str | None:
    """The name of a unique constraint (or index) on ``redemption.key`` alone, or "" when it
    has no name (SQLite's inline ``UNIQUE``); None when there is none."""
    insp = inspect(engine)
    for uc in insp.get_unique_constraints("redemption"):
        if uc["column_names"] == ["key"]:
            return uc.get("name") or ""
    for ix in insp.get_indexes("redemption"):
        if ix.get("unique") and ix["column_names"] == ["key"]:
            return ix["name"]
    return None


def scope_redemption_keys(engine: Engine) -> bool:
    """Replace a unique constraint on ``redemption.key`` (databases made before keys were
    scoped to the account) by the unique (``account_id``, ``key``) of the model; idempotent.

    PostgreSQL drops and adds the constraint in one transaction; SQLite, which cannot drop
    a constraint, copies the table into a new one (the procedure of the SQLite manual,
    "Making Other Kinds Of Table Schema Changes"). Returns True when it changed something.
    """
    name = _global_key_constraint(engine)
    if name is None:
        return False
    table = Redemption.__table__
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE redemption IN ACCESS EXCLUSIVE MODE")
            if _global_key_constraint(conn) is None:
                return False  # another process migrated meanwhile
            conn.exec_driver_sql(f'ALTER TABLE redemption DROP CONSTRAINT IF EXISTS "{name}"')
            conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
            conn.execute(AddConstraint(_key_constraint(table)))
        return True
    if engine.dialect.name != "sqlite":
        raise RuntimeError(
            f"redemption.key is unique overall on {engine.dialect.name}: replace constraint "
            f"{name!r} by UNIQUE (account_id, key) by hand"
        )
    copy = MetaData()  # the tables it refers to must be there to compile its foreign keys
    for other in Base.metadata.sorted_tables:
        other.to_metadata(copy)
    staging = table.to_metadata(copy, name="redemption_rescoped")
    staging.indexes.clear()
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        isolation = dbapi.isolation_level
        dbapi.isolation_level = None  # the statements below manage the transaction
        (foreign_keys,) = dbapi.execute("PRAGMA foreign_keys").fetchone()
        dbapi.execute("PRAGMA foreign_keys=OFF")
        try:
            dbapi.execute("BEGIN IMMEDIATE")
            try:
                (sql,) = dbapi.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'redemption'"
                ).fetchone()
                if REDEMPTION_KEY_CONSTRAINT in sql:  # another process migrated meanwhile
                    dbapi.execute("COMMIT")
                    return False
                dbapi.execute("DROP TABLE IF EXISTS redemption_rescoped")
                dbapi.execute(str(CreateTable(staging).compile(dialect=engine.dialect)))
                dbapi.execute(
                    f"INSERT INTO redemption_rescoped ({cols}) SELECT {cols} FROM redemption"
                )
                dbapi.execute("DROP TABLE redemption")
                dbapi.execute("ALTER TABLE redemption_rescoped RENAME TO redemption")
                for index in table.indexes:
                    dbapi.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
                problems = dbapi.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"foreign keys broken by the migration: {problems[:5]}")
                dbapi.execute("COMMIT")
            except BaseException:
                dbapi.execute("ROLLBACK")
                raise
        finally:
            dbapi.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            dbapi.isolation_level = isolation
    finally:
        raw.close()
    return True


def _key_constraint(table: Any) -> Any:
    return next(
        c for c in table.constraints if getattr(c, "name", None) == REDEMPTION_KEY_CONSTRAINT
    )


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
