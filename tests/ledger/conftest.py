"""Fixtures of the accounts tests: every ledger test runs on SQLite and on PostgreSQL.

PostgreSQL is a real server (Debian ``postgresql-15``) started once per test session by
:func:`tests.pg.postgres_server`; each test gets a fresh database on it. When the binaries
are missing the PostgreSQL cases fail with the installation hint, they are not skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import make_engine, make_session_factory, upgrade
from ledger.registry_sync import ensure_accounts
from tests.pg import PostgresServer, postgres_server

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.servers),
]

ENTITIES = [
    {"id": "factory-a", "kind": "factory", "name": "Factory A"},
    {"id": "line-a1", "kind": "line", "parent": "factory-a"},
    {"id": "orchard-1", "kind": "orchard", "name": "胡柚园 1"},
    {"id": "forest-1", "kind": "forest"},
]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        ensure_accounts(s, ENTITIES)
        yield s
