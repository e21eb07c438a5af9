"""The development demo key of ``tanzhang run`` is refused outside development, never made there.

The probe of issue 10 runs for real: ``tanzhang run`` first fills a data folder (its banner
prints the demo key, which works), then ``tanzhang api`` with ``TANZHANG_ENVIRONMENT=production``
on the same folder refuses that key while a key made with ``tanzhang keys create`` works.
An accounts database made before keys could be development-only (no column) is migrated:
its demo key is marked, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from access.keys import find_key, generate_key, hash_key
from access.models import DEMO_KEY_NAME
from ledger.db import upgrade
from tanzhang.run import _demo_key
from tanzhang.serve import ensure_demo_key
from tanzhang.settings import Settings
from tests.pg import postgres_server
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    return env | {"TANZHANG_DATA_DIR": str(data)} | extra


def _wait_text(log: Path, needle: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace") if log.exists() else ""
        if needle in out:
            return out
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}:\n{out[-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} not printed within {timeout} s:\n{out[-3000:]}")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.timeout(300)
def _report_key(folder: Path) -> Path:
    """A production report-signing key made the documented way (tanzhang report keygen)."""
    path = folder / "report-signing-key.pem"
    subprocess.run(
        [sys.executable, "-m", "tanzhang.cli", "report", "keygen", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def test_demo_key_of_a_run_folder_is_refused_in_production(tmp_path: Path) -> None:
    data = tmp_path / "data"
    api_port = free_port()
    base = f"http://127.0.0.1:{api_port}"

    # 1. `tanzhang run` (development) fills the folder; its demo key works there
    log = tmp_path / "run.log"
    run_env = _env(
        data,
        TANZHANG_API_PORT=str(api_port),
        TANZHANG_GATEWAY_HTTP_PORT=str(free_port()),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tanzhang.cli", "run", "--history-days", "200"],
            env=run_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    try:
        banner = _wait_text(log, "Press Ctrl-C to stop.", proc, timeout=180)
        demo = next(line.split()[3] for line in banner.splitlines() if "demo API key" in line)
        ok = httpx.get(f"{base}/v1/accounts", headers={"X-API-Key": demo}, timeout=10)
        assert ok.status_code == 200, ok.text
    finally:
        _stop(proc)
    assert proc.returncode == 0, log.read_text()[-3000:]

    # 2. the same folder served in production: the demo key is refused, a real key works
    prod = _env(
        data,
        TANZHANG_ENVIRONMENT="production",
        TANZHANG_REPORT_SIGNING_KEY=str(_report_key(tmp_path)),
    )
    created = subprocess.run(
        [sys.executable, "-m", "tanzhang.cli", "keys", "create", "--role", "operator"],
        env=prod,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    real = created.stdout.strip()
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen(
            [sys.executable, "-m", "tanzhang.cli", "api", "--port", str(api_port),
             "--no-scheduler"],
            env=prod | {"TANZHANG_GATEWAY_HTTP_PORT": "0"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert api.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        for headers in ({"X-API-Key": demo}, {"Authorization": f"Bearer {demo}"}):
            refused = httpx.get(f"{base}/v1/accounts", headers=headers, timeout=10)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "development_key_refused"
        page = httpx.get(f"{base}/dashboards/", timeout=10)
        assert demo not in page.text  # the pages do not hand it out either
        works = httpx.get(f"{base}/v1/accounts", headers={"X-API-Key": real}, timeout=10)
        assert works.status_code == 200, works.text
    finally:
        _stop(api, signal.SIGTERM)
    assert "event=demo_key_refused keys=1" in log.read_text()
    assert demo not in log.read_text()


def test_demo_key_is_never_made_outside_development(tmp_path: Path) -> None:
    key = generate_key()[0]
    prod = Settings(
        environment="production",
        data_dir=tmp_path,
        demo_api_key=key,
        report_signing_key=tmp_path / "report-signing-key.pem",
    )
    assert _demo_key(prod) == key  # only what was configured: nothing written
    assert not (tmp_path / "demo_api_key").exists()
    engine = create_engine(f"sqlite:///{tmp_path / 'accounts.db'}")
    upgrade(engine)  # as `tanzhang api` and `tanzhang run` do before they store the key
    assert ensure_demo_key(prod, engine) is None
    with Session(engine) as session:
        assert find_key(session, key) is None
    dev = Settings(environment="development", data_dir=tmp_path)
    made = _demo_key(dev)
    assert (tmp_path / "demo_api_key").read_text().strip() == made
    assert ensure_demo_key(dev.model_copy(update={"demo_api_key": made}), engine) == made
    with Session(engine) as session:
        assert find_key(session, made).development_only


# the api_key table as it was before keys could be development-only
OLD_TABLE = """CREATE TABLE api_key (
    id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, role VARCHAR(32) NOT NULL,
    entities JSON NOT NULL, prefix VARCHAR(16) NOT NULL, key_hash VARCHAR(64) NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP)"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'accounts.db'}"
        return
    with postgres_server() as pg:
        yield pg.create_database()


def test_old_database_gets_its_demo_key_marked(database_url: str) -> None:
    engine = create_engine(database_url)
    demo, ops = generate_key()[0], generate_key()[0]
    with engine.begin() as conn:
        conn.execute(text(OLD_TABLE.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")
                          if engine.dialect.name == "postgresql" else OLD_TABLE))  # fmt: skip
        for name, key in ((DEMO_KEY_NAME, demo), ("ops", ops)):
            conn.execute(
                text(
                    "INSERT INTO api_key (name, role, entities, prefix, key_hash, created_at) "
                    "VALUES (:name, 'operator', '[]', 'abcd1234', :hash, CURRENT_TIMESTAMP)"
                ),
                {"name": name, "hash": hash_key(key)},
            )
    upgrade(engine)
    upgrade(engine)  # idempotent
    with Session(engine) as session:
        assert find_key(session, demo).development_only
        assert not find_key(session, ops).development_only
    engine.dispose()
