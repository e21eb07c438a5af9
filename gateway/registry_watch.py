"""Reload the device registry when its file changes (mtime poll).

A device added with ``tanzhang registry add-device`` is accepted within ``interval_s``
without restarting the gateway, so replaying its quarantined ``device_unknown`` messages
(``tanzhang rejects replay``) stores them. A file that fails to load keeps the previous
registry in force and is logged.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from telemetry.registry import Registry, RegistryError

log = logging.getLogger(__name__)


class RegistryWatcher:
    """Poll ``path`` every ``interval_s`` [s]; call ``on_change(registry)`` after a change."""

    def __init__(
        self, path: Path, on_change: Callable[[Registry], None], *, interval_s: float = 2.0
    ) -> None:
        self.path = Path(path)
        self.on_change = on_change
        self.interval_s = interval_s
        self._stamp = self._read_stamp()
        self._next = time.monotonic() + interval_s
        self.reloads = 0

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def load(self) -> Registry:
        """Load the registry now (at start: errors propagate)."""
        self._stamp = self._read_stamp()
        return Registry.load(self.path)

    def poll(self, now_s: float | None = None) -> bool:
        """Reload if the file changed since the last look; True when a new registry applies."""
        now_s = time.monotonic() if now_s is None else now_s
        if now_s < self._next:
            return False
        self._next = now_s + self.interval_s
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            registry = Registry.load(self.path)
        except (RegistryError, OSError) as exc:
            log.error(
                "event=registry_reload_failed path=%s error=%r (keeping the old one)",
                self.path,
                str(exc),
            )
            return False
        self.on_change(registry)
        self.reloads += 1
        log.info(
            "event=registry_reloaded path=%s devices=%d entities=%d",
            self.path,
            len(registry.devices),
            len(registry.entities),
        )
        return True
