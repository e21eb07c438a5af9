"""InfluxStore specifics: line protocol, error mapping, authentication, database and retention.

Error mapping of HTTP status codes is pure logic and is tested with ``httpx.MockTransport``;
everything else runs against a real influxd (tests/servers.py).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from telemetry.influx import InfluxStore
from telemetry.influx_lines import event_lines, quote_str, reading_lines, reject_lines
from telemetry.model import Event, Reading, Reject, RejectStamper
from telemetry.store import StoreError, StoreRejected, StoreUnavailable, reject_ts_ns
from telemetry.stores import open_store

# see test_store_conformance.py: tests/servers.py leaks its log file handle (reported)
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file.*(influxd|stdout)\\.log:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*(influxd|stdout)\\.log:pytest.PytestUnraisableExceptionWarning"
    ),
]

NOW = time.time_ns() // 1_000_000 - 60_000


# ---------------------------------------------------------------- line protocol (pure)
def test_reading_line_protocol_floats_and_ns_timestamp() -> None:
    lines = list(
        reading_lines(
            [
                Reading("line-a1", "meter-a1", 1_700_000_000_123, {"power_kw": 1, "x": 2.5}),
                Reading("e", "d", 5, {"power_kw": 1e20}, stamped=True),
            ]
        )
    )
    assert lines == [
        "telemetry,entity=line-a1,device=meter-a1 power_kw=1.0,x=2.5 1700000000123000000",
        "telemetry,entity=e,device=d power_kw=1e+20,ts_stamped=1.0 5000000",
    ]


def test_tags_and_strings_are_escaped() -> None:
    (line,) = reading_lines([Reading("a b", "c,d=e", 1, {"f g": 1.0})])
    assert line == r"telemetry,entity=a\ b,device=c\,d\=e f\ g=1.0 1000000"
    ev = Event("e", "d", 1, 'id "1"', "harvest", {"note": 'a "b" \\ c', "mass_t": 2})
    (line,) = event_lines([ev])
    assert line == (
        'events,entity=e,device=d,type=harvest id="id \\"1\\"",note="a \\"b\\" \\\\ c",'
        f"mass_t=2.0 {ev.ts_ns}"
    )
    rj = Reject("payload_not_json", "bad", "t/x", b"\x00\xff", 7, item=2, entity="e")
    (line,) = reject_lines([rj])
    assert line == (
        'rejects,reason=payload_not_json topic="t/x",detail="bad",payload_b64="AP8=",'
        f'payload_size=2.0,item=2.0,entity="e" {reject_ts_ns(rj)}'
    )
    # a stamped message's later rejects carry no payload, and the source is a tag
    first, second = RejectStamper("gw 1").stamp([rj, rj], b"\x00\xff")
    lines = list(reject_lines([first, second]))
    assert lines[0].startswith(r"rejects,reason=payload_not_json,source=gw\ 1 ")
    assert "payload_b64" in lines[0] and "payload_sha256" in lines[0]
    assert "payload_b64" not in lines[1] and "ordinal=1.0" in lines[1]
    assert lines[1].endswith(str(first.message_ns + 1))
    assert quote_str("it's \\ ok") == "'it\\'s \\\\ ok'"


# ---------------------------------------------------------------- error mapping (pure)
def _mock(handler) -> InfluxStore:
    return InfluxStore("http://influx.invalid:8086", db="d", transport=httpx.MockTransport(handler))


def _write_one(store: InfluxStore) -> None:
    store.write([Reading("e", "d", NOW, {"power_kw": 1.0})])


@pytest.mark.parametrize(
    ("status", "headers", "body", "exc", "retry_after"),
    [
        (429, {"Retry-After": "7"}, '{"error":"too many requests"}', StoreUnavailable, 7.0),
        (503, {}, '{"error":"engine: cache maximum memory size exceeded"}', StoreUnavailable, None),
        (500, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, "boom", StoreUnavailable, 0.0),
        (400, {}, '{"error":"partial write: field type conflict dropped=1"}', StoreRejected, None),
        (413, {}, '{"error":"Request Entity Too Large"}', StoreRejected, None),
        (401, {}, '{"error":"authorization failed"}', StoreError, None),
        (403, {}, '{"error":"forbidden"}', StoreError, None),
        (404, {}, "404 page not found", StoreError, None),
    ],
)
def test_http_status_mapping(status, headers, body, exc, retry_after) -> None:
    store = _mock(lambda req: httpx.Response(status, headers=headers, text=body))
    with pytest.raises(exc) as info:
        _write_one(store)
    assert type(info.value) is exc  # StoreError exactly, not a subclass, for auth errors
    assert str(status) in str(info.value)
    if exc is not StoreUnavailable:
        return
    assert info.value.retry_after_s == retry_after


def test_rejected_carries_the_server_message() -> None:
    msg = 'partial write: field type conflict: input field "power_kw" is type float dropped=1'
    store = _mock(lambda req: httpx.Response(400, json={"error": msg}))
    with pytest.raises(StoreRejected, match="field type conflict"):
        _write_one(store)


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("x")],
)
def test_transport_errors_are_unavailable(error: Exception) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise error

    store = _mock(handler)
    with pytest.raises(StoreUnavailable):
        _write_one(store)
    with pytest.raises(StoreUnavailable):
        store.series("power_kw", 0, 1)


def test_query_errors() -> None:
    store = _mock(lambda req: httpx.Response(503, text="overloaded"))
    with pytest.raises(StoreUnavailable):
        store.latest()
    store = _mock(lambda req: httpx.Response(200, json={"results": [{"error": "bad query"}]}))
    with pytest.raises(StoreError, match="bad query"):
        store.series("power_kw", 0, 1)


def test_token_and_user_credentials_are_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(204)

    InfluxStore("http://x:8086", token="s3cret", transport=httpx.MockTransport(handler)).write(
        [Reading("e", "d", 1, {"a": 1.0})]
    )
    assert seen[-1].headers["Authorization"] == "Token s3cret"
    assert "u" not in seen[-1].url.params
    InfluxStore(
        "http://x:8086", user="gw", password="pw", transport=httpx.MockTransport(handler)
    ).write([Reading("e", "d", 1, {"a": 1.0})])
    # basic authentication, never the u/p query parameters (request logs show query strings)
    assert seen[-1].headers["Authorization"] == "Basic " + base64.b64encode(b"gw:pw").decode()
    assert "p" not in seen[-1].url.params and "u" not in seen[-1].url.params
    assert seen[-1].url.params["precision"] == "ns"


def test_request_bodies_stay_under_max_body_bytes() -> None:
    """A batch of big rejects goes out in several requests, none over the bound (no 413)."""
    sizes: list[int] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sizes.append(len(req.content))
        return httpx.Response(204)

    store = InfluxStore(
        "http://x:8086", transport=httpx.MockTransport(handler), max_body_bytes=200_000
    )
    stamper = RejectStamper("gw")
    rejects = [
        stamper.stamp([Reject("payload_not_json", "x", "t", b"", NOW)], bytes([i]) * 50_000)[0]
        for i in range(20)
    ]
    store.write(rejects=rejects)
    assert sum(sizes) > 20 * 50_000 * 4 // 3  # every payload sent, base64
    assert len(sizes) > 1 and max(sizes) <= 200_000


def test_open_store_chooses_and_configures() -> None:
    s = open_store("http://127.0.0.1:1", db="x", token="t")
    assert isinstance(s, InfluxStore) and s.manage_schema is False
    assert open_store("http://127.0.0.1:1", db="x").manage_schema is True  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="sqlite_path"):
        open_store(None)
    with pytest.raises(ValueError, match="duration"):
        InfluxStore("http://127.0.0.1:1", retention="two years")


# ---------------------------------------------------------------- against a real influxd
@pytest.fixture
def store(influxd_session) -> Iterator[InfluxStore]:
    s = InfluxStore(influxd_session.url, db=f"t_{uuid.uuid4().hex[:12]}")
    s.ensure_ready()
    yield s
    s.close()


@pytest.mark.servers
def test_ensure_ready_is_idempotent_and_sets_the_default_policy(influxd_session) -> None:
    db = f"t_{uuid.uuid4().hex[:12]}"
    with InfluxStore(influxd_session.url, db=db, retention="104w") as s:
        s.ensure_ready()
        s.ensure_ready()
        rps = {p["name"]: p for p in s.retention_policies()}
        assert rps["tanzhang"]["default"] is True
        assert rps["tanzhang"]["duration"] == "17472h0m0s"  # 104 weeks
    with InfluxStore(influxd_session.url, db=db, retention="30d") as s:
        s.ensure_ready()  # a changed setting alters the existing policy
        rps = {p["name"]: p for p in s.retention_policies()}
        assert rps["tanzhang"]["duration"] == "720h0m0s" and rps["tanzhang"]["default"] is True


@pytest.mark.servers
def test_manage_schema_false_creates_nothing(influxd_session) -> None:
    db = f"t_{uuid.uuid4().hex[:12]}"
    with InfluxStore(influxd_session.url, db=db, manage_schema=False) as s:
        s.ensure_ready()
        names = [r[0] for r in influxd_session.query("SHOW DATABASES")[0]["values"]]
        assert db not in names


@pytest.mark.servers
def test_field_type_conflict_is_rejected_and_valid_points_kept(
    store: InfluxStore, influxd_session
) -> None:
    r = httpx.post(
        f"{influxd_session.url}/write",
        params={"db": store.db, "precision": "ms"},
        content=f'telemetry,entity=e1,device=d1 power_kw="high" {NOW}'.encode(),
    )
    assert r.status_code == 204
    with pytest.raises(StoreRejected, match="field type conflict"):
        store.write(
            [
                Reading("e1", "d1", NOW + 1, {"power_kw": 2.0}),
                Reading("e2", "d2", NOW, {"energy_kwh_total": 5.0}),
            ]
        )
    got = store.series("energy_kwh_total", NOW - 1, NOW + 1)
    assert got[("e2", "d2")].values.tolist() == [5.0]  # the rest of the batch was written


@pytest.mark.servers
def test_rejects_written_in_bounded_requests_are_all_stored(influxd_session) -> None:
    stamper = RejectStamper("gw")
    rejects = [
        stamper.stamp([Reject("payload_not_json", "x", "t", b"", NOW)], bytes([65 + i]) * 30_000)[0]
        for i in range(20)
    ]
    with InfluxStore(
        influxd_session.url, db=f"t_{uuid.uuid4().hex[:12]}", max_body_bytes=100_000
    ) as s:
        s.ensure_ready()
        s.write(rejects=rejects)
        got = s.rejects(limit=100)
    assert sorted(r.payload for r in got) == sorted(r.payload for r in rejects)


@pytest.mark.servers
def test_write_recreates_a_dropped_database(store: InfluxStore, influxd_session) -> None:
    store.write([Reading("e", "d", NOW, {"power_kw": 1.0})])
    influxd_session.query(f'DROP DATABASE "{store.db}"')
    store.write([Reading("e", "d", NOW, {"power_kw": 2.0})])
    assert store.series("power_kw", NOW, NOW + 1)[("e", "d")].values.tolist() == [2.0]
    assert {p["name"] for p in store.retention_policies()} >= {"tanzhang"}


@pytest.mark.servers
def test_stopped_server_is_unavailable_then_recovers(influxd) -> None:
    s = InfluxStore(influxd.url, db="tanzhang", timeout_s=5)
    s.ensure_ready()
    s.write([Reading("e", "d", NOW, {"power_kw": 1.0})])
    influxd.stop()
    with pytest.raises(StoreUnavailable, match="unreachable"):
        s.write([Reading("e", "d", NOW + 1, {"power_kw": 2.0})])
    with pytest.raises(StoreUnavailable):
        s.series("power_kw", NOW, NOW + 10)
    with pytest.raises(StoreUnavailable):
        s.ensure_ready()
    influxd.start()  # same folder and port: the data is still there
    s.write([Reading("e", "d", NOW + 1, {"power_kw": 2.0})])  # the same client reconnects
    assert s.series("power_kw", NOW, NOW + 10)[("e", "d")].values.tolist() == [1.0, 2.0]
    s.close()


@pytest.mark.servers
def test_long_series_arrive_in_chunks_and_are_joined(store: InfluxStore) -> None:
    n = 45_000  # more than two chunks of 20,000 rows
    t0 = NOW - 3_600_000
    store.write([Reading("e", "d", t0 + i, {"power_kw": float(i)}) for i in range(n)])
    got = store.series("power_kw", t0, t0 + n, previous=True)[("e", "d")]
    assert len(got) == n
    assert got.ts_ms.tolist() == [t0 + i for i in range(n)]
    assert got.values[-1] == n - 1.0


@pytest.mark.servers
def test_large_batches_are_split_and_a_refused_part_does_not_stop_the_rest(
    influxd_session,
) -> None:
    db = f"t_{uuid.uuid4().hex[:12]}"
    with InfluxStore(influxd_session.url, db=db, max_lines=10) as s:
        s.ensure_ready()
        httpx.post(
            f"{influxd_session.url}/write",
            params={"db": db, "precision": "ms"},
            content=f'telemetry,entity=e,device=bad soil_temp_c="text" {NOW}'.encode(),
        ).raise_for_status()
        readings = [Reading("e", f"d{i:02d}", NOW, {"power_kw": float(i)}) for i in range(35)]
        readings[15] = Reading("e", "bad", NOW + 1, {"soil_temp_c": 9.0})  # conflict in chunk 2
        with pytest.raises(StoreRejected, match="field type conflict"):
            s.write(readings)
        got = s.series("power_kw", NOW, NOW + 1)
        assert len([k for k in got if k[1].startswith("d")]) == 34  # the other 34 are stored
        assert [v.device for v in s.latest() if v.device == "bad"] == []  # string field skipped


def test_unchunked_multiline_answer_is_parsed() -> None:
    # a server that ignores chunked=true and pretty-prints its JSON over several lines
    doc = {
        "results": [
            {
                "statement_id": 0,
                "series": [
                    {
                        "name": "telemetry",
                        "tags": {"entity": "e", "device": "d"},
                        "columns": ["time", "power_kw"],
                        "values": [[1, 2.0], [3, 4.0]],
                    }
                ],
            }
        ]
    }
    store = _mock(lambda req: httpx.Response(200, text=json.dumps(doc, indent=2)))
    got = store.series("power_kw", 0, 10)
    assert {k: (v.ts_ms.tolist(), v.values.tolist()) for k, v in got.items()} == {
        ("e", "d"): ([1, 3], [2.0, 4.0])
    }
    bad = _mock(lambda req: httpx.Response(200, text="{not json"))
    with pytest.raises(StoreError, match="unparseable"):
        bad.series("power_kw", 0, 10)
