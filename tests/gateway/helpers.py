"""Helpers of the gateway tests: a registry file, load publishing, a gateway subprocess, counts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from telemetry.registry import Device, Entity, Registry
from tests.servers import Influxd, Mosquitto

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "tanzhang/v1"
ENTITY = "line-a1"
#: 2026-01-01T00:00:00Z [ms]: inside the retention, in the past.
T0_MS = 1_767_225_600_000


def write_registry(path: Path, devices: Iterable[str], entity: str = ENTITY) -> Registry:
    reg = Registry([Entity("factory-a", "factory"), Entity(entity, "line", parent="factory-a")])
    for dev in devices:
        reg.add_device(Device(dev, entity, "electricity_meter"))
    reg.save(path)
    return reg


def reading_line(seq: int, *, device_index: int = 0) -> str:
    """One data payload: ts = T0 + seq seconds (+ device offset [ms]), energy = seq."""
    return json.dumps(
        {
            "ts": T0_MS + seq * 1000 + device_index,
            "seq": seq,
            "values": {"energy_kwh_total": float(seq), "power_kw": 1.5},
        },
        separators=(",", ":"),
    )


def topic(device: str, channel: str = "data", entity: str = ENTITY) -> str:
    return f"{PREFIX}/{entity}/{device}/{channel}"


def mosquitto_pub(
    broker: Mosquitto, topic_: str, lines: list[str], *, qos: int = 1, chunk: int = 50_000
) -> None:
    """Publish each line as one message with ``mosquitto_pub -l`` (chunks: docs/design-notes.md trap 4)."""
    binary = shutil.which("mosquitto_pub")
    assert binary, "mosquitto_pub missing: install mosquitto-clients"
    for i in range(0, len(lines), chunk):
        body = ("\n".join(lines[i : i + chunk]) + "\n").encode()
        subprocess.run(
            [binary, "-h", "127.0.0.1", "-p", str(broker.port), "-q", str(qos), "-t", topic_, "-l"],
            input=body,
            check=True,
            timeout=120,
        )


def publish_one(broker: Mosquitto, topic_: str, payload: bytes, *, retain: bool = False) -> None:
    binary = shutil.which("mosquitto_pub")
    assert binary
    args = [binary, "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", topic_, "-s"]
    if retain:
        args.append("-r")
    subprocess.run(args, input=payload, check=True, timeout=30)


def count_points(
    influxd: Influxd, db: str, field: str = "energy_kwh_total", where: str = ""
) -> int:
    try:
        series = influxd.query(f'SELECT count("{field}") FROM telemetry {where}', db=db)
    except RuntimeError as exc:
        if "database not found" in str(exc):
            return 0
        raise
    return int(series[0]["values"][0][1]) if series else 0


def wait_for(
    predicate: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.25
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def wait_count(influxd: Influxd, db: str, expected: int, timeout_s: float) -> int:
    """Poll until the stored count reaches ``expected``; return the last count."""
    last = -1

    def reached() -> bool:
        nonlocal last
        last = count_points(influxd, db)
        return last >= expected

    with contextlib.suppress(AssertionError):
        wait_for(reached, timeout_s, f"{expected} points in {db}")
    return last


def gateway_env(
    *,
    broker: Mosquitto,
    influxd: Influxd,
    db: str,
    data_dir: Path,
    registry: Path,
    client_id: str = "gw-test-1",
    share_group: str | None = None,
    batch_size: int = 500,
    batch_age_ms: int = 100,
    spool_max_bytes: int = 1 << 30,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    env.update(
        TANZHANG_MQTT_URL=broker.url,
        TANZHANG_INFLUX_URL=influxd.url,
        TANZHANG_INFLUX_DB=db,
        TANZHANG_DATA_DIR=str(data_dir),
        TANZHANG_REGISTRY=str(registry),
        TANZHANG_MQTT_CLIENT_ID=client_id,
        TANZHANG_BATCH_SIZE=str(batch_size),
        TANZHANG_BATCH_AGE_MS=str(batch_age_ms),
        TANZHANG_SPOOL_MAX_BYTES=str(spool_max_bytes),
        TANZHANG_GATEWAY_HTTP_PORT="0",
        PYTHONPATH=str(ROOT),
    )
    if share_group:
        env["TANZHANG_MQTT_SHARE_GROUP"] = share_group
    return env


class GatewayProcess:
    """``tanzhang gateway`` as a subprocess (for SIGKILL tests), logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        with self.log_path.open("ab") as log:
            start = self.log_path.stat().st_size
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tanzhang.cli", "gateway"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: (
                "event=mqtt_connected" in self.log_path.read_text(errors="replace")[start:]
                or self.proc.poll() is not None
            ),  # type: ignore[union-attr]
            20,
            "gateway to connect",
            0.1,
        )
        assert self.proc.poll() is None, self.log()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class PacedPublisher:
    """Publish ``lines`` to ``topic_`` in chunks of ``chunk`` every ``pause_s`` (a thread)."""

    def __init__(
        self, broker: Mosquitto, topic_: str, lines: list[str], *, chunk: int, pause_s: float
    ) -> None:
        import threading

        self.broker, self.topic, self.lines = broker, topic_, lines
        self.chunk, self.pause_s = chunk, pause_s
        self.error: BaseException | None = None
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for i in range(0, len(self.lines), self.chunk):
                part = self.lines[i : i + self.chunk]
                mosquitto_pub(self.broker, self.topic, part)
                self.sent += len(part)
                time.sleep(self.pause_s)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def start(self) -> PacedPublisher:
        self._thread.start()
        return self

    def join(self, timeout_s: float = 120) -> None:
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "publisher still running"
        if self.error:
            raise self.error


#: MQTT users of :func:`secured_mosquitto`: two gateway replicas (read device topics, may not
#: write them; each its own user, since the broker makes the user name the client id) and a
#: replay user (may write every device topic: the ``--simulator-user`` role).
GATEWAY_USER, GATEWAY_PASSWORD = "gateway", "gateway-pass"
OTHER_GATEWAY_USER = "gateway-2"  # same password
REPLAY_USER, REPLAY_PASSWORD = "replayer", "replayer-pass"


def secured_mosquitto(folder: Path, registry: Path) -> Mosquitto:
    """A mosquitto with the password and ACL files ``tanzhang registry export`` writes."""
    import io

    from telemetry.registry_cli import main

    pw, acl = folder / "passwd", folder / "acl"
    folder.mkdir(parents=True, exist_ok=True)
    argv = ["export", "--passwd", str(pw), "--acl", str(acl)]
    argv += ["--gateway-user", GATEWAY_USER, "--gateway-user", OTHER_GATEWAY_USER]
    argv += ["--gateway-password", GATEWAY_PASSWORD]
    argv += ["--simulator-user", REPLAY_USER, "--simulator-password", REPLAY_PASSWORD]
    err = io.StringIO()
    code = main(argv, registry_path=registry, stdout=io.StringIO(), stderr=err, stdin=io.StringIO())
    assert code == 0, err.getvalue()
    return Mosquitto(folder / "broker", password_file=pw, acl_file=acl).start()


def user_url(broker: Mosquitto, user: str, password: str) -> str:
    return f"mqtt://{user}:{password}@127.0.0.1:{broker.port}"
