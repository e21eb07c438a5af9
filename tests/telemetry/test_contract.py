"""The wire contract at the decoder level: every reject reason, partial acceptance, ts formats,
events and the status channel (docs/protocol.md is the device developer's version)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from telemetry.contract import (
    DEFAULT_MAX_AGE_MS,
    EVENT_SPECS,
    MAX_BATCH,
    MAX_DETAIL,
    MAX_FUTURE_MS,
    MAX_PAYLOAD_BYTES,
    PRACTICES,
    REJECT_REASONS,
    ContractError,
    Decoder,
    parse_topic,
    parse_ts,
)
from telemetry.values import VALUE_SPECS

# 2026-11-24T00:00:00Z, a fixed gateway clock so every case is reproducible
NOW = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp() * 1000)
TOPIC = "tanzhang/v1/line-a1/meter-a1/data"
EVENT_TOPIC = "tanzhang/v1/orchard-1/terminal-1/event"


class Devices:
    """A registry stand-in (the decoder needs only ``entity_of``)."""

    owners = {"meter-a1": "line-a1", "meter-b1": "line-b1", "terminal-1": "orchard-1"}

    def entity_of(self, device_id: str) -> str | None:
        return self.owners.get(device_id)


def decode(topic: str, payload: bytes | str | dict[str, Any], now: int = NOW):
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return Decoder(Devices()).decode(topic, payload, now)


def one_reject(topic: str, payload: bytes | str | dict[str, Any]):
    out = decode(topic, payload)
    assert len(out.rejects) == 1, out.rejects
    assert not out.readings and not out.events and out.status is None
    return out.rejects[0]


def data(**reading: Any) -> dict[str, Any]:
    return reading


# reason -> (topic, payload, a phrase the detail must contain)
CASES: dict[str, tuple[str, bytes | str | dict[str, Any], str]] = {
    "topic_malformed": ("tanzhang/v2/line-a1/meter-a1/data", "{}", "does not start with"),
    "id_invalid": ("tanzhang/v1/Line-A1/meter-a1/data", "{}", "entity id 'Line-A1'"),
    "channel_unknown": ("tanzhang/v1/line-a1/meter-a1/cmd", "{}", "channel 'cmd'"),
    "payload_too_large": (TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1), f"{MAX_PAYLOAD_BYTES + 1} bytes"),
    "payload_not_utf8": (TOPIC, b'{"values": {"power_kw": 1}}\xff', "at byte 27"),
    "payload_not_json": (TOPIC, '{"values": {"power_kw": 1}', "not JSON"),
    "payload_not_object": (TOPIC, "[1, 2]", "JSON list"),
    "device_unknown": ("tanzhang/v1/line-a1/meter-zz/data", "{}", "'meter-zz' is not registered"),
    "device_entity_mismatch": (
        "tanzhang/v1/line-a1/meter-b1/data",
        "{}",
        "'meter-b1' belongs to 'line-b1', not 'line-a1'",
    ),
    "batch_invalid": (TOPIC, {"batch": []}, "got 0"),
    "reading_invalid": (TOPIC, {"ts": NOW, "value": {"power_kw": 1}}, "'values' object"),
    "ts_invalid": (TOPIC, data(ts="2026-11-24T08:00:00", values={"power_kw": 1}), "no UTC offset"),
    "ts_in_future": (TOPIC, data(ts=NOW + 600_000, values={"power_kw": 1}), "600 s ahead"),
    "ts_too_old": (
        TOPIC,
        data(ts="2020-01-01T00:00:00Z", values={"power_kw": 1}),
        "older than the retention of 728 days",
    ),
    "seq_invalid": (TOPIC, data(seq=-1, values={"power_kw": 1}), "seq -1"),
    "values_empty": (TOPIC, data(ts=NOW, values={}), "values is empty"),
    "value_unknown": (TOPIC, data(values={"power_mw": 1}), "'power_mw' is not a value name"),
    "value_not_number": (
        TOPIC,
        data(values={"power_kw": "12.5"}),
        "power_kw='12.5' is not a number",
    ),
    "value_out_of_bounds": (
        TOPIC,
        data(values={"soil_moisture_pct": 130}),
        "soil_moisture_pct=130 % is outside [0, 100]",
    ),
    "event_invalid": (EVENT_TOPIC, {"type": "harvest", "mass_t": 3}, "string 'id'"),
    "event_type_unknown": (EVENT_TOPIC, {"id": "e1", "type": "irrigation"}, "'irrigation'"),
    "event_field_invalid": (
        EVENT_TOPIC,
        {"id": "e1", "type": "harvest", "mass_t": -2},
        "harvest.mass_t=-2 is outside",
    ),
    "status_invalid": (
        "tanzhang/v1/line-a1/meter-a1/status",
        "dead",
        "'dead' is not online/offline",
    ),
}


def test_every_reason_has_a_case() -> None:
    assert set(CASES) == set(REJECT_REASONS)


@pytest.mark.parametrize("reason", sorted(CASES))
def test_reason_is_produced_with_a_specific_detail(reason: str) -> None:
    topic, payload, phrase = CASES[reason]
    rej = one_reject(topic, payload)
    assert rej.reason == reason
    assert phrase in rej.detail
    assert rej.topic == topic
    assert rej.received_ms == NOW
    raw = payload if isinstance(payload, bytes) else None
    if raw is not None:
        assert rej.payload == raw  # the raw bytes are kept for replay


def test_reject_names_entity_and_device_when_the_topic_parsed() -> None:
    rej = one_reject(*CASES["device_entity_mismatch"][:2])
    assert (rej.entity, rej.device) == ("line-a1", "meter-b1")
    rej = one_reject(*CASES["topic_malformed"][:2])
    assert (rej.entity, rej.device) == (None, None)


# -- topics and ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("tanzhang/v1/line-a1/meter-a1", "topic_malformed"),
        ("tanzhang/v1/line-a1/meter-a1/data/extra", "topic_malformed"),
        ("tanzhang/v1//meter-a1/data", "id_invalid"),
        ("tanzhang/v1/line-a1/meter a1/data", "id_invalid"),
        ("tanzhang/v1/line-a1/meter-a1\n/data", "id_invalid"),  # "$" would have let this in
        ("tanzhang/v1/line-a1/" + "m" * 65 + "/data", "id_invalid"),
        ("tanzhang/v1/line-a1/meter-a1/DATA", "channel_unknown"),
        ("", "topic_malformed"),
    ],
)
def test_topic_problems(topic: str, reason: str) -> None:
    with pytest.raises(ContractError) as err:
        parse_topic(topic)
    assert err.value.reason == reason


def test_topic_prefix_is_configurable() -> None:
    assert parse_topic("site7/x/line-a1/meter-a1/event", "site7/x/") == (
        "line-a1",
        "meter-a1",
        "event",
    )
    dec = Decoder(Devices(), prefix="site7/x")
    out = dec.decode("site7/x/line-a1/meter-a1/data", b'{"values": {"power_kw": 2}}', NOW)
    assert [r.values for r in out.readings] == [{"power_kw": 2.0}]
    assert dec.decode(TOPIC, b'{"values": {"power_kw": 2}}', NOW).rejects[0].reason == (
        "topic_malformed"
    )


def test_sixty_four_character_ids_pass() -> None:
    assert parse_topic(f"tanzhang/v1/{'e' * 64}/{'d' * 64}/status")[:2] == ("e" * 64, "d" * 64)


# -- readings -------------------------------------------------------------------------------


def test_single_reading_is_accepted_as_floats() -> None:
    out = decode(TOPIC, {"ts": NOW - 1000, "seq": 17, "values": {"energy_kwh_total": 1234}})
    assert out.rejects == []
    (r,) = out.readings
    assert (r.entity, r.device, r.ts_ms, r.seq, r.stamped) == (
        "line-a1",
        "meter-a1",
        NOW - 1000,
        17,
        False,
    )
    assert r.values == {"energy_kwh_total": 1234.0}
    assert type(r.values["energy_kwh_total"]) is float


def test_missing_ts_is_stamped_with_arrival_time() -> None:
    (r,) = decode(TOPIC, {"values": {"power_kw": 3.5}}).readings
    assert (r.ts_ms, r.stamped, r.seq) == (NOW, True, None)


def test_bounds_are_inclusive_and_power_may_be_negative() -> None:
    out = decode(TOPIC, {"values": {"soil_moisture_pct": 100, "solar_wm2": 0, "power_kw": -40}})
    assert out.rejects == []
    assert out.readings[0].values == {
        "soil_moisture_pct": 100.0,
        "solar_wm2": 0.0,
        "power_kw": -40.0,
    }


def test_a_bad_value_is_refused_and_the_good_values_kept() -> None:
    out = decode(
        TOPIC,
        {
            "ts": NOW,
            "values": {"power_kw": 5, "energy_kwh_total": -1, "volts": 230, "humidity_pct": 40},
        },
    )
    (r,) = out.readings
    assert r.values == {"power_kw": 5.0, "humidity_pct": 40.0}
    assert sorted((x.reason, x.item) for x in out.rejects) == [
        ("value_out_of_bounds", None),
        ("value_unknown", None),
    ]
    details = " | ".join(x.detail for x in out.rejects)
    assert "energy_kwh_total=-1 kWh" in details and "'volts'" in details


def test_a_reading_with_only_bad_values_is_refused_with_every_problem() -> None:
    rej = one_reject(TOPIC, {"values": {"power_kw": True, "volts": 1}})
    assert rej.reason == "value_not_number"  # the first problem names the reason
    assert "power_kw=True" in rej.detail and "'volts'" in rej.detail


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        (b'{"values": {"power_kw": NaN}}', "not finite"),
        (b'{"values": {"power_kw": -Infinity}}', "not finite"),
        (b'{"values": {"power_kw": null}}', "None is not a number"),
        (b'{"values": {"power_kw": [1]}}', "is not a number"),
        (b'{"values": {"power_kw": 1' + b"0" * 400 + b"}}", "beyond 1e308"),
    ],
)
def test_values_that_are_not_finite_numbers(raw: bytes, phrase: str) -> None:
    rej = one_reject(TOPIC, raw)
    assert rej.reason == "value_not_number"
    assert phrase in rej.detail


def test_batch_keeps_the_good_readings_and_indexes_the_bad_ones() -> None:
    batch = [
        {"ts": NOW - 3000, "seq": 1, "values": {"energy_kwh_total": 10}},
        {"ts": "yesterday", "seq": 2, "values": {"energy_kwh_total": 11}},
        {"ts": NOW - 1000, "seq": 3, "values": {"energy_kwh_total": 12}},
        "not a reading",
        {"ts": NOW + 10 * MAX_FUTURE_MS, "values": {"energy_kwh_total": 13}},
        {"ts": NOW - 2000, "seq": 2, "values": {"energy_kwh_total": 11, "power_kw": 1e9}},
    ]
    raw = json.dumps({"batch": batch}).encode()
    out = decode(TOPIC, raw)
    assert [(r.seq, r.values) for r in out.readings] == [
        (1, {"energy_kwh_total": 10.0}),
        (3, {"energy_kwh_total": 12.0}),
        (2, {"energy_kwh_total": 11.0}),
    ]
    assert [(x.item, x.reason) for x in out.rejects] == [
        (1, "ts_invalid"),
        (3, "reading_invalid"),
        (4, "ts_in_future"),
        (5, "value_out_of_bounds"),
    ]
    assert all(x.payload == raw for x in out.rejects)  # the whole message, so a replay resends it


def test_out_of_order_batch_keeps_device_order_and_timestamps() -> None:
    batch = [{"ts": NOW - k * 60_000, "values": {"power_kw": k}} for k in (3, 1, 2)]
    out = decode(TOPIC, {"batch": batch})
    assert [r.ts_ms for r in out.readings] == [NOW - 180_000, NOW - 60_000, NOW - 120_000]


def test_batch_limits() -> None:
    reading = {"values": {"power_kw": 1}}
    assert len(decode(TOPIC, {"batch": [reading] * MAX_BATCH}).readings) == MAX_BATCH
    rej = one_reject(TOPIC, {"batch": [reading] * (MAX_BATCH + 1)})
    assert (rej.reason, rej.detail) == (
        "batch_invalid",
        f"batch must be a list of 1-{MAX_BATCH} readings, got {MAX_BATCH + 1}",
    )
    assert "got dict" in one_reject(TOPIC, {"batch": {"values": {}}}).detail


def test_payload_limit_is_inclusive() -> None:
    reading = json.dumps({"values": {"power_kw": 1}})
    fits = reading + " " * (MAX_PAYLOAD_BYTES - len(reading))
    assert len(decode(TOPIC, fits).readings) == 1
    assert one_reject(TOPIC, fits + " ").reason == "payload_too_large"


@pytest.mark.parametrize("seq", [-1, 1.5, "7", True, 2**63])
def test_bad_seq(seq: Any) -> None:
    assert one_reject(TOPIC, {"seq": seq, "values": {"power_kw": 1}}).reason == "seq_invalid"


def test_seq_extremes_pass() -> None:
    for seq in (0, 2**63 - 1):
        assert decode(TOPIC, {"seq": seq, "values": {"power_kw": 1}}).readings[0].seq == seq


def test_deeply_nested_json_is_refused_not_crashed() -> None:
    assert one_reject(TOPIC, "[" * 60_000).reason == "payload_not_json"


def test_integer_too_long_for_python_is_refused_as_json() -> None:
    assert one_reject(TOPIC, '{"values": {"power_kw": ' + "9" * 5000 + "}}").reason == (
        "payload_not_json"
    )


# -- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        NOW - 90_000,
        float(NOW - 90_000),
        "2026-11-23T23:58:30Z",
        "2026-11-23T23:58:30z",
        "2026-11-23T23:58:30.000Z",
        "2026-11-23T23:58:30+00:00",
        "2026-11-24T07:58:30+08:00",  # China Standard Time
        "2026-11-23T18:28:30-05:30",
        "2026-11-24 07:58:30+08:00",  # RFC 3339 allows a space for T
    ],
)
def test_ts_forms_that_mean_the_same_instant(raw: Any) -> None:
    assert parse_ts(raw, NOW, DEFAULT_MAX_AGE_MS) == NOW - 90_000


def test_ts_keeps_milliseconds_and_drops_finer_digits() -> None:
    assert parse_ts("2026-11-24T07:58:30.123456+08:00", NOW, DEFAULT_MAX_AGE_MS) == NOW - 89_877


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        (1_795_000_000, "looks like seconds"),
        (NOW + 0.5, "neither epoch milliseconds"),
        ("1795000000000", "not RFC 3339"),
        ("24/11/2026 08:00", "not RFC 3339"),
        ("2026-11-24T08:00:00", "no UTC offset"),
        (None, "neither"),
        (True, "neither"),
        ([NOW], "neither"),
    ],
)
def test_ts_invalid(raw: Any, phrase: str) -> None:
    with pytest.raises(ContractError) as err:
        parse_ts(raw, NOW, DEFAULT_MAX_AGE_MS)
    assert err.value.reason == "ts_invalid"
    assert phrase in err.value.detail


def test_ts_future_and_age_limits_are_inclusive() -> None:
    assert parse_ts(NOW + MAX_FUTURE_MS, NOW, 1000) == NOW + MAX_FUTURE_MS
    assert parse_ts(NOW - 1000, NOW, 1000) == NOW - 1000
    with pytest.raises(ContractError, match="301 s ahead") as err:
        parse_ts(NOW + MAX_FUTURE_MS + 1000, NOW, 1000)
    assert err.value.reason == "ts_in_future"
    with pytest.raises(ContractError) as err:
        parse_ts(NOW - 1001, NOW, 1000)
    assert err.value.reason == "ts_too_old"


def test_decoder_retention_is_configurable() -> None:
    dec = Decoder(Devices(), max_age_ms=3_600_000)
    old = json.dumps({"ts": NOW - 7_200_000, "values": {"power_kw": 1}}).encode()
    assert dec.decode(TOPIC, old, NOW).rejects[0].reason == "ts_too_old"
    assert Decoder(Devices()).decode(TOPIC, old, NOW).readings


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", 10**400, 1e300, -(10**30)]
)
def test_extreme_ts_are_refused_not_crashed(raw: Any) -> None:
    with pytest.raises(ContractError) as err:
        parse_ts(raw, NOW, DEFAULT_MAX_AGE_MS)
    assert err.value.reason in ("ts_in_future", "ts_too_old")
    assert len(err.value.detail) <= MAX_DETAIL


# -- events ---------------------------------------------------------------------------------

VALID_EVENTS: list[dict[str, Any]] = [
    {
        "type": "fertilizer_applied",
        "product": "compound 15-15-15",
        "mass_kg": 200,
        "n_frac": 0.15,
        "p2o5_frac": 0.15,
        "k2o_frac": 0.15,
        "organic": False,
        "area_mu": 12.5,
    },
    {
        "type": "fertilizer_applied",
        "product": "cake",
        "mass_kg": 500,
        "n_frac": 0.05,
        "organic": True,
    },
    {"type": "fuel_used", "fuel": "diesel", "litres": 35.5},
    {"type": "harvest", "mass_t": 4.2},
    {"type": "practice", "practice": "grass_cover", "area_mu": 20},
    {"type": "practice", "practice": "straw_return", "area_mu": 8},
    {"type": "practice", "practice": "organic_substitution", "area_mu": 8},
    {"type": "tree_survey", "trees": 1200, "mean_trunk_diameter_cm": 14.5, "species": "citrus"},
    {"type": "tree_survey", "trees": 300, "biomass_t": 45.0, "volume_m3": 60},
    {"type": "pesticide_applied", "mass_kg": 2.5, "class": "fungicide"},
]


def test_every_event_type_has_a_valid_example() -> None:
    assert {e["type"] for e in VALID_EVENTS} == set(EVENT_SPECS)


@pytest.mark.parametrize("body", VALID_EVENTS, ids=lambda b: b["type"])
def test_valid_events_are_accepted(body: dict[str, Any]) -> None:
    doc = {"id": "2026-11-23-001", "ts": "2026-11-23T09:30:00+08:00", **body}
    out = decode(EVENT_TOPIC, doc)
    assert out.rejects == []
    (ev,) = out.events
    assert (ev.entity, ev.device, ev.id, ev.type) == (
        "orchard-1",
        "terminal-1",
        "2026-11-23-001",
        body["type"],
    )
    assert ev.ts_ms == int(datetime(2026, 11, 23, 1, 30, tzinfo=UTC).timestamp() * 1000)
    expected = {
        k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
        for k, v in body.items()
        if k != "type"
    }
    assert ev.attrs == expected


def test_event_without_ts_is_stamped_and_unknown_fields_dropped() -> None:
    (ev,) = decode(EVENT_TOPIC, {"id": "h1", "type": "harvest", "mass_t": 1, "note": "x"}).events
    assert ev.ts_ms == NOW
    assert ev.attrs == {"mass_t": 1.0}


def test_same_event_id_lands_on_the_same_point() -> None:
    doc = {"id": "h1", "ts": NOW - 5000, "type": "harvest", "mass_t": 1}
    (a,), (b,) = decode(EVENT_TOPIC, doc).events, decode(EVENT_TOPIC, doc).events
    (c,) = decode(EVENT_TOPIC, {**doc, "id": "h2"}).events
    assert a.ts_ns == b.ts_ns != c.ts_ns
    assert a.ts_ns // 1_000_000 == c.ts_ns // 1_000_000 == NOW - 5000


@pytest.mark.parametrize(
    ("body", "reason", "phrase"),
    [
        ({"id": "", "type": "harvest", "mass_t": 1}, "event_invalid", "1-128 characters"),
        ({"id": 7, "type": "harvest", "mass_t": 1}, "event_invalid", "string 'id'"),
        ({"id": "x" * 129, "type": "harvest", "mass_t": 1}, "event_invalid", "1-128"),
        ({"id": "e1", "mass_t": 1}, "event_invalid", "string 'type'"),
        ({"id": "e1", "type": "Harvest"}, "event_type_unknown", "fertilizer_applied, fuel_used"),
        ({"id": "e1", "type": "harvest"}, "event_field_invalid", "harvest needs field 'mass_t'"),
        ({"id": "e1", "type": "harvest", "mass_t": "4"}, "event_field_invalid", "wrong type"),
        ({"id": "e1", "type": "harvest", "mass_t": True}, "event_field_invalid", "wrong type"),
        ({"id": "e1", "type": "harvest", "mass_t": 2e5}, "event_field_invalid", "outside"),
        (b'{"id": "e1", "type": "harvest", "mass_t": NaN}', "event_field_invalid", "not finite"),
        (
            {
                "id": "e1",
                "type": "fertilizer_applied",
                "product": "urea",
                "mass_kg": 10,
                "n_frac": 0.46,
                "organic": "no",
            },
            "event_field_invalid",
            "fertilizer_applied.organic='no' has the wrong type",
        ),
        (
            {
                "id": "e1",
                "type": "fertilizer_applied",
                "product": "urea",
                "mass_kg": 10,
                "n_frac": 46,
                "organic": False,
            },
            "event_field_invalid",
            "n_frac=46 is outside [0, 1]",
        ),
        (
            {"id": "e1", "type": "practice", "practice": "no_till", "area_mu": 3},
            "event_field_invalid",
            "'no_till' is not one of grass_cover, straw_return, organic_substitution",
        ),
        ({"id": "e1", "type": "harvest", "mass_t": 1, "ts": "soon"}, "ts_invalid", "not RFC 3339"),
        (
            {"id": "e1", "type": "harvest", "mass_t": 1, "ts": NOW + 3_600_000},
            "ts_in_future",
            "3600 s ahead",
        ),
        ([{"id": "e1"}], "payload_not_object", "JSON list"),
    ],
)
def test_event_rejects(body: Any, reason: str, phrase: str) -> None:
    rej = one_reject(EVENT_TOPIC, body if isinstance(body, bytes | dict) else json.dumps(body))
    assert rej.reason == reason
    assert phrase in rej.detail


# -- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        (b"online", "online"),
        (b"offline", "offline"),
        (b'"online"', "online"),
        (b"offline\n", "offline"),
    ],
)
def test_status(raw: bytes, state: str) -> None:
    out = decode("tanzhang/v1/line-a1/meter-a1/status", raw)
    assert (out.status, out.rejects, out.readings) == (state, [], [])
    assert (out.entity, out.device) == ("line-a1", "meter-a1")


@pytest.mark.parametrize("raw", [b"", b"Online", b'{"status": "online"}', b"on line"])
def test_status_invalid(raw: bytes) -> None:
    assert one_reject("tanzhang/v1/line-a1/meter-a1/status", raw).reason == "status_invalid"


def test_status_from_an_unknown_device_is_refused() -> None:
    assert one_reject("tanzhang/v1/line-a1/ghost/status", b"online").reason == "device_unknown"


def test_long_details_are_capped() -> None:
    rej = one_reject(TOPIC, {"values": {"power_kw": "x" * 10_000}})
    assert rej.reason == "value_not_number"
    assert len(rej.detail) == MAX_DETAIL and rej.detail.endswith("...")


# -- docs/protocol.md cannot drift from the code ----------------------------------------------

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def _num(x: float | None) -> str:
    if x is None:
        return ""
    text = f"{x:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def value_table() -> str:
    """The value-name table of docs/protocol.md, generated from VALUE_SPECS."""
    rows = [
        "| value name | unit | kind | min | max | what it measures |",
        "|---|---|---|---|---|---|",
    ]
    for s in VALUE_SPECS.values():
        rows.append(
            f"| `{s.name}` | {s.unit} | {s.kind} | {_num(s.low)} | {_num(s.high)} | {s.description} |"
        )
    return "\n".join(rows)


def event_table() -> str:
    """The event-field table of docs/protocol.md, generated from EVENT_SPECS."""
    names = {str: "text", bool: "true/false", int: "number", float: "number"}
    rows = ["| type | field | JSON type | required | range |", "|---|---|---|---|---|"]
    for etype, fields in EVENT_SPECS.items():
        for name, fs in fields.items():
            kind = "/".join(dict.fromkeys(names[t] for t in fs.types))
            span = "" if fs.low is None and fs.high is None else f"{_num(fs.low)} … {_num(fs.high)}"
            if (etype, name) == ("practice", "practice"):
                span = ", ".join(f"`{p}`" for p in PRACTICES)
            rows.append(
                f"| `{etype}` | `{name}` | {kind} | {'yes' if fs.required else 'no'} | {span} |"
            )
    return "\n".join(rows)


def _section(marker: str) -> str:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    start, end = f"<!-- {marker}:start -->\n", f"\n<!-- {marker}:end -->"
    assert start in text and end in text, f"docs/protocol.md lacks the {marker} markers"
    return text.split(start, 1)[1].split(end, 1)[0]


@pytest.mark.parametrize(
    ("marker", "make"), [("value-table", value_table), ("event-table", event_table)]
)
def test_protocol_doc_tables_match_the_code(marker: str, make) -> None:
    expected = make()
    assert _section(marker) == expected, f"paste this into docs/protocol.md:\n{expected}"


def test_protocol_doc_explains_every_reject_reason() -> None:
    table = _section("reject-table")
    listed = re.findall(r"^\| `([a-z0-9_]+)` \|", table, re.M)
    assert listed == list(REJECT_REASONS), "one row per reason, in the order of REJECT_REASONS"


def test_protocol_doc_states_the_limits() -> None:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    for phrase in (
        f"{MAX_PAYLOAD_BYTES // 1024} KiB",
        f"{MAX_BATCH} readings",
        f"{MAX_FUTURE_MS // 60_000} minutes",
        "tanzhang/dead-letter/{reason}",
        "QoS 1",
    ):
        assert phrase in text, phrase
