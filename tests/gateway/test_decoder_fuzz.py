"""The payload decoder fed arbitrary bytes, topics and JSON never raises (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.contract import REJECT_REASONS, Decoder
from telemetry.registry import Device, Entity, Registry

REG = Registry(
    [Entity("factory-a", "factory"), Entity("line-a1", "line", parent="factory-a")],
    [Device("meter-0", "line-a1", "electricity_meter")],
)
DECODER = Decoder(REG)
NOW = 1_767_225_600_000
TOPICS = st.sampled_from(
    [
        "tanzhang/v1/line-a1/meter-0/data",
        "tanzhang/v1/line-a1/meter-0/event",
        "tanzhang/v1/line-a1/meter-0/status",
        "tanzhang/v1/line-a1/ghost/data",
        "tanzhang/v1/other/meter-0/data",
    ]
) | st.text(max_size=80)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=30,
)
VALUE_NAMES = st.sampled_from(["energy_kwh_total", "power_kw", "soil_moisture_pct", "nope", ""])
READING = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.integers() | st.text(max_size=30) | st.floats() | st.none(),
        "seq": st.integers() | st.floats() | st.text(max_size=5),
        "values": st.dictionaries(VALUE_NAMES, st.floats() | st.integers() | JSON, max_size=4)
        | JSON,
    },
)
DOCS = READING | st.fixed_dictionaries({"batch": st.lists(READING, max_size=5) | JSON}) | JSON


def check(decoded) -> None:  # noqa: ANN001 (a Decoded)
    for r in decoded.rejects:
        assert r.reason in REJECT_REASONS and r.detail
    for reading in decoded.readings:
        assert reading.values and all(isinstance(v, float) for v in reading.values.values())


@settings(max_examples=400, deadline=None)
@given(topic=TOPICS, payload=st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(topic: str, payload: bytes) -> None:
    check(DECODER.decode(topic, payload, NOW))


@settings(max_examples=400, deadline=None)
@given(topic=TOPICS, doc=DOCS)
def test_arbitrary_json_never_raises(topic: str, doc: object) -> None:
    payload = json.dumps(doc, allow_nan=True).encode()
    check(DECODER.decode(topic, payload, NOW))


def test_deeply_nested_json_is_a_reject_not_a_crash() -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    out = DECODER.decode("tanzhang/v1/line-a1/meter-0/data", payload, NOW)
    assert [r.reason for r in out.rejects] == ["payload_too_large"]
    deep = b'{"values": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    out = DECODER.decode("tanzhang/v1/line-a1/meter-0/data", deep, NOW)
    assert len(out.rejects) == 1 and out.rejects[0].reason in REJECT_REASONS
