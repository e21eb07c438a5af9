"""Load generation for benchmarks: N readings from M devices, as fast as possible.

Two engines (docs/design-notes.md trap 4):

* ``paho``: one paho publisher per process caps at ~15,000 msg/s at QoS 1, so ``processes``
  workers (multiprocessing, spawn) each publish the readings of a share of the devices.
* ``mosquitto_pub``: one ``mosquitto_pub -l`` per device topic reads payload lines from
  stdin; at QoS 1 it stops after 65,535 lines, so each process gets at most
  ``MOSQUITTO_PUB_CHUNK`` (50,000) lines and a device's readings are sent by consecutive
  processes. ``processes`` of them run at once.

The devices are ``load-0000`` ... of the line entity ``load-line`` (factory
``load-factory``); :func:`load_registry_toml` writes their registry.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mqttlink import parse_mqtt_url
from simulators.messages import (
    DEFAULT_PREFIX,
    Message,
    encode,
    make_topic,
    now_ms,
    split_batch,
)
from simulators.publisher import publish

LOAD_FACTORY = "load-factory"
LOAD_ENTITY = "load-line"
MOSQUITTO_PUB_CHUNK = 50_000


def load_device_ids(n_devices: int) -> list[str]:
    return [f"load-{i:04d}" for i in range(n_devices)]


def load_registry_toml(n_devices: int) -> str:
    """Registry entries for the load devices (no credentials)."""
    parts = [
        f'[[entities]]\nid = "{LOAD_FACTORY}"\nkind = "factory"\nname = "load test"\n',
        f'[[entities]]\nid = "{LOAD_ENTITY}"\nkind = "line"\nparent = "{LOAD_FACTORY}"\n'
        'name = "load test line"\n',
    ]
    for dev in load_device_ids(n_devices):
        parts.append(
            f'[[devices]]\nid = "{dev}"\nentity = "{LOAD_ENTITY}"\nrole = "electricity_meter"\n'
        )
    return "\n".join(parts)


def _reading(i: int, t: int, dev_index: int) -> dict:
    return {
        "ts": t,
        "seq": i,
        "values": {
            "energy_kwh_total": round(1000.0 + dev_index + i * 0.25, 3),
            "power_kw": round(50.0 + (i * 7 + dev_index) % 13, 2),
        },
    }


def device_readings(
    dev_index: int, n: int, *, start_ms: int, step_ms: int = 1000
) -> Iterator[dict]:
    """``n`` readings of device ``dev_index``, ``step_ms`` apart from ``start_ms``."""
    for i in range(n):
        yield _reading(i, start_ms + i * step_ms, dev_index)


def _split(n_readings: int, n_devices: int) -> list[int]:
    base, extra = divmod(n_readings, n_devices)
    return [base + (1 if i < extra else 0) for i in range(n_devices)]


def load_messages(
    n_readings: int,
    n_devices: int,
    *,
    devices: range | None = None,
    start_ms: int | None = None,
    batch_size: int = 1,
    prefix: str = DEFAULT_PREFIX,
) -> Iterator[Message]:
    """The load as messages, round robin over devices; readings in the past (ts before now).

    batch_size : readings per payload (1 = single readings)
    """
    counts = _split(n_readings, n_devices)
    idx = devices or range(n_devices)
    start = start_ms if start_ms is not None else now_ms() - max(counts) * 1000 - 60_000
    topics = {d: make_topic(prefix, LOAD_ENTITY, f"load-{d:04d}", "data") for d in idx}
    gens = {d: device_readings(d, counts[d], start_ms=start) for d in idx}
    while gens:
        for d in list(gens):
            chunk = [r for _, r in zip(range(batch_size), gens[d], strict=False)]
            if not chunk:
                del gens[d]
                continue
            if batch_size == 1:
                yield Message(topics[d], chunk[0])
            else:
                yield from split_batch(topics[d], chunk)


@dataclass
class LoadStats:
    readings: int
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0


def _paho_worker(args: tuple) -> tuple[int, int]:
    url, n_readings, n_devices, devs, batch_size, prefix, start, qos = args
    stats = publish(
        load_messages(
            n_readings,
            n_devices,
            devices=devs,
            start_ms=start,
            batch_size=batch_size,
            prefix=prefix,
        ),
        url,
        qos=qos,
        window=200,
    )
    return stats.readings, stats.messages


def _mosquitto_pub_jobs(
    url: str, n_readings: int, n_devices: int, prefix: str, start: int, qos: int
) -> Iterator[tuple[list[str], bytes, int]]:
    target = parse_mqtt_url(url)
    binary = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
    counts = _split(n_readings, n_devices)
    for d in range(n_devices):
        topic = make_topic(prefix, LOAD_ENTITY, f"load-{d:04d}", "data")
        lines = [encode(r) for r in device_readings(d, counts[d], start_ms=start)]
        for lo in range(0, len(lines), MOSQUITTO_PUB_CHUNK):
            chunk = lines[lo : lo + MOSQUITTO_PUB_CHUNK]
            cmd = [binary, "-h", target.host, "-p", str(target.port), "-q", str(qos)]
            cmd += ["-t", topic, "-l", "-i", f"load-{d:04d}-{lo // MOSQUITTO_PUB_CHUNK}"]
            if target.username:
                cmd += ["-u", target.username]
            if target.password:
                cmd += ["-P", target.password]
            if target.tls:  # mosquitto_pub verifies the broker like mqttlink does
                cmd += ["--cafile", target.cafile] if target.cafile else ["--tls-use-os-certs"]
            yield cmd, b"\n".join(chunk) + b"\n", len(chunk)


def run_load(
    mqtt_url: str,
    n_readings: int,
    n_devices: int,
    *,
    processes: int = 1,
    engine: str = "paho",
    batch_size: int = 1,
    qos: int = 1,
    prefix: str = DEFAULT_PREFIX,
    start_ms: int | None = None,
) -> LoadStats:
    """Send ``n_readings`` readings from ``n_devices`` devices as fast as possible.

    engine : ``paho`` (``processes`` worker processes) or ``mosquitto_pub`` (``processes``
    concurrent ``mosquitto_pub -l`` processes, ``batch_size`` ignored)
    Returns the count and the wall time [s] until every process finished (QoS 1: acked).
    """
    if n_devices < 1 or n_readings < 0:
        raise ValueError("need at least one device and a non-negative number of readings")
    per_device = max(_split(n_readings, n_devices))
    start = start_ms if start_ms is not None else now_ms() - per_device * 1000 - 60_000
    t0 = time.monotonic()
    if engine == "paho":
        shares = [range(i, n_devices, processes) for i in range(min(processes, n_devices))]
        jobs = [
            (mqtt_url, n_readings, n_devices, s, batch_size, prefix, start, qos) for s in shares
        ]
        if len(jobs) == 1:
            results = [_paho_worker(jobs[0])]
        else:
            with mp.get_context("spawn").Pool(len(jobs)) as pool:
                results = pool.map(_paho_worker, jobs)
        readings = sum(r for r, _ in results)
        messages = sum(m for _, m in results)
    elif engine == "mosquitto_pub":
        jobs_m = list(_mosquitto_pub_jobs(mqtt_url, n_readings, n_devices, prefix, start, qos))
        t0 = time.monotonic()  # payloads are prepared before the clock starts

        def run(job: tuple[list[str], bytes, int]) -> int:
            cmd, data, n = job
            done = subprocess.run(cmd, input=data, capture_output=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"mosquitto_pub failed: {done.stderr.decode()[-500:]}")
            return n

        with ThreadPoolExecutor(max(processes, 1)) as ex:
            readings = messages = sum(ex.map(run, jobs_m))
    else:
        raise ValueError("engine must be paho or mosquitto_pub")
    return LoadStats(readings, messages, time.monotonic() - t0)
