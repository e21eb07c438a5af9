"""Every simulated message passes the wire contract decoder (telemetry.contract)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from simulators.faults import GARBAGE
from simulators.messages import MAX_BATCH, MAX_PAYLOAD_BYTES, encode
from tests.simulators.conftest import ms

# A window with every kind of field record: harvests and base fertiliser in late November,
# organic fertiliser and organic-substitution practice in December.
START, END = ms(date(2025, 11, 10)), ms(date(2025, 12, 20))
NOW = ms(date(2026, 6, 30))


def _decode_all(decoder, messages):
    readings, events, rejects = 0, Counter(), Counter()
    for m in messages:
        out = decoder.decode(m.topic, encode(m.payload), NOW)
        readings += len(out.readings)
        events.update(e.type for e in out.events)
        rejects.update(r.reason for r in out.rejects)
    return readings, events, rejects


def test_batched_backfill_is_accepted_entirely(fleet, decoder) -> None:
    msgs = list(fleet.messages(START, END, 3600, batch=True))
    readings, events, rejects = _decode_all(decoder, msgs)
    assert rejects == Counter()
    data_devices = sum(m.has_data for m in fleet.models())
    assert readings == data_devices * 40 * 24
    assert set(events) == {
        "fertilizer_applied",
        "fuel_used",
        "harvest",
        "practice",
    }
    for m in msgs:
        assert len(encode(m.payload)) <= MAX_PAYLOAD_BYTES
        if isinstance(m.payload, dict) and "batch" in m.payload:
            assert 1 <= len(m.payload["batch"]) <= MAX_BATCH


def test_single_readings_events_and_status_are_accepted(fleet, decoder) -> None:
    lo = ms(date(2026, 1, 12))
    msgs = fleet.status_messages("online") + list(fleet.messages(lo, lo + 7 * 86_400_000, 3600))
    msgs += fleet.status_messages("offline")
    readings, events, rejects = _decode_all(decoder, msgs)
    assert rejects == Counter()
    assert events["tree_survey"] == 6  # the quarterly survey of each orchard on ~15 January
    assert readings == sum(m.has_data for m in fleet.models()) * 7 * 24


def test_a_year_of_records_has_every_event_type(fleet, decoder) -> None:
    msgs = list(fleet.messages(ms(date(2025, 1, 1)), ms(date(2026, 1, 1)), 86_400))
    _, events, rejects = _decode_all(decoder, msgs)
    assert rejects == Counter()
    assert set(events) == {
        "fertilizer_applied",
        "fuel_used",
        "harvest",
        "practice",
        "pesticide_applied",
        "tree_survey",
    }
    assert events["tree_survey"] == 6 * 4 + 2  # quarterly per orchard, twice for the forest
    assert events["harvest"] == 6 * 3
    surveys = [
        decoder.decode(m.topic, encode(m.payload), NOW).events[0]
        for m in msgs
        if m.topic.endswith("forest-kh-01-ft/event")
    ]
    assert len(surveys) == 2
    assert surveys[1].attrs["biomass_t"] > surveys[0].attrs["biomass_t"]


def test_faulty_stream_is_rejected_only_where_garbage_was_injected(fleet, decoder) -> None:
    lo = ms(date(2026, 2, 1))
    msgs = list(fleet.messages(lo, lo + 2 * 86_400_000, 600, faults=["all"]))
    garbage = sum(isinstance(m.payload, bytes) for m in msgs)
    assert garbage >= len(GARBAGE)
    _, _, rejects = _decode_all(decoder, msgs)
    assert sum(rejects.values()) == garbage
    assert set(rejects) == {
        "payload_not_utf8",
        "payload_not_json",
        "value_not_number",
        "value_unknown",
        "value_out_of_bounds",
        "values_empty",
    }


@pytest.mark.parametrize("max_bytes", [2_000, 60_000])
def test_batches_respect_size_limits(fleet, max_bytes) -> None:
    from simulators.messages import batch_messages

    lo = ms(date(2026, 4, 1))
    singles = [m for m in fleet.messages(lo, lo + 3 * 86_400_000, 60) if m.topic.endswith("/data")]
    batches = list(batch_messages(singles, max_bytes=max_bytes))
    assert sum(len(b.payload["batch"]) for b in batches) == len(singles)
    for b in batches:
        assert len(encode(b.payload)) <= max_bytes
        assert len(b.payload["batch"]) <= MAX_BATCH
