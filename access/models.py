"""The ``api_key`` table: API keys stored hashed, with a role and the entities it may see.

The table lives in the accounts database but has its own :class:`AccessBase` metadata, so
that :mod:`access` never edits the ledger's models; :func:`create_schema` creates it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, Integer, String
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
    ``prefix`` is shown in listings so people can tell keys apart.
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

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def create_schema(engine: Engine) -> None:
    """Create the ``api_key`` table if it does not exist (idempotent)."""
    AccessBase.metadata.create_all(engine)
