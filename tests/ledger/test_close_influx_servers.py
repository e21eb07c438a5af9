"""``tanzhang close`` and the scheduled close against a real influxd whose database no gateway
has created yet.

The close makes the store ready as the gateway does (``CREATE DATABASE``, idempotent in
InfluxDB 1.x); when it cannot — the server unreachable, or the database missing and the user
no admin — it says what is missing on one line of standard error and exits 2.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.cli import close_main
from ledger.db import make_engine, make_session_factory, upgrade
from ledger.scheduler import run_close_job
from tanzhang.settings import Settings
from telemetry.registry import Registry
from telemetry.stores import open_store_from_settings
from tests.servers import Influxd, free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

REGISTRY = """
[[entities]]
id = "factory-a"
kind = "factory"

[[entities]]
id = "line-a1"
kind = "line"
parent = "factory-a"
"""
ADMIN = ("admin", "admin-pass")
USER = ("tanzhang", "user-pass")


def _settings(tmp_path: Path, url: str, db: str, **kw: str) -> Settings:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    return Settings(
        data_dir=tmp_path, registry=tmp_path / "registry.toml", influx_url=url, influx_db=db, **kw
    )


def _databases(url: str, auth: tuple[str, str] | None = None) -> list[str]:
    doc = httpx.post(f"{url}/query", data={"q": "SHOW DATABASES"}, auth=auth).json()
    return [row[0] for row in doc["results"][0]["series"][0].get("values", [])]


def test_close_creates_the_missing_database(
    tmp_path: Path, influxd_session: Influxd, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"close_{uuid.uuid4().hex[:8]}"
    assert db not in _databases(influxd_session.url)
    settings = _settings(tmp_path, influxd_session.url, db)
    assert close_main(settings, ["--date", "2026-01-05"]) == 0
    out = capsys.readouterr()
    assert db in _databases(influxd_session.url)
    assert out.out.splitlines() == [
        "factory-a day 2026-01-05: posted v1 net +0.000000 t CO2e",
        "line-a1 day 2026-01-05: posted v1 net +0.000000 t CO2e",
    ]
    assert out.err == ""


def test_scheduled_close_creates_the_missing_database(
    tmp_path: Path, influxd_session: Influxd
) -> None:
    """A scheduler started before any gateway: its hourly job makes the database and closes
    (before, every run failed with "database not found" until a gateway came up)."""
    db = f"sched_{uuid.uuid4().hex[:8]}"
    settings = _settings(tmp_path, influxd_session.url, db)
    engine = make_engine(settings.accounts_url)
    upgrade(engine)
    store = open_store_from_settings(settings)
    try:
        ents = list(Registry.load(settings.registry_path).entities.values())
        results = run_close_job(make_session_factory(engine), store, lambda: ents, "day")
    finally:
        store.close()
        engine.dispose()
    assert db in _databases(influxd_session.url)
    assert results is not None
    assert all(r.error is None for r in results), results


def test_unreachable_influxdb_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://tanzhang:not-shown@127.0.0.1:{free_port()}"
    assert close_main(_settings(tmp_path, url, "tanzhang"), ["--catch-up"]) == 2
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("tanzhang close: the telemetry store cannot be used: InfluxDB at")
    assert "http://tanzhang:***@127.0.0.1" in lines[0] and "unreachable" in lines[0]
    assert "not-shown" not in out.err and out.out == ""


class AuthInfluxd(Influxd):
    """influxd with authentication on, an admin and a user who is no admin (as compose's)."""

    def _config(self) -> Path:
        conf = super()._config()
        text = conf.read_text().replace(
            "[http]\n  enabled = true", "[http]\n  enabled = true\n  auth-enabled = true"
        )
        assert "auth-enabled" in text
        conf.write_text(text)
        return conf

    def admin(self, q: str) -> None:
        doc = httpx.post(f"{self.url}/query", data={"q": q}, auth=ADMIN).json()
        assert "error" not in doc and "error" not in doc["results"][0], doc


@pytest.fixture
def auth_influxd(tmp_path: Path) -> Iterator[AuthInfluxd]:
    server = AuthInfluxd(tmp_path / "influxd").start()
    try:  # with no user yet, the first (admin) user may be made without credentials
        first = f"CREATE USER {ADMIN[0]} WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES"
        assert "error" not in httpx.post(f"{server.url}/query", data={"q": first}).json()
        server.admin(f"CREATE USER {USER[0]} WITH PASSWORD '{USER[1]}'")
        yield server
    finally:
        server.stop()


def test_no_admin_rights(
    tmp_path: Path,
    auth_influxd: AuthInfluxd,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A user who is no admin may not create the database: one line says what to do; once an
    admin made it (as compose's influxdb image does) the close runs with that user."""
    settings = _settings(
        tmp_path, auth_influxd.url, "tanzhang", influx_user=USER[0], influx_password=USER[1]
    )
    assert close_main(settings, ["--date", "2026-01-05"]) == 2
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert len(lines) == 1, out.err
    assert "InfluxDB database 'tanzhang'" in lines[0] and "is missing" in lines[0]
    assert 'CREATE DATABASE "tanzhang"' in lines[0] and "user-pass" not in out.err

    auth_influxd.admin("CREATE DATABASE tanzhang")
    auth_influxd.admin(f"GRANT ALL ON tanzhang TO {USER[0]}")
    assert close_main(settings, ["--date", "2026-01-05"]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 2 and "posted v1" in out.out and out.err == ""
    # the retention policy stays the server's (changing it needs an admin), and it says so
    assert "event=retention_not_managed db=tanzhang default_policy=autogen" in caplog.text
