"""``tanzhang run`` from a clean data folder: the API answers, accounts fill and readings flow
within the first minute, and Ctrl-C stops everything cleanly.

The whole system runs as a real subprocess with its embedded broker (amqtt) and store (SQLite),
exactly as a newcomer starts it; only the back-filled history is shortened (200 days instead of
the default back to last 1 January) to keep the test short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.slow


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text(errors="replace") if path.exists() else ""
        if text in out:
            return out
        if proc.poll() is not None:
            raise AssertionError(f"tanzhang run exited {proc.returncode}:\n{out[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not printed within {timeout} s:\n{out[-3000:]}")


def test_run_from_clean_folder_serves_accounts_and_live_readings(tmp_path: Path) -> None:
    api_port, gw_port = free_port(), free_port()
    env = {
        **os.environ,
        "TANZHANG_DATA_DIR": str(tmp_path / "data"),
        "TANZHANG_API_PORT": str(api_port),
        "TANZHANG_GATEWAY_HTTP_PORT": str(gw_port),
    }
    for var in ("TANZHANG_MQTT_URL", "TANZHANG_INFLUX_URL", "TANZHANG_CONFIG", "TANZHANG_REGISTRY"):
        env.pop(var, None)
    err = tmp_path / "stderr.log"
    started = time.monotonic()
    with err.open("wb") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tanzhang.cli", "run", "--history-days", "200"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
        )
        try:
            banner = _wait_for(err, "Press Ctrl-C to stop.", proc, timeout=60)
            assert time.monotonic() - started < 60
            key = next(line.split()[3] for line in banner.splitlines() if "demo API key" in line)
            base = f"http://127.0.0.1:{api_port}"
            headers = {"X-API-Key": key}

            assert httpx.get(f"{base}/v1/health", timeout=10).status_code == 200
            accounts = httpx.get(
                f"{base}/v1/accounts", params={"limit": 100}, headers=headers, timeout=10
            )
            assert accounts.status_code == 200, accounts.text
            ids = {a["entity_id"] for a in accounts.json()["items"]}
            assert {"factory-a", "factory-b", "forest-kh-01"} <= ids
            assert sum(1 for i in ids if i.startswith("huyou-")) == 6

            # closed day statements from the back-filled history are in the ledger
            bal = httpx.get(
                f"{base}/v1/accounts/line-a1/balance", headers=headers, timeout=10
            ).json()
            assert bal["emissions_t"] > 0

            # live readings keep arriving: the line's energy register advances
            def energy_ts() -> str:
                rows = httpx.get(
                    f"{base}/v1/entities/line-a1/latest", headers=headers, timeout=10
                ).json()
                return max(r["ts"] for r in rows if r["field"] == "energy_kwh_total")

            first = energy_ts()
            deadline = time.monotonic() + 40
            while energy_ts() <= first:
                assert time.monotonic() < deadline, "no live reading arrived within 40 s"
                time.sleep(1)

            gw = httpx.get(f"http://127.0.0.1:{gw_port}/health", timeout=10).json()
            assert gw["status"] == "ok" and gw["rejected"] == {}
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(60)
    assert code == 0, err.read_text()[-3000:]
    assert "tanzhang stopped." in err.read_text()
