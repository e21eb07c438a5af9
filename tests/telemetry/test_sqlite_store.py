"""SqliteStore specifics: WAL, threads, persistence, retention on write, error mapping."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from telemetry.model import Reading
from telemetry.sqlite import SqliteStore
from telemetry.store import StoreError, StoreRejected, StoreUnavailable
from telemetry.stores import open_store

DAY = 86_400_000
NOW = time.time_ns() // 1_000_000


def test_wal_mode_and_persistence(tmp_path) -> None:
    path = tmp_path / "sub" / "telemetry.sqlite"
    with SqliteStore(path) as s:
        s.write([Reading("e", "d", NOW, {"power_kw": 1.5})])
        assert s._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with SqliteStore(path) as s:  # a new process would see the same
        assert s.series("power_kw", NOW, NOW + 1)[("e", "d")].values.tolist() == [1.5]


def test_one_writer_thread_and_reader_threads(tmp_path) -> None:
    store = SqliteStore(tmp_path / "t.sqlite")
    n_batches, batch = 40, 50
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for b in range(n_batches):
                store.write(
                    [
                        Reading(
                            "line-1",
                            "meter-1",
                            NOW - DAY + (b * batch + i) * 1000,
                            {"power_kw": float(i)},
                        )
                        for i in range(batch)
                    ]
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                got = store.series("power_kw", NOW - 2 * DAY, NOW)
                n = len(got.get(("line-1", "meter-1"), []))
                assert n % batch == 0  # a batch is visible whole or not at all
                store.latest()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert (
        len(store.series("power_kw", NOW - 2 * DAY, NOW)[("line-1", "meter-1")])
        == n_batches * batch
    )
    store.close()


def test_two_stores_on_one_file(tmp_path) -> None:
    a, b = SqliteStore(tmp_path / "t.sqlite"), SqliteStore(tmp_path / "t.sqlite")
    a.write([Reading("e", "d", NOW, {"power_kw": 1.0})])
    b.write(
        [Reading("e", "d", NOW + 1, {"power_kw": 2.0}), Reading("e", "d2", NOW, {"power_kw": 3.0})]
    )
    a.write([Reading("e", "d2", NOW + 1, {"power_kw": 4.0})])
    got = {k: v.values.tolist() for k, v in b.series("power_kw", NOW, NOW + 2).items()}
    assert got == {("e", "d"): [1.0, 2.0], ("e", "d2"): [3.0, 4.0]}
    a.close()
    b.close()


def test_retention_purges_on_write_and_none_keeps_everything(tmp_path) -> None:
    s = SqliteStore(tmp_path / "a.sqlite", retention="7d")
    s.write([Reading("e", "d", NOW - 3 * DAY, {"power_kw": 1.0})])
    with pytest.raises(StoreRejected, match="beyond retention policy dropped=1"):
        s.write([Reading("e", "d", NOW - 8 * DAY, {"power_kw": 2.0})])
    assert s.series("power_kw", 0, NOW)[("e", "d")].values.tolist() == [1.0]
    s.close()
    # a shorter retention at the next start purges on the first write
    s = SqliteStore(tmp_path / "a.sqlite", retention="2d")
    s.write([Reading("e", "d", NOW, {"power_kw": 3.0})])
    assert s.series("power_kw", 0, NOW + 1)[("e", "d")].values.tolist() == [3.0]
    s.close()
    keep = SqliteStore(tmp_path / "b.sqlite", retention=None)
    keep.write([Reading("e", "d", 1000, {"power_kw": 1.0})])  # 1970 is fine without retention
    assert keep.series("power_kw", 0, 2000)[("e", "d")].ts_ms.tolist() == [1000]
    keep.close()


def test_memory_database_refused_and_closed_store_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="file"):
        SqliteStore(":memory:")
    s = SqliteStore(tmp_path / "t.sqlite")
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.latest()


def test_locked_database_is_unavailable(tmp_path) -> None:
    path = tmp_path / "t.sqlite"
    s = SqliteStore(path, busy_timeout_s=0.1)
    s.ensure_ready()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreUnavailable, match="busy"):
            s.write([Reading("e", "d", NOW, {"power_kw": 1.0})])
    finally:
        other.execute("ROLLBACK")
        other.close()
    s.write([Reading("e", "d", NOW, {"power_kw": 1.0})])  # and works once it is released
    assert s.series("power_kw", NOW, NOW + 1)[("e", "d")].values.tolist() == [1.0]
    s.close()


def test_unreadable_file_is_a_store_error(tmp_path) -> None:
    path = tmp_path / "t.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    s = SqliteStore(path)
    with pytest.raises(StoreError) as info:
        s.latest()
    assert not isinstance(info.value, StoreUnavailable)
    s.close()


def test_open_store_embedded(tmp_path) -> None:
    s = open_store(None, sqlite_path=tmp_path / "x.sqlite", retention="104w")
    assert isinstance(s, SqliteStore) and s.retention_ms == 104 * 7 * DAY
    s.close()


def test_quarantine_of_the_first_schema_is_migrated(tmp_path) -> None:
    """A file whose ``rejects`` table is keyed by ``ts_ns`` alone keeps its rejects."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """CREATE TABLE rejects (
            ts_ns INTEGER PRIMARY KEY, reason TEXT NOT NULL, detail TEXT NOT NULL,
            topic TEXT NOT NULL, payload BLOB NOT NULL, item INTEGER, entity TEXT, device TEXT);
        CREATE INDEX rejects_reason ON rejects (reason, ts_ns);"""
    )
    ts = NOW * 1_000_000 + 17
    conn.execute(
        "INSERT INTO rejects VALUES (?, 'device_unknown', 'x', 't/a', ?, NULL, 'e', 'd')",
        (ts, b"{}"),
    )
    conn.commit()
    conn.close()
    with SqliteStore(path) as s:
        [old] = s.rejects()
        assert (old.id, old.payload, old.payload_size, old.message) == (str(ts), b"{}", 2, str(ts))
        s.delete_rejects([old.id])
        assert s.rejects() == []
