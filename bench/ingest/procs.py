"""Processes of the ingest benchmark: a gateway subprocess with its RSS sampled; the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class Gateway:
    """``tanzhang gateway`` (``python -m tanzhang.cli gateway``) with its own /health port; RSS sampled while it runs."""

    def __init__(self, env: dict[str, str], gid: str, folder: Path) -> None:
        self.port = free_port()
        self.env = {
            **env,
            "TANZHANG_MQTT_CLIENT_ID": gid,
            "TANZHANG_GATEWAY_HTTP_PORT": str(self.port),
        }
        self.log = folder / f"{gid}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.rss_max_kb = 0
        self._stop = threading.Event()

    def start(self) -> Gateway:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tanzhang.cli", "gateway"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.health()["mqtt_connected"]:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"gateway did not start: {self.log.read_text()[-2000:]}")
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set() and self.proc and self.proc.poll() is None:
            try:
                for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.rss_max_kb = max(self.rss_max_kb, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.2)

    def health(self) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5).json()

    def stop(self) -> None:
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
        drop_session(self.env["TANZHANG_MQTT_URL"], self.env["TANZHANG_MQTT_CLIENT_ID"])


def drop_session(url: str, client_id: str) -> None:
    """End a gateway's persistent session, so that later phases do not queue for it."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    port = int(url.rsplit(":", 1)[1])
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    client.connect("127.0.0.1", port, clean_start=True, properties=props)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()
