"""The ``api_key`` table: API keys stored hashed, with a role and the entities it may see;
the ``lender`` table (a bank: the keys of role ``lender`` point to one), the consent grants
an entity gives a lender to read its credit report (``report_consent``) and the log of every
lender access to a report, granted or refused (``report_access``).

The tables live in the accounts database and are declared on the ledger's
:class:`ledger.models.Base`, so the database has one metadata and one set of migrations
(:mod:`ledger.migrations`, which creates and changes these tables too). This module imports
:mod:`ledger.models`, never the reverse; :func:`tanzhang.db_cli.accounts_metadata` gathers
both to compare the whole schema with a database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ledger.models import Base
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


class ApiKey(Base):
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
    #: the bank a ``lender`` key belongs to (None for every other role)
    lender_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("lender.id"), default=None, nullable=True
    )

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class Lender(Base):
    """A lender (a bank): consents name it; its staff hold keys of role ``lender`` that point
    to it, so a grant outlives any one key (a key can be revoked and replaced)."""

    __tablename__ = "lender"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(_UTC, default=clock.now)


class ReportConsent(Base):
    """An entity's grant to a lender to read its credit report, for a purpose and a period.

    Valid at ``t`` when ``valid_from <= t < valid_until`` and it is not revoked (revoked at or
    before ``t``). Rows are never deleted: a revocation sets ``revoked_at``.
    """

    __tablename__ = "report_consent"
    __table_args__ = (Index("ix_report_consent_entity_lender", "entity_id", "lender_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(128))
    lender_id: Mapped[int] = mapped_column(Integer, ForeignKey("lender.id"))
    purpose: Mapped[str] = mapped_column(String(500))
    valid_from: Mapped[datetime] = mapped_column(_UTC)
    valid_until: Mapped[datetime] = mapped_column(_UTC)
    granted_at: Mapped[datetime] = mapped_column(_UTC, default=clock.now)
    granted_by_key_id: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(_UTC, default=None)
    revoked_by_key_id: Mapped[int | None] = mapped_column(Integer, default=None)

    def valid_at(self, t: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= t:
            return False
        return self.valid_from <= t < self.valid_until

    def status_at(self, t: datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= t:
            return "revoked"
        if t < self.valid_from:
            return "not_yet_valid"
        if t >= self.valid_until:
            return "expired"
        return "active"


class ReportAccess(Base):
    """One request by a lender key for an entity's credit report, granted or refused."""

    __tablename__ = "report_access"
    __table_args__ = (Index("ix_report_access_entity_at", "entity_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(_UTC)
    entity_id: Mapped[str] = mapped_column(String(128))
    lender_id: Mapped[int | None] = mapped_column(Integer, default=None)
    key_id: Mapped[int] = mapped_column(Integer)
    granted: Mapped[bool] = mapped_column(Boolean)
    consent_id: Mapped[int | None] = mapped_column(Integer, default=None)
    #: the path asked for (JSON, page or PDF), without the query string
    path: Mapped[str] = mapped_column(String(300), default="")
    #: why it was refused ("no_consent", "consent_expired", ...), "" when granted
    reason: Mapped[str] = mapped_column(String(64), default="")


#: the name :func:`tanzhang.serve.ensure_demo_key` gives the development demo key
DEMO_KEY_NAME = "demo (development)"
