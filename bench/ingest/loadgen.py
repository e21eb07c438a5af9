"""Load generation with ``mosquitto_pub`` (C client): never the bottleneck (DESIGN trap 4).

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


def paced(
    port: int,
    topic: str,
    rate: float,
    duration_s: float,
    line: Callable[[int], str],
    *,
    start_seq: int = 0,
    tick_s: float = 0.1,
    on_chunk: Callable[[int, int, float], None] | None = None,
) -> int:
    """Publish about ``rate`` msg/s for ``duration_s`` in chunks every ``tick_s``.

    ``on_chunk(first_seq, last_seq, t_sent)`` is told when each chunk was handed over
    (perf_counter time). Returns the number of messages published.
    """
    per_tick = max(1, round(rate * tick_s))
    seq = start_seq
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < duration_s:
        due = t0 + k * tick_s
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        lines = [line(s) for s in range(seq, seq + per_tick)]
        t_sent = time.perf_counter()
        publish_lines(port, topic, lines)
        if on_chunk:
            on_chunk(seq, seq + per_tick - 1, t_sent)
        seq += per_tick
        k += 1
    return seq - start_seq
