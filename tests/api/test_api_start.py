"""``tanzhang api`` that cannot start says why on one line, without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _api(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    return subprocess.run(
        [sys.executable, "-m", "tanzhang.cli", "api", "--port", str(free_port())],
        env=base | {"TANZHANG_GATEWAY_HTTP_PORT": "0"} | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_data_folder_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "data"
    run = _api(tmp_path, TANZHANG_DATA_DIR=str(missing))
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("tanzhang api: the data folder") and str(missing) in lines[0]
    assert "does not exist" in lines[0] and "Traceback" not in run.stderr
    assert not missing.exists()  # nothing made on the way


def test_unreachable_accounts_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://tanzhang:not-to-be-shown@127.0.0.1:{free_port()}/tanzhang"
    run = _api(tmp_path, TANZHANG_DATA_DIR=str(tmp_path), TANZHANG_DATABASE_URL=url)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "cannot open the accounts database" in lines[0] and "tanzhang:***@" in lines[0]
    assert "not-to-be-shown" not in run.stderr and "Traceback" not in run.stderr


def test_malformed_demo_key_is_one_line_without_the_key(tmp_path: Path) -> None:
    bad = "tzk_short_not-a-real-key"
    run = _api(tmp_path, TANZHANG_DATA_DIR=str(tmp_path), TANZHANG_DEMO_API_KEY=bad)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "TANZHANG_DEMO_API_KEY" in lines[0] and "tzk_<8 hex>_<32+ characters>" in lines[0]
    assert bad not in run.stderr and "Traceback" not in run.stderr
