"""The ``api_key`` table: API keys stored hashed, with a role and the entities it may see.

The table lives in the accounts database but has its own :class:`AccessBase` metadata, so
that :mod:`access` never edits the ledger's models; :func:`create_schema` creates it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Engine, Integer, String, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from sitetime import clock


class _UTC(TypeDecorator[datetime]):
    """An aware UTC datetime (SQLite stores the UTC wall time; the zone is re-attached)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AccessBase(DeclarativeBase):
    pass


class ApiKey(AccessBase):
    """One API key. Only ``key_hash`` (SHA-256 of the whole key) is stored, never the key.

    The key itself is ``tzk_<prefix>_<secret>`` with a 256-bit random secret, so a plain
    SHA-256 is a sufficient hash (no dictionary to attack; the comparison is an indexed lookup).
    ``prefix`` is shown in listings so people can tell keys apart. ``development_only``
    marks the demo key of ``tanzhang run``: it is refused by an API outside development.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    entities: Mapped[list[str]] = mapped_column(JSON, default=list)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(_UTC, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(_UTC, default=None)
    development_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


#: the name :func:`tanzhang.serve.ensure_demo_key` gives the development demo key
DEMO_KEY_NAME = "demo (development)"


def create_schema(engine: Engine) -> None:
    """Create the ``api_key`` table if it does not exist (idempotent).

    A table made before keys could be development-only gets the ``development_only`` column,
    and the demo keys it holds (named :data:`DEMO_KEY_NAME`) are marked, so that a data folder
    first run by ``tanzhang run`` does not carry an ordinary key into production.
    """
    AccessBase.metadata.create_all(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("api_key")}
    if "development_only" in columns:
        return
    false = "0" if engine.dialect.name == "sqlite" else "false"
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "ALTER TABLE api_key ADD COLUMN development_only BOOLEAN "
                    f"NOT NULL DEFAULT {false}"
                )
            )
            conn.execute(
                text("UPDATE api_key SET development_only = :yes WHERE name = :name"),
                {"yes": True, "name": DEMO_KEY_NAME},
            )
    except DBAPIError:
        # another process added the column meanwhile; anything else is a real error
        columns = {c["name"] for c in inspect(engine).get_columns("api_key")}
        if "development_only" not in columns:
            raise
