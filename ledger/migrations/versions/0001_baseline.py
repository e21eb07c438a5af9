"""Baseline: the accounts database of release 0.1.0, as its create_schema made it.

Revision ID: 0001
Revises:
Create Date: 2026-12-03

An empty database gets every table. A database made before migrations (release 0.1.0 or an
older one: tables but no ``alembic_version``) keeps its tables and rows and gets what
``create_schema`` added in place until then:

* the tables it lacks (``lender``, ``report_consent`` ... in a database made before them, or
  the access tables in one only ``tanzhang close`` ever opened);
* ``api_key.lender_id`` (NULL: no key was a lender's);
* ``api_key.development_only``, with the keys named ``demo (development)`` marked, so that a
  data folder first run by ``tanzhang run`` does not carry an ordinary key into production;
* idempotency keys unique per account (``uq_redemption_account_key``) instead of unique over
  all accounts: PostgreSQL swaps the constraint, SQLite copies the table (batch mode).

The tables are written out below as they were in that release, not imported from the models,
which go on changing in later revisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the name the development demo key had (access.models.DEMO_KEY_NAME in release 0.1.0)
DEMO_KEY_NAME = "demo (development)"
REDEMPTION_KEY_CONSTRAINT = "uq_redemption_account_key"


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def baseline() -> sa.MetaData:
    """The tables of release 0.1.0 (ledger.models.Tonnes was a BIGINT of grams,
    UTCDateTime a timestamp with time zone)."""
    md = sa.MetaData()
    sa.Table(
        "account",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("booking_period", sa.String(length=8), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entity_id"),
        sa.Index("ix_account_parent", "parent"),
    )
    sa.Table(
        "factor_set",
        md,
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("ref", _json(), nullable=False),
        sa.Column("first_seen", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    sa.Table(
        "posted_statement",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", _utc(), nullable=False),
        sa.Column("period_end", _utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("emissions_t", sa.BigInteger(), nullable=False),
        sa.Column("removals_t", sa.BigInteger(), nullable=False),
        sa.Column("net_t", sa.BigInteger(), nullable=False),
        sa.Column("statement", _json(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("factor_set", _json(), nullable=True),
        sa.Column("data_window", _json(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("superseded_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "period_kind", "period_start", "version"),
        sa.Index(
            "ux_posted_statement_current",
            "account_id",
            "period_kind",
            "period_start",
            unique=True,
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        ),
        sa.Index("ix_posted_statement_period", "account_id", "period_kind", "period_start"),
    )
    sa.Table(
        "redemption",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("amount_t", sa.BigInteger(), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("fertiliser_amount", sa.Float(), nullable=False),
        sa.Column("fertiliser_unit", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "key", name=REDEMPTION_KEY_CONSTRAINT),
        sa.Index("ix_redemption_account_id", "account_id"),
    )
    sa.Table(
        "ledger_entry",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("redemption_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_t", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", _utc(), nullable=False),
        sa.Column("posted_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemption.id"]),
        sa.ForeignKeyConstraint(["reverses_id"], ["ledger_entry.id"]),
        sa.ForeignKeyConstraint(["statement_id"], ["posted_statement.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_ledger_entry_account_effective", "account_id", "effective_at"),
        sa.Index("ix_ledger_entry_statement_id", "statement_id"),
    )
    sa.Table(
        "lender",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    sa.Table(
        "api_key",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.Column("development_only", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lender_id"], ["lender.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_api_key_key_hash", "key_hash", unique=True),
    )
    sa.Table(
        "report_consent",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("valid_from", _utc(), nullable=False),
        sa.Column("valid_until", _utc(), nullable=False),
        sa.Column("granted_at", _utc(), nullable=False),
        sa.Column("granted_by_key_id", sa.Integer(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.Column("revoked_by_key_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lender_id"], ["lender.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_report_consent_entity_lender", "entity_id", "lender_id"),
    )
    sa.Table(
        "report_access",
        md,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_report_access_entity_at", "entity_id", "at"),
    )
    return md


def upgrade() -> None:
    bind = op.get_bind()
    tables = baseline()
    existing = set(sa.inspect(bind).get_table_names())
    for table in tables.sorted_tables:  # referenced tables first
        if table.name not in existing:
            table.create(bind)  # CREATE TABLE and its indexes, as create_all did
    if "api_key" in existing:
        _add_lender_id(bind)
        _add_development_only(bind)
    if "redemption" in existing:
        _scope_redemption_keys(bind, tables.tables["redemption"])


def downgrade() -> None:
    for table in reversed(baseline().sorted_tables):
        op.drop_table(table.name)


def _columns(bind: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(bind).get_columns(table)}


def _add_lender_id(bind: sa.Connection) -> None:
    """``api_key.lender_id`` for a table made before lenders (NULL: no key was a lender)."""
    if "lender_id" not in _columns(bind, "api_key"):
        op.execute("ALTER TABLE api_key ADD COLUMN lender_id INTEGER REFERENCES lender(id)")


def _add_development_only(bind: sa.Connection) -> None:
    """``api_key.development_only`` for a table made before it; the demo keys it holds are
    marked."""
    if "development_only" in _columns(bind, "api_key"):
        return
    false = "0" if bind.dialect.name == "sqlite" else "false"
    op.execute(f"ALTER TABLE api_key ADD COLUMN development_only BOOLEAN NOT NULL DEFAULT {false}")
    op.execute(
        sa.text("UPDATE api_key SET development_only = :yes WHERE name = :name").bindparams(
            yes=True, name=DEMO_KEY_NAME
        )
    )


def _global_key_constraint(bind: sa.Connection) -> tuple[str, str] | None:
    """A unique constraint or index on ``redemption.key`` alone: ("constraint" or "index",
    its name; "" for SQLite's unnamed inline ``UNIQUE``), or None."""
    insp = sa.inspect(bind)
    for uc in insp.get_unique_constraints("redemption"):
        if uc["column_names"] == ["key"]:
            return "constraint", uc.get("name") or ""
    for ix in insp.get_indexes("redemption"):
        if ix.get("unique") and ix["column_names"] == ["key"]:
            return "index", ix["name"] or ""
    return None


def _scope_redemption_keys(bind: sa.Connection, redemption: sa.Table) -> None:
    """Replace a unique ``redemption.key`` (databases made before keys were scoped to the
    account) by the unique (``account_id``, ``key``) of release 0.1.0."""
    found = _global_key_constraint(bind)
    if found is None:
        return
    kind, name = found
    if bind.dialect.name == "postgresql":
        if kind == "constraint":
            op.drop_constraint(name, "redemption", type_="unique")
        else:
            op.drop_index(name, table_name="redemption")
        op.create_unique_constraint(REDEMPTION_KEY_CONSTRAINT, "redemption", ["account_id", "key"])
    elif bind.dialect.name == "sqlite":
        # SQLite cannot drop a constraint: the table is copied into one made from the
        # definition above (rows, ids and the index included), then renamed
        if kind == "index":
            op.drop_index(name, table_name="redemption")
        with op.batch_alter_table("redemption", copy_from=redemption, recreate="always"):
            pass
    else:
        raise RuntimeError(
            f"redemption.key is unique overall on {bind.dialect.name}: replace {kind} "
            f"{name!r} by UNIQUE (account_id, key) by hand"
        )
