"""Real servers for integration tests and benchmarks: mosquitto and influxd.

Each server runs from the Debian package's binary, on a free loopback port, with its files in
a temporary folder, and is stopped afterwards. ``scripts/test.sh`` installs the packages when
they are missing; a missing binary here is an error, never a skip.

The mosquitto config sets ``max_queued_messages`` and ``max_queued_bytes`` for the backlog we
promise to hold (docs/design-notes.md trap 2: past the default 1,000 queued messages mosquitto drops silently),
and ``message_size_limit`` to the contract's 64 KiB as the deployed config does (0 = none, for
tests that must get an oversized payload to the gateway). With a password file it also sets
``use_username_as_clientid`` like the deployed config.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

MOSQUITTO_MAX_QUEUED = 1_000_000
#: The contract's payload limit [bytes]: the broker refuses larger publishes, like deploy/ does.
MOSQUITTO_MESSAGE_SIZE_LIMIT = 64 * 1024


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require(binary: str, package: str) -> str:
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if os.path.exists(f"/usr/sbin/{binary}") else None
    )
    if not path:
        raise RuntimeError(
            f"{binary} not found: install the Debian package {package} (scripts/test.sh does)"
        )
    return path


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(
        f"server did not listen on {port} within {timeout} s: {log.read_text(errors='replace')[-2000:]}"
    )


class _ServerProcess:
    """Start, stop and restart one server process whose output goes to a log file."""

    proc: subprocess.Popen[bytes] | None
    _log: IO[bytes] | None
    stop_timeout_s: float = 10

    def start(self) -> _ServerProcess:
        raise NotImplementedError

    def _spawn(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        self._log = log.open("ab")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        return self.proc

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Mosquitto(_ServerProcess):
    """A mosquitto broker in ``folder`` on ``port``; ``restart`` keeps its persistence file."""

    folder: Path
    port: int = field(default_factory=free_port)
    password_file: Path | None = None
    acl_file: Path | None = None
    message_size_limit: int = MOSQUITTO_MESSAGE_SIZE_LIMIT
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            "persistence true",
            f"persistence_location {self.folder}/",
            "autosave_interval 1",
            f"max_queued_messages {MOSQUITTO_MAX_QUEUED}",
            "max_queued_bytes 0",
            "max_inflight_messages 0",
            f"message_size_limit {self.message_size_limit}",
            "sys_interval 1",
            f"log_dest file {self.folder}/mosquitto.log",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            # As root mosquitto drops to user "mosquitto", which cannot write pytest's private
            # temporary folders: persistence would silently never be written.
            lines.append("user root")
        if self.password_file:
            lines.append(f"password_file {self.password_file}")
            # as deployed (deploy/mosquitto/mosquitto.conf): the user name is the client id,
            # so no one can take over another user's (a gateway's) persistent session
            lines.append("use_username_as_clientid true")
        if self.acl_file:
            lines.append(f"acl_file {self.acl_file}")
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> Mosquitto:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = _require("mosquitto", "mosquitto")
        log = self.folder / "stdout.log"
        self._spawn([binary, "-c", str(self._config())], log)
        _wait_port(self.port, 10, self.proc, log)
        return self


@dataclass
class Influxd(_ServerProcess):
    """An InfluxDB 1.x server in ``folder`` on ``port`` (HTTP) with its own RPC port."""

    folder: Path
    port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    stop_timeout_s: float = 20

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        f = self.folder
        conf = f / "influxdb.conf"
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{f}/meta"
[data]
  dir = "{f}/data"
  wal-dir = "{f}/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10s"
[coordinator]
  write-timeout = "10s"
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
"""
        )
        return conf

    def start(self) -> Influxd:
        self.folder.mkdir(parents=True, exist_ok=True)
        binary = _require("influxd", "influxdb")
        log = self.folder / "influxd.log"
        self._spawn([binary, "-config", str(self._config())], log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"influxd did not answer /ping: {log.read_text(errors='replace')[-2000:]}"
        )

    def query(self, q: str, db: str = "tanzhang") -> list[dict]:
        """Run InfluxQL and return the ``series`` of the first result (empty list for none)."""
        r = httpx.get(f"{self.url}/query", params={"q": q, "db": db, "epoch": "ms"}, timeout=30)
        r.raise_for_status()
        result = r.json()["results"][0]
        if "error" in result:
            raise RuntimeError(result["error"])
        return result.get("series", [])
