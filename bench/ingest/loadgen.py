"""Load generation with ``mosquitto_pub`` (C client): never the bottleneck (docs/design-notes.md trap 4).

One ``mosquitto_pub -l`` process per device topic, chunks of at most 50,000 lines (at QoS 1
``mosquitto_pub -l`` stops after 65,535 lines), all devices in parallel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
CHUNK = 50_000


def payload(seq: int, device_index: int) -> str:
    """One reading: a distinct timestamp per (device, seq) and ``energy_kwh_total = seq``."""
    return json.dumps(
        {
            "ts": T0_MS + seq * 1000 + device_index,
            "seq": seq,
            "values": {"energy_kwh_total": float(seq), "power_kw": 12.5},
        },
        separators=(",", ":"),
    )


def _binary() -> str:
    b = shutil.which("mosquitto_pub")
    if not b:
        raise RuntimeError("mosquitto_pub missing: apt install mosquitto-clients")
    return b


def publish_lines(port: int, topic: str, lines: list[str], qos: int = 1) -> None:
    """Publish ``lines`` on ``topic`` (sequential chunks of ≤ 50,000)."""
    for i in range(0, len(lines), CHUNK):
        body = ("\n".join(lines[i : i + CHUNK]) + "\n").encode()
        subprocess.run(
            [_binary(), "-h", "127.0.0.1", "-p", str(port), "-q", str(qos), "-t", topic, "-l"],
            input=body,
            check=True,
            timeout=600,
        )


def publish_parallel(port: int, work: dict[str, list[str]], qos: int = 1) -> float:
    """Publish every topic's lines, one process per topic at once; returns the wall time [s]."""
    errors: list[BaseException] = []

    def run(topic: str, lines: list[str]) -> None:
        try:
            publish_lines(port, topic, lines, qos)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in work.items()]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


class Feeder:
    """Long-lived ``mosquitto_pub -l`` processes, one per topic, fed lines as time goes.

    Lines written to a process's stdin are published as they arrive, so the hand-over time
    is the send time. A process is replaced before 50,000 lines (docs/design-notes.md trap 4).
    """

    def __init__(self, port: int, topics: list[str], qos: int = 1) -> None:
        self.port, self.topics, self.qos = port, topics, qos
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * len(topics)
        self._lines = [0] * len(topics)

    def _proc(self, i: int, adding: int) -> subprocess.Popen[bytes]:
        proc = self._procs[i]
        if proc is None or self._lines[i] + adding > CHUNK:
            if proc is not None:
                self._close(proc)
            proc = subprocess.Popen(
                [
                    _binary(),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-q",
                    str(self.qos),
                    "-t",
                    self.topics[i],
                    "-l",
                ],
                stdin=subprocess.PIPE,
            )
            self._procs[i], self._lines[i] = proc, 0
        return proc

    def send(self, lines_per_topic: list[list[str]]) -> None:
        for i, lines in enumerate(lines_per_topic):
            if not lines:
                continue
            proc = self._proc(i, len(lines))
            assert proc.stdin is not None
            proc.stdin.write(("\n".join(lines) + "\n").encode())
            proc.stdin.flush()
            self._lines[i] += len(lines)

    @staticmethod
    def _close(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(120)

    def close(self) -> None:
        for proc in self._procs:
            if proc is not None:
                self._close(proc)
        self._procs = [None] * len(self.topics)


def paced(
    feeder: Feeder,
    rate: float,
    duration_s: float,
    line: Callable[[int, int], str],
    *,
    tick_s: float = 0.05,
    on_tick: Callable[[int, float], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Publish about ``rate`` msg/s over the feeder's topics for ``duration_s`` (or until
    ``stop``), a slice every ``tick_s``; ``line(topic_index, seq)`` makes a payload.

    ``on_tick(total_sent, t_handed_over)`` after each slice (perf_counter time). Returns the
    number of messages published.
    """
    topics = len(feeder.topics)
    per_tick = max(topics, round(rate * tick_s))
    seqs = [0] * topics
    sent = 0
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < duration_s and not (stop and stop.is_set()):
        pause = t0 + k * tick_s - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        batch: list[list[str]] = []
        for i in range(topics):
            n = per_tick // topics + (1 if i < per_tick % topics else 0)
            batch.append([line(i, s) for s in range(seqs[i], seqs[i] + n)])
            seqs[i] += n
        t_sent = time.perf_counter()
        feeder.send(batch)
        sent += per_tick
        if on_tick:
            on_tick(sent, t_sent)
        k += 1
    return sent
