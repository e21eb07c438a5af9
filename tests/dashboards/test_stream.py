"""The live stream over a real uvicorn: authentication, first message, changes, ending."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from access.keys import create_key
from dashboards.stream import allow_streams, latest_stream, sse, stop_streams
from sitetime.clock import now_ms
from telemetry.model import Reading
from telemetry.store import LatestValue


def _events(lines):
    """Parse SSE lines into (event, data) pairs as they arrive."""
    event, data = None, []
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and event:
            yield event, json.loads("".join(data))
            event, data = None, []


def test_stream_needs_a_key(live_app):
    r = httpx.get(f"{live_app.url}/dashboards/stream", params={"entities": "line-a1"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "missing_api_key"


def test_stream_refuses_entities_the_key_may_not_see(live_app):
    with live_app.app.state.sessions() as session:
        _, key = create_key(session, role="agronomist", name="orchards only")
    r = httpx.get(
        f"{live_app.url}/dashboards/stream",
        params={"entities": "orchard-cs1,line-a1"},
        headers={"X-API-Key": key},
        timeout=10,
    )
    assert r.status_code == 403
    assert "line-a1" in r.json()["error"]["message"]


@pytest.mark.parametrize("entities", ["", "Line-A1", ",".join(f"e{i}" for i in range(201))])
def test_stream_checks_entity_ids(live_app, entities):
    r = httpx.get(
        f"{live_app.url}/dashboards/stream",
        params={"entities": entities},
        headers={"X-API-Key": live_app.key},
        timeout=10,
    )
    assert r.status_code == 422


def test_stream_sends_all_values_then_changes(live_app):
    headers = {"X-API-Key": live_app.key}
    params = {"entities": "line-a1,line-a2"}
    with httpx.stream(
        "GET", f"{live_app.url}/dashboards/stream", params=params, headers=headers, timeout=10
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = _events(r.iter_lines())
        name, first = next(events)
        assert name == "latest"
        assert {(v["device"], v["field"]) for v in first} == {
            (m, f) for m in ("meter-a1", "meter-a2") for f in ("power_kw", "energy_kwh_total")
        }
        ts = now_ms()
        live_app.store.write(readings=[Reading("line-a1", "meter-a1", ts, {"power_kw": 11.5})])
        name, change = next(events)
        assert name == "latest"
        assert change == [
            {
                "entity": "line-a1",
                "device": "meter-a1",
                "field": "power_kw",
                "ts_ms": ts,
                "value": 11.5,
            }
        ]


def _run(gen_factory):
    async def main():
        out = []
        async for chunk in gen_factory():
            out.append(chunk)
        return out

    return asyncio.run(main())


def test_generator_ends_when_the_client_disconnects():
    calls = []

    async def disconnected():
        calls.append(1)
        return len(calls) > 2

    def read(ids):
        return [LatestValue("e", "d", "power_kw", 1, 2.0)]

    out = _run(lambda: latest_stream(read, ["e"], disconnected, poll_s=0.01))
    assert out[0] == b"retry: 1000\n\n"
    assert out[1] == sse(
        "latest", [{"entity": "e", "device": "d", "field": "power_kw", "ts_ms": 1, "value": 2.0}]
    )
    assert len(out) == 2  # unchanged values are not sent again


def test_generator_ends_on_stop_and_after_its_lifetime():
    async def never():
        return False

    stop_streams()
    try:
        out = _run(lambda: latest_stream(lambda ids: [], ["e"], never, poll_s=0.01))
    finally:
        allow_streams()
    assert out[-1].startswith(b"event: bye")
    t0 = time.monotonic()
    out = _run(lambda: latest_stream(lambda ids: [], ["e"], never, poll_s=0.01, max_lifetime_s=0.2))
    assert time.monotonic() - t0 < 2
    assert out[-1].startswith(b"event: bye")
    assert sum(c.startswith(b"event: latest") for c in out) == 1  # an empty first message only


def test_store_errors_are_reported_and_the_stream_goes_on():
    n = []

    def read(ids):
        n.append(1)
        if len(n) == 1:
            raise RuntimeError("database is locked")
        return [LatestValue("e", "d", "f", 5, 1.0)]

    async def disconnected():
        return len(n) >= 2

    out = _run(lambda: latest_stream(read, ["e"], disconnected, poll_s=0.01))
    assert out[1].startswith(b"event: store_error")
    assert b"database is locked" in out[1]
    assert out[2].startswith(b"event: latest")
