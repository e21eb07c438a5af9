"""The telemetry services behind ``POST /v1/entities/{id}/records`` and
``POST /v1/rejects/replay``, without HTTP: what the API tests cannot reach without a broker
(a refused publish, a message of several item rejects) or a failing store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mqttlink import PublishRefused
from sitetime import clock
from telemetry.errors import DeviceEntityMismatch, RecordsRejected
from telemetry.model import Reject
from telemetry.records import HTTP_DEVICE, api_source, records_topic, write_records
from telemetry.registry import Device, Entity, Registry
from telemetry.replay import replay_rejects
from telemetry.sqlite import SqliteStore
from telemetry.store import StoreUnavailable

TOPIC = "tanzhang/v1/line-a1/meter-a1/data"
BATCH = b'[{"ts": 1, "values": {"power_kw": -1}}, {"ts": 2, "values": {"power_kw": -2}}]'
FUEL = {"type": "fuel_used", "fuel": "diesel", "litres": 12.5}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.sqlite", retention=None)
    yield s
    s.close()


def _registry() -> Registry:
    return Registry(
        [
            Entity("orchard-1", "orchard", attrs={"area_mu": 30.0, "county": "changshan"}),
            Entity("orchard-2", "orchard", attrs={"area_mu": 20.0, "county": "kecheng"}),
        ],
        [Device("term-o1", "orchard-1", "field_terminal")],
    )


def _two_item_message(store: SqliteStore) -> list[str]:
    """One MQTT message quarantined as two item rejects; their ids."""
    from telemetry.model import RejectStamper

    now = clock.now_ms()
    items = [Reject("value_invalid", f"item {i}", TOPIC, BATCH, now, i) for i in range(2)]
    store.write(rejects=RejectStamper("gw-test").stamp(items, BATCH))
    return sorted(r.id for r in store.rejects())


class _WritesFail:
    """The same store, its writes failing."""

    def __init__(self, inner: SqliteStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, *args: Any, **kwargs: Any) -> None:
        raise StoreUnavailable("database is locked")


class _Publisher:
    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.sent: list[tuple[str, bytes]] = []

    def __call__(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))
        if self.refuse:
            raise PublishRefused("reason code 135 (Not authorized)")


def test_a_refused_publish_keeps_the_whole_message_published_once(store: SqliteStore) -> None:
    ids = _two_item_message(store)
    refusing = _Publisher(refuse=True)
    result = replay_rejects(store, [*ids, ids[0], "missing"], refusing, delete=True)
    assert refusing.sent == [(TOPIC, BATCH)]  # one message, however many of its items named
    assert result.replayed == [] and result.not_found == ["missing"]
    assert result.failed == {i: "PublishRefused: reason code 135 (Not authorized)" for i in ids}
    assert sorted(r.id for r in store.rejects()) == ids


def test_a_confirmed_publish_deletes_every_entry_of_the_message(store: SqliteStore) -> None:
    ids = _two_item_message(store)
    result = replay_rejects(store, [ids[1]], _Publisher(refuse=False), delete=True)
    assert result.replayed == [ids[1]] and result.failed == {}
    assert store.rejects() == []  # the unnamed item of the same message went too


def test_without_delete_a_replayed_message_stays(store: SqliteStore) -> None:
    ids = _two_item_message(store)
    result = replay_rejects(store, ids, _Publisher(refuse=False), delete=False)
    assert result.replayed == ids
    assert sorted(r.id for r in store.rejects()) == ids


def test_records_of_another_entitys_device_write_nothing(store: SqliteStore) -> None:
    now = clock.now_ms()
    with pytest.raises(DeviceEntityMismatch) as info:
        write_records(store, _registry(), "orchard-2", "term-o1", [{**FUEL, "id": "a"}], now)
    assert info.value.code == "device_entity_mismatch" and info.value.kind == "invalid"
    assert store.rejects() == [] and store.events(0, now + 1) == []


def test_none_accepted_still_quarantines_and_lists_every_problem(store: SqliteStore) -> None:
    now = clock.now_ms()
    docs = [{"id": "x", "type": "nonsense"}, {"id": 7, "type": "fuel_used"}]
    with pytest.raises(RecordsRejected) as info:
        write_records(store, _registry(), "orchard-1", None, docs, now)
    details: Any = info.value.details
    assert [(d["index"], d["id"]) for d in details] == [(0, "x"), (1, None)]
    assert list(details[0]) == ["index", "id", "reason", "detail"]
    assert info.value.message.startswith("none of the 2 records was accepted: ")
    rejects = store.rejects()
    assert len(rejects) == 2 and {r.topic for r in rejects} == {records_topic("orchard-1")}
    assert all(r.id.startswith(f"{api_source()}:") and r.device == HTTP_DEVICE for r in rejects)


def test_an_http_record_replays_into_the_store_unless_the_store_fails(
    store: SqliteStore,
) -> None:
    now = clock.now_ms()
    doc = json.dumps({**FUEL, "id": "fixed", "ts": now}).encode()  # valid by now
    topic = records_topic("orchard-1")
    store.write(rejects=[Reject("device_unknown", "x", topic, doc, now, 0, "orchard-1", "http")])
    [rej] = store.rejects()
    out = replay_rejects(_WritesFail(store), [rej.id], _Publisher(refuse=False), delete=True)
    assert out.failed == {rej.id: "StoreUnavailable: database is locked"}
    assert [r.id for r in store.rejects()] == [rej.id]
    publisher = _Publisher(refuse=False)
    out = replay_rejects(store, [rej.id], publisher, delete=True)
    assert out.replayed == [rej.id] and publisher.sent == []  # decoded, never published
    assert [e.id for e in store.events(0, now + 1)] == ["fixed"] and store.rejects() == []
