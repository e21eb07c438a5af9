"""The on-disk spool: order, bound, crash recovery (torn tail, cursor)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.message import Batch
from gateway.spool import Spool, decode, encode
from telemetry.model import Event, Reading, Reject


def batch(seqs: range) -> Batch:
    b = Batch()
    b.readings = [
        Reading("line-a1", "meter-0", 1_767_225_600_000 + s, {"power_kw": s / 2}, s) for s in seqs
    ]
    return b


def seqs(b: Batch) -> list[int]:
    return [r.seq for r in b.readings]


def test_round_trip_of_every_record_kind() -> None:
    b = batch(range(3))
    b.readings.append(Reading("line-a1", "meter-0", 5, {"energy_kwh_total": 1e12}, None, True))
    b.events = [Event("o-1", "t-1", 7, "ev-1", "harvest", {"mass_t": 2.5, "note": "x"})]
    b.rejects = [
        Reject("payload_not_utf8", "bad", "tanzhang/v1/a/b/data", b"\xff\x00\n", 9, 2, "a", "b")
    ]
    back = decode(encode(b, 123))
    assert back.readings == b.readings
    assert back.events == b.events
    assert back.rejects == b.rejects


def test_append_read_commit_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20, segment_bytes=300)
    for i in range(10):
        b = batch(range(i * 3, i * 3 + 3))
        spool.append_line(encode(b, 1000 + i), b.points, 1000 + i)
    spool.sync()
    assert spool.batches == 10 and spool.points == 30 and spool.oldest_ms == 1000
    assert len(list(tmp_path.glob("*.seg"))) > 1, "segments rotate"
    merged, n = spool.read(7)
    assert n == 2 and seqs(merged) == list(range(6)), "whole batches, up to max_points"
    spool.commit(n)
    assert spool.oldest_ms == 1002
    rest, n = spool.read(1000)
    assert seqs(rest) == list(range(6, 30))
    spool.commit(n)
    assert spool.empty and spool.disk_bytes == 0
    assert list(tmp_path.glob("*.seg")) == []


def test_reopen_resumes_at_cursor_and_cuts_torn_tail(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20, segment_bytes=250)
    for i in range(6):
        b = batch(range(i * 2, i * 2 + 2))
        spool.append_line(encode(b, 1000 + i), b.points, 1000 + i)
    spool.sync()
    _, n = spool.read(4)
    spool.commit(n)  # batches 0, 1 are in the store
    spool.close()
    last = sorted(tmp_path.glob("*.seg"))[-1]
    with last.open("ab") as f:
        f.write(b'1006 2 {"r": [["line-a1"')  # power cut in the middle of a write
    again = Spool(tmp_path, 1 << 20, segment_bytes=250)
    assert again.batches == 4
    merged, n = again.read(1000)
    assert seqs(merged) == list(range(4, 12))
    assert last.read_bytes().endswith(b"\n")
    b = batch(range(12, 14))
    again.append_line(encode(b, 2000), b.points, 2000)
    again.sync()
    merged, n = again.read(1000)
    assert seqs(merged) == list(range(4, 14))


def test_bound_counts_bytes_on_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1000, segment_bytes=400)
    line = encode(batch(range(2)), 1)
    fitted = 0
    while spool.has_room(len(line)):
        spool.append_line(line, 2, 1)
        fitted += 1
    assert fitted == 1000 // len(line)
    assert spool.disk_bytes <= 1000
    _, n = spool.read(2)
    spool.commit(n)
    # room comes back only when a whole segment has been replayed and deleted
    while not spool.has_room(len(line)):
        _, n = spool.read(2)
        spool.commit(n)
    assert spool.has_room(len(line))


def test_failed_write_leaves_no_partial_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path, 1 << 20)
    good = encode(batch(range(2)), 1)
    spool.append_line(good, 2, 1)
    real_write = os.write
    calls = {"n": 0}

    def half_then_full(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[:10]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError):
        spool.append_line(encode(batch(range(2, 4)), 2), 2, 2)
    monkeypatch.setattr(os, "write", real_write)
    spool.append_line(encode(batch(range(4, 6)), 3), 2, 3)
    spool.sync()
    spool.close()
    again = Spool(tmp_path, 1 << 20)
    merged, _ = again.read(100)
    assert seqs(merged) == [0, 1, 4, 5]
