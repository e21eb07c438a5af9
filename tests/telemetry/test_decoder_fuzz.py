"""The payload decoder fed arbitrary input (hypothesis): it never raises, and every outcome is
accepted records that obey the contract or rejects with a known reason."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry.contract import (
    CHANNELS,
    DEFAULT_MAX_AGE_MS,
    EVENT_SPECS,
    MAX_BATCH,
    MAX_DETAIL,
    MAX_FUTURE_MS,
    REJECT_REASONS,
    Decoded,
    Decoder,
)
from telemetry.values import VALUE_SPECS

NOW = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp() * 1000)
OWNERS = {"meter-a1": "line-a1", "meter-b1": "line-b1", "t1": "orchard-1"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Devices:
    def entity_of(self, device_id: str) -> str | None:
        return OWNERS.get(device_id)


DECODER = Decoder(Devices())


def check(out: Decoded, topic: str, payload: bytes) -> None:
    """Every outcome is accepted records within the contract or rejects with a known reason."""
    assert isinstance(out, Decoded)
    for rej in out.rejects:
        assert rej.reason in REJECT_REASONS, rej.reason
        assert rej.detail and len(rej.detail) <= MAX_DETAIL
        assert (rej.topic, rej.payload, rej.received_ms) == (topic, payload, NOW)
    accepted = bool(out.readings or out.events or out.status)
    if not accepted:
        assert out.rejects, "a message must yield something: records or rejects"
    else:
        assert OWNERS.get(out.device or "") == out.entity
    for r in out.readings:
        assert (r.entity, r.device) == (out.entity, out.device)
        assert NOW - DEFAULT_MAX_AGE_MS <= r.ts_ms <= NOW + MAX_FUTURE_MS
        assert r.values
        for name, value in r.values.items():
            spec = VALUE_SPECS[name]
            assert type(value) is float and math.isfinite(value)
            assert spec.low <= value <= spec.high
        assert r.seq is None or (type(r.seq) is int and r.seq >= 0)
    for ev in out.events:
        assert ev.type in EVENT_SPECS and ev.id
        assert NOW - DEFAULT_MAX_AGE_MS <= ev.ts_ms <= NOW + MAX_FUTURE_MS
        for name, value in ev.attrs.items():
            assert name in EVENT_SPECS[ev.type]
            if isinstance(value, float):
                assert math.isfinite(value)
    assert out.status in (None, "online", "offline")
    assert len(out.events) <= 1


def run(topic: str, payload: bytes) -> Decoded:
    out = DECODER.decode(topic, payload, NOW)
    check(out, topic, payload)
    return out


# -- arbitrary bytes and topics ------------------------------------------------------------

ids = st.sampled_from(["meter-a1", "meter-b1", "t1", "line-a1", "line-b1", "orchard-1", "x"])
good_topics = st.builds(
    lambda e, d, c: f"tanzhang/v1/{e}/{d}/{c}",
    st.sampled_from(["line-a1", "line-b1", "orchard-1"]),
    ids,
    st.sampled_from(CHANNELS),
)
any_topics = st.one_of(
    good_topics,
    st.text(max_size=80),
    st.builds(
        lambda parts: "/".join(parts),
        st.lists(st.one_of(ids, st.text(max_size=8), st.sampled_from(CHANNELS)), max_size=7),
    ),
)


@FUZZ
@given(topic=any_topics, payload=st.binary(max_size=512))
def test_arbitrary_bytes_on_arbitrary_topics(topic: str, payload: bytes) -> None:
    run(topic, payload)


@FUZZ
@given(
    topic=good_topics,
    payload=st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
def test_arbitrary_text_on_valid_topics(topic: str, payload: bytes) -> None:
    run(topic, payload)


# -- structured JSON -----------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_any = st.recursive(
    json_leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
value_names = st.one_of(st.sampled_from(sorted(VALUE_SPECS)), st.text(max_size=10))
numbers = st.one_of(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
)
ts_values = st.one_of(
    st.integers(min_value=NOW - 2 * DEFAULT_MAX_AGE_MS, max_value=NOW + 2 * MAX_FUTURE_MS),
    st.integers(),
    st.floats(),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=30),
    json_leaf,
)
readings = st.fixed_dictionaries(
    {},
    optional={
        "ts": ts_values,
        "seq": st.one_of(st.integers(min_value=-5, max_value=2**64), json_leaf),
        "values": st.one_of(
            st.dictionaries(value_names, st.one_of(numbers, json_leaf), max_size=5), json_any
        ),
        "extra": json_any,
    },
)
data_docs = st.one_of(
    readings,
    st.fixed_dictionaries({"batch": st.lists(st.one_of(readings, json_any), max_size=12)}),
    st.fixed_dictionaries({"batch": json_any}),
    json_any,
)


def event_docs() -> st.SearchStrategy[dict[str, Any]]:
    field_names = sorted({f for spec in EVENT_SPECS.values() for f in spec})
    return st.builds(
        lambda base, fields: {**base, **fields},
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.text(max_size=140), json_leaf),
                "type": st.one_of(st.sampled_from(sorted(EVENT_SPECS)), json_leaf),
                "ts": ts_values,
            },
        ),
        st.dictionaries(
            st.sampled_from(field_names),
            st.one_of(
                numbers,
                st.floats(min_value=0, max_value=1),
                st.sampled_from(["grass_cover", "straw_return", "urea", "diesel"]),
                json_leaf,
            ),
            max_size=7,
        ),
    )


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@FUZZ
@given(
    topic=st.sampled_from(
        ["tanzhang/v1/line-a1/meter-a1/data", "tanzhang/v1/line-b1/meter-a1/data"]
    ),
    doc=data_docs,
)
def test_structured_data_payloads(topic: str, doc: Any) -> None:
    payload = dumps(doc)
    out = run(topic, payload)
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list):
        n = len(doc["batch"])
        if "line-a1" in topic and 1 <= n <= MAX_BATCH:
            # every item is accounted for: accepted, or refused with its index
            refused = {r.item for r in out.rejects}
            assert refused <= set(range(n))
            assert len(out.readings) + len(refused) >= n


@FUZZ
@given(doc=event_docs())
def test_structured_event_payloads(doc: dict[str, Any]) -> None:
    out = run("tanzhang/v1/orchard-1/t1/event", dumps(doc))
    assert len(out.events) + len(out.rejects) == 1


@settings(max_examples=100, deadline=None)
@given(
    values=st.dictionaries(
        st.sampled_from(sorted(VALUE_SPECS)),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-2e12, max_value=2e12),
        min_size=1,
    ),
    ts=st.integers(min_value=NOW - DEFAULT_MAX_AGE_MS, max_value=NOW + MAX_FUTURE_MS),
)
def test_in_range_values_are_accepted_exactly(values: dict[str, float], ts: int) -> None:
    out = run("tanzhang/v1/line-a1/meter-a1/data", dumps({"ts": ts, "values": values}))
    inside = {k: v for k, v in values.items() if VALUE_SPECS[k].low <= v <= VALUE_SPECS[k].high}
    outside = set(values) - set(inside)
    assert {r.reason for r in out.rejects} <= {"value_out_of_bounds"}
    assert len(out.rejects) == (len(outside) if inside else min(1, len(outside)))
    assert [r.values for r in out.readings] == ([inside] if inside else [])
    assert all(r.ts_ms == ts for r in out.readings)
