"""Tables of the accounts database (SQLAlchemy 2 typed ORM).

Quantities are tonnes of CO2-equivalent [t CO2e]. They are stored as integer grams
(:class:`Tonnes`), so that sums in the database are exact on SQLite and PostgreSQL alike
and a balance check can never be fooled by floating-point drift; in Python they read as
``float`` tonnes rounded to the gram (1e-6 t).

Sign convention: ``net_t = removals_t - emissions_t``; positive means a net sink (the entity
fixed more than it emitted). Ledger entry amounts are signed the same way: an emission debit
is negative, a removal credit positive, a redemption negative, a reversal the exact
opposite of the entry it reverses.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from sitetime import clock

GRAMS_PER_TONNE = 1_000_000

#: the kinds of entity that hold an account (the registry's ``kind``)
ENTITY_KINDS = ("factory", "line", "orchard", "forest")
#: the kinds of ledger entry
ENTRY_KINDS = ("emission_debit", "removal_credit", "reversal", "redemption")


def tonnes_to_grams(value_t: float) -> int:
    """Round a quantity in tonnes [t] to whole grams [g]; refuse NaN and infinities."""
    value_t = float(value_t)
    if not math.isfinite(value_t):
        raise ValueError(f"{value_t} is not a finite number of tonnes")
    return round(value_t * GRAMS_PER_TONNE)


def utcnow() -> datetime:
    """The current instant [aware UTC] from the product's clock (:mod:`sitetime.clock`)."""
    return clock.now()


class Tonnes(TypeDecorator[float]):
    """A quantity in tonnes [t] held as a BIGINT of grams [g]."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> int | None:
        return None if value is None else tonnes_to_grams(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else int(value) / GRAMS_PER_TONNE


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; naive values are refused rather than guessed.

    PostgreSQL stores ``timestamptz``; SQLite, which has no time zones, stores the UTC wall
    time, and the zone is re-attached on reading.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Account(Base):
    """One account per entity of the registry.

    ``booking_period`` is the period kind whose statements post ledger entries (``day`` by
    default). Statements of other kinds are kept for reports and dashboards but don't move
    the balance, so an hour, its day and its month are never counted three times.
    """

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    booking_period: Mapped[str] = mapped_column(String(8), default="day")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Account({self.entity_id!r}, kind={self.kind!r}, parent={self.parent!r})"


class PostedStatement(Base):
    """One version of an entity's statement for one period.

    Versions of the same (account, period kind, period start) are numbered from 1; exactly
    one is ``current``. A restatement keeps the earlier versions with ``current=False`` and
    ``superseded_at`` set.
    """

    __tablename__ = "posted_statement"
    __table_args__ = (
        UniqueConstraint("account_id", "period_kind", "period_start", "version"),
        Index(
            "ux_posted_statement_current",
            "account_id",
            "period_kind",
            "period_start",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_posted_statement_period", "account_id", "period_kind", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    current: Mapped[bool] = mapped_column("is_current", default=True)
    emissions_t: Mapped[float] = mapped_column(Tonnes)
    removals_t: Mapped[float] = mapped_column(Tonnes)
    net_t: Mapped[float] = mapped_column(Tonnes)
    statement: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    digest: Mapped[str] = mapped_column(String(64))
    factor_set: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    data_window: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    coverage: Mapped[float | None] = mapped_column(Float)
    booked: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(lazy="joined")
    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="statement", order_by="LedgerEntry.id"
    )

    @property
    def entity_id(self) -> str:
        return self.account.entity_id

    def __repr__(self) -> str:
        return (
            f"PostedStatement({self.account.entity_id!r}, {self.period_kind} "
            f"{self.period_start.isoformat()}, v{self.version}, current={self.current}, "
            f"emissions_t={self.emissions_t}, removals_t={self.removals_t})"
        )


class FactorSetRecord(Base):
    """A factor set's full reference (sources included), stored once per digest.

    Statements keep ``{name, version, digest, includes, overrides}``; the digest leads here
    to the sources, so thousands of statements don't each repeat the same ~4 KB of text.
    """

    __tablename__ = "factor_set"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str | None] = mapped_column(String(40))
    ref: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: the unique constraint that scopes idempotency keys to an account
REDEMPTION_KEY_CONSTRAINT = "uq_redemption_account_key"


class Redemption(Base):
    """A redemption of net fixed carbon for commercial organic fertiliser (Changshan rule).

    ``amount_t`` [t CO2e] leaves the account; ``fertiliser_amount`` [``fertiliser_unit``]
    is what the holder receives (``amount_t * ratio``). The idempotency ``key`` is unique per
    account: the database, not the application, decides that a key was used before.
    """

    __tablename__ = "redemption"
    __table_args__ = (UniqueConstraint("account_id", "key", name=REDEMPTION_KEY_CONSTRAINT),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    key: Mapped[str] = mapped_column(String(128))
    amount_t: Mapped[float] = mapped_column(Tonnes)
    ratio: Mapped[float] = mapped_column(Float)
    fertiliser_amount: Mapped[float] = mapped_column(Float)
    fertiliser_unit: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(lazy="joined")

    @property
    def entity_id(self) -> str:
        return self.account.entity_id


class LedgerEntry(Base):
    """One signed movement on an account [t CO2e].

    ``effective_at`` places the movement in time for :func:`ledger.book.balance`: the
    end of the statement's period (a reversal takes the effective time of the entry it
    reverses), or the time of a redemption. ``posted_at`` is when it was written.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_account_effective", "account_id", "effective_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("posted_statement.id"), index=True)
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemption.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_t: Mapped[float] = mapped_column(Tonnes)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    statement: Mapped[PostedStatement | None] = relationship(back_populates="entries")

    def __repr__(self) -> str:
        return (
            f"LedgerEntry({self.kind}, {self.amount_t:+.6f} t, "
            f"effective {self.effective_at.isoformat()}, reverses={self.reverses_id})"
        )
