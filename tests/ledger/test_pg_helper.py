"""tests/pg.py says what to install when the PostgreSQL binaries are missing."""

import pytest

from tests.pg import PostgresUnavailable, postgres_server


def test_missing_binaries_fail_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("TANZHANG_PG_BINDIR", str(tmp_path / "nowhere"))
    with (
        pytest.raises(PostgresUnavailable, match="apt-get install -y postgresql-15"),
        postgres_server(),
    ):
        pass
