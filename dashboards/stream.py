"""Server-Sent Events: the last value of every field of some entities, pushed when it changes.

The live pages open ``GET /dashboards/stream?entities=line-a1,line-a2`` with ``fetch`` (so the
API key travels in a header, which ``EventSource`` cannot send) and read a ``text/event-stream``:

``event: latest`` / ``data: [{"entity", "device", "field", "ts_ms", "value"}, ...]``
    the values that changed since the previous message (the first message holds them all);
``event: bye`` / ``data: {"reason": ...}``
    the server ends the stream (lifetime reached or shutting down); the page reconnects.

A comment line (``: ping``) goes out every :data:`HEARTBEAT_S` seconds so that proxies keep
the connection open and a vanished client is noticed.

The server polls :meth:`telemetry.store.TelemetryStore.latest` every :data:`POLL_S` seconds in
a worker thread (the stores are blocking). One poll per open page is cheap for the embedded
store and for InfluxDB (``SELECT LAST(*) ... GROUP BY device`` over a few series) at the scale
of a factory; a site with hundreds of open pages would share one poller per entity set.

Ending: the generator stops when the client disconnects (checked before every poll), after
:data:`MAX_LIFETIME_S` (uvicorn waits for open responses before it shuts down, so an endless
stream would hold a shutdown forever), or at once when :func:`stop_streams` is called.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio.to_thread

from telemetry.store import LatestValue

#: seconds between two reads of the store [s]
POLL_S = 0.5
#: seconds between two keep-alive comments [s]
HEARTBEAT_S = 15.0
#: a stream ends after this long and the page reconnects [s]
MAX_LIFETIME_S = 20.0
#: at most this many entities per stream
MAX_ENTITIES = 200

_stopping = threading.Event()


def stop_streams() -> None:
    """Make every open stream end within one poll (call before shutting the server down)."""
    _stopping.set()


def allow_streams() -> None:
    """Undo :func:`stop_streams` (a new server in the same process, e.g. in tests)."""
    _stopping.clear()


def _key(v: LatestValue) -> tuple[str, str, str]:
    return (v.entity, v.device, v.field)


def _as_dict(v: LatestValue) -> dict[str, Any]:
    return {
        "entity": v.entity,
        "device": v.device,
        "field": v.field,
        "ts_ms": v.ts_ms,
        "value": v.value,
    }


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Events message (``event:`` and one ``data:`` line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def latest_stream(
    read_latest: Callable[[Sequence[str]], list[LatestValue]],
    entities: Sequence[str],
    is_disconnected: Callable[[], Any],
    *,
    poll_s: float = POLL_S,
    max_lifetime_s: float = MAX_LIFETIME_S,
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[bytes]:
    """Yield SSE messages with the values of ``entities`` that changed since the last poll.

    read_latest : blocking call returning the store's latest values for the entities
    is_disconnected : awaitable check of the client (``Request.is_disconnected``)
    """
    seen: dict[tuple[str, str, str], int] = {}
    first = True
    started = last_sent = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        if _stopping.is_set():
            yield sse("bye", {"reason": "server stopping"})
            return
        if await is_disconnected():
            return
        now = time.monotonic()
        if now - started > max_lifetime_s:
            yield sse("bye", {"reason": "lifetime reached, reconnect"})
            return
        try:
            values = await anyio.to_thread.run_sync(read_latest, list(entities))
        except Exception as exc:  # the store had a bad moment: tell the page, keep going
            yield sse("store_error", {"detail": type(exc).__name__ + ": " + str(exc)[:200]})
            values = []
        changed = [v for v in values if seen.get(_key(v)) != v.ts_ms]
        if changed or first:
            first = False
            for v in changed:
                seen[_key(v)] = v.ts_ms
            yield sse("latest", [_as_dict(v) for v in changed])
            last_sent = now
        elif now - last_sent > heartbeat_s:
            yield b": ping\n\n"
            last_sent = now
        await asyncio.sleep(poll_s)
