"""Alembic environment of the accounts database.

Run only through :mod:`ledger.migrations` (``tanzhang db ...``, and every start of the API,
scheduler, ``tanzhang run``, ``close`` and ``keys``): it hands over an open connection, with
its transaction begun and the lock taken, in ``config.attributes["connection"]``, and for
``tanzhang db revision`` the metadata to compare with in ``"target_metadata"``. There is no
``alembic.ini`` and no offline (``--sql``) mode: the baseline revision looks at the database
it upgrades.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write a model's own column type (``Tonnes``, ``UTCDateTime``) as the SQLAlchemy type
    it stores (``sa.BigInteger()``, ``sa.DateTime(timezone=True)``), so that a revision
    does not import the models."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if type(impl).__module__.startswith("sqlalchemy.sql"):
            return f"sa.{impl!r}"
    return False


def run_migrations() -> None:
    if context.is_offline_mode():
        raise RuntimeError("the accounts database has no offline (--sql) migrations")
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "run the accounts database's migrations with `tanzhang db upgrade` "
            "(ledger.migrations.upgrade), which passes the connection"
        )
    context.configure(
        connection=connection,
        target_metadata=config.attributes.get("target_metadata"),
        render_as_batch=True,  # SQLite changes a table by copying it (batch mode)
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
