"""The status channel: the latest ``online``/``offline`` of every device.

Devices publish ``online`` (retained) on ``.../status`` and set ``offline`` as their last will.
The broker's retained message is the source of truth; the gateway keeps the latest state per
device in memory (a restarted gateway gets the retained states again when it subscribes),
shows it on ``/health`` and as Prometheus gauges, and writes the counts ``devices_online`` and
``devices_offline`` into its own ``gateway`` measurement every 10 s.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class State:
    """One device's last status: ``online`` or ``offline`` since ``since_ms`` [ms]."""

    entity: str | None
    status: str
    since_ms: int


class DeviceStatus:
    """Latest status per device id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, State] = {}

    def update(self, entity: str | None, device: str | None, status: str, ts_ms: int) -> None:
        if device is None:
            return
        with self._lock:
            old = self._states.get(device)
            if old is None or old.status != status:
                self._states[device] = State(entity, status, ts_ms)

    def get(self, device: str) -> State | None:
        with self._lock:
            return self._states.get(device)

    def snapshot(self) -> dict[str, State]:
        with self._lock:
            return dict(self._states)

    def counts(self) -> dict[str, float]:
        with self._lock:
            online = sum(1 for s in self._states.values() if s.status == "online")
            return {
                "devices_online": float(online),
                "devices_offline": float(len(self._states) - online),
            }
