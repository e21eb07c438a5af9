"""The embedded telemetry store: one SQLite file (stdlib ``sqlite3``), the default with no InfluxDB.

It mirrors the InfluxDB schema (see :mod:`telemetry.store`) in tables:

- ``series(id, entity, device, field, last_ts_ms, last_value)``: one row per series (a field of
  a device), the catalogue that also answers :meth:`SqliteStore.latest` without a scan;
- ``readings(series_id, ts_ms, value)``, primary key ``(series_id, ts_ms)``: same series and
  timestamp overwrite (idempotent), like InfluxDB;
- ``events(entity, device, type, ts_ns, ts_ms, id, fields)``, primary key
  ``(entity, device, type, ts_ns)`` (InfluxDB's tags + time); ``fields`` is JSON;
- ``rejects(source, ts_ns, ...)`` keyed by the source and
  :func:`~telemetry.store.reject_ts_ns`; the payload excerpt, digest and size are kept on
  the first reject of each message only (``ordinal`` 0) and joined in when listing;
- ``gateway_stats(gateway, field, ts_ms, value)``.

Concurrency: WAL journal, one connection per thread, one writer at a time (a lock in the
process, ``BEGIN IMMEDIATE`` and a busy timeout between processes). Readers never block the
writer. Retention: points older than ``retention`` are refused at write (as InfluxDB refuses
points beyond its retention policy) and purged at most once an hour on write, or by
:meth:`SqliteStore.purge_older_than`.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sitetime import clock
from telemetry.model import Event, Reading, Reject
from telemetry.store import (
    BOOKKEEPING_FIELDS,
    MESSAGE_SPAN_NS,
    Aggregate,
    LatestValue,
    Series,
    StoredReject,
    StoreError,
    StoreRejected,
    StoreUnavailable,
    check_downsample,
    duration_ms,
    event_fields,
    event_from_fields,
    parse_reject_id,
    parse_reject_ids,
    reject_id,
    reject_ts_ns,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    entity TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL,
    last_ts_ms INTEGER, last_value REAL,
    UNIQUE (entity, device, field)
);
CREATE INDEX IF NOT EXISTS series_field ON series (field, entity, device);
CREATE TABLE IF NOT EXISTS readings (
    series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    entity TEXT NOT NULL, device TEXT NOT NULL, type TEXT NOT NULL, ts_ns INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL,
    PRIMARY KEY (entity, device, type, ts_ns)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_time ON events (ts_ns);
CREATE TABLE IF NOT EXISTS rejects (
    source TEXT NOT NULL, ts_ns INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,
    topic TEXT NOT NULL, payload BLOB NOT NULL, item INTEGER, entity TEXT, device TEXT,
    ordinal INTEGER NOT NULL, payload_sha256 TEXT NOT NULL, payload_size INTEGER NOT NULL,
    PRIMARY KEY (source, ts_ns)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rejects_time ON rejects (ts_ns);
CREATE INDEX IF NOT EXISTS rejects_reason ON rejects (reason, ts_ns);
CREATE TABLE IF NOT EXISTS gateway_stats (
    gateway TEXT NOT NULL, field TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (gateway, field, ts_ms)
) WITHOUT ROWID;
"""

_AGG_SQL = {
    "mean": "avg(r.value)",
    "max": "max(r.value)",
    "min": "min(r.value)",
    "sum": "sum(r.value)",
    "count": "count(r.value)",
    "first": "r.value, min(r.ts_ms)",  # SQLite: bare column taken from the min() row
    "last": "r.value, max(r.ts_ms)",  # SQLite: bare column taken from the max() row
}
PURGE_EVERY_MS = 3_600_000


def _migrate_rejects(conn: sqlite3.Connection) -> None:
    """Move a ``rejects`` table of the first schema (keyed by ``ts_ns`` alone) to this one."""
    cols = [row[1] for row in conn.execute("PRAGMA table_info(rejects)")]
    if cols and "source" not in cols:
        conn.execute("ALTER TABLE rejects RENAME TO rejects_v1")
        conn.execute("DROP INDEX IF EXISTS rejects_reason")
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rejects_v1'").fetchall():
        return
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR REPLACE INTO rejects SELECT '', ts_ns, reason, detail, topic, payload, "
            "item, entity, device, 0, '', length(payload) FROM rejects_v1"
        )
        conn.execute("DROP TABLE rejects_v1")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _now_ms() -> int:
    return clock.now_ms()


class SqliteStore:
    """A :class:`~telemetry.store.TelemetryStore` in one SQLite file, safe across threads.

    path : the database file (created with its folder); ``:memory:`` is not supported
        (every thread has its own connection)
    retention : InfluxQL duration (``104w``) of the data kept; None or ``INF`` keeps all
    synchronous : SQLite ``synchronous`` pragma; ``FULL`` makes every committed batch survive
        a power cut (the gateway acknowledges after the write), ``NORMAL`` only a crash
    busy_timeout_s : how long a writer waits for another process's write lock [s]
    """

    def __init__(
        self,
        path: str | Path,
        *,
        retention: str | None = "104w",
        synchronous: str = "FULL",
        busy_timeout_s: float = 30.0,
    ) -> None:
        if str(path) == ":memory:":
            raise ValueError("SqliteStore needs a file: each thread opens its own connection")
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = Path(path)
        self.retention_ms = duration_ms(retention) if retention else 0
        self._sync = synchronous
        self._busy_s = busy_timeout_s
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._series_ids: dict[tuple[str, str, str], int] = {}
        self._last_purge_ms = 0
        self._closed = False
        self._schema_ready = False

    # ------------------------------------------------------------------ plumbing
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError("the store is closed")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = sqlite3.connect(
                    self.path, timeout=self._busy_s, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._sync}")
            except sqlite3.Error as exc:
                raise _mapped(exc) from exc
            if not self._schema_ready:
                try:
                    _migrate_rejects(conn)
                    conn.executescript(SCHEMA)
                except sqlite3.Error as exc:
                    conn.close()
                    raise _mapped(exc) from exc
                self._schema_ready = True
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the process's writer lock; errors mapped."""
        conn = self._conn()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                self._series_ids.clear()  # ids inserted in a rolled-back transaction are void
                if isinstance(exc, sqlite3.Error):
                    raise _mapped(exc) from exc
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _mapped(exc) from exc

    # ------------------------------------------------------------------ TelemetryStore
    def ensure_ready(self) -> None:
        """Create the file and tables (idempotent; the first connection does it anyway)."""
        self._conn()

    def write(
        self,
        readings: Sequence[Reading] = (),
        events: Sequence[Event] = (),
        rejects: Sequence[Reject] = (),
    ) -> None:
        """Write a batch in one transaction.

        Points older than the retention are left out and, after the rest is committed,
        reported with StoreRejected (InfluxDB's "partial write: points beyond retention
        policy"). A non-finite value refuses the whole batch with StoreRejected.
        """
        now = _now_ms()
        oldest = now - self.retention_ms if self.retention_ms else None
        dropped = 0
        points: list[tuple[str, str, str, int, float]] = []
        for r in readings:
            if oldest is not None and r.ts_ms < oldest:
                dropped += 1
                continue
            for k, v in r.values.items():
                f = float(v)
                if not math.isfinite(f):
                    raise StoreRejected(f"field {k}={v!r} is not finite")
                points.append((r.entity, r.device, k, r.ts_ms, f))
            if r.stamped:
                points.append((r.entity, r.device, "ts_stamped", r.ts_ms, 1.0))
        event_rows = []
        for e in events:
            if oldest is not None and e.ts_ms < oldest:
                dropped += 1
                continue
            try:
                fields = json.dumps(event_fields(e))
            except ValueError as exc:
                raise StoreRejected(str(exc)) from exc
            event_rows.append((e.entity, e.device, e.type, e.ts_ns, e.ts_ms, e.id, fields))
        reject_rows = []
        for j in rejects:
            if oldest is not None and j.received_ms < oldest:
                dropped += 1
                continue
            carrier = j.ordinal == 0
            reject_rows.append(
                (j.source, reject_ts_ns(j), j.reason, j.detail, j.topic)
                + (bytes(j.payload) if carrier else b"", j.item, j.entity, j.device, j.ordinal)
                + (
                    j.payload_sha256 if carrier else "",
                    (len(j.payload) if j.payload_size < 0 else j.payload_size) if carrier else -1,
                )
            )
        if points or event_rows or reject_rows:
            with self._writing() as conn:
                self._write_points(conn, points)
                conn.executemany(
                    "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", event_rows
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    reject_rows,
                )
        if self.retention_ms and now - self._last_purge_ms > PURGE_EVERY_MS:
            self._last_purge_ms = now
            self.purge_older_than(now - self.retention_ms)
        if dropped:
            raise StoreRejected(f"partial write: points beyond retention policy dropped={dropped}")

    def _write_points(
        self, conn: sqlite3.Connection, points: list[tuple[str, str, str, int, float]]
    ) -> None:
        rows = []
        last: dict[int, tuple[int, float]] = {}
        for entity, device, field, ts, v in points:
            sid = self._series_id(conn, entity, device, field)
            rows.append((sid, ts, v))
            if sid not in last or ts >= last[sid][0]:
                last[sid] = (ts, v)
        conn.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?)", rows)
        conn.executemany(
            "UPDATE series SET last_ts_ms = ?, last_value = ? "
            "WHERE id = ? AND (last_ts_ms IS NULL OR last_ts_ms <= ?)",
            [(ts, v, sid, ts) for sid, (ts, v) in last.items()],
        )

    def _series_id(self, conn: sqlite3.Connection, entity: str, device: str, field: str) -> int:
        key = (entity, device, field)
        sid = self._series_ids.get(key)
        if sid is None:
            conn.execute(
                "INSERT OR IGNORE INTO series (entity, device, field) VALUES (?, ?, ?)", key
            )
            sid = conn.execute(
                "SELECT id FROM series WHERE entity = ? AND device = ? AND field = ?", key
            ).fetchone()[0]
            self._series_ids[key] = sid
        return sid

    def write_gateway_stats(self, gateway_id: str, ts_ms: int, fields: dict[str, float]) -> None:
        """One sample of a gateway's counters."""
        rows = [(gateway_id, k, ts_ms, float(v)) for k, v in fields.items()]
        if any(not math.isfinite(r[3]) for r in rows):
            raise StoreRejected(f"gateway stats must be finite: {fields!r}")
        with self._writing() as conn:
            conn.executemany("INSERT OR REPLACE INTO gateway_stats VALUES (?, ?, ?, ?)", rows)

    def gateway_stats(
        self, start_ms: int, end_ms: int, *, gateway_id: str | None = None
    ) -> dict[tuple[str, str], Series]:
        """Gateway counters in ``[start_ms, end_ms)``, keyed by ``(gateway, field)``."""
        sql = (
            "SELECT gateway, field, ts_ms, value FROM gateway_stats WHERE ts_ms >= ? AND ts_ms < ?"
        )
        params: list[Any] = [start_ms, end_ms]
        if gateway_id is not None:
            sql += " AND gateway = ?"
            params.append(gateway_id)
        return _group(self._read(sql + " ORDER BY gateway, field, ts_ms", params))

    def series(
        self,
        field: str,
        start_ms: int,
        end_ms: int,
        *,
        entities: Sequence[str] | None = None,
        previous: bool = False,
    ) -> dict[tuple[str, str], Series]:
        """Raw values of one field in ``[start_ms, end_ms)``: one query for all series."""
        cond, params = _entity_cond(entities)
        sql = (
            "SELECT s.entity, s.device, r.ts_ms, r.value FROM series s "
            "JOIN readings r ON r.series_id = s.id "
            f"WHERE s.field = ?{cond} AND r.ts_ms >= ? AND r.ts_ms < ?"
        )
        args: list[Any] = [field, *params, start_ms, end_ms]
        if previous:
            sql = (
                f"{sql} UNION ALL SELECT s.entity, s.device, r.ts_ms, r.value FROM series s "
                "JOIN readings r ON r.series_id = s.id AND r.ts_ms = (SELECT max(ts_ms) "
                "FROM readings WHERE series_id = s.id AND ts_ms < ?) "
                f"WHERE s.field = ?{cond}"
            )
            args += [start_ms, field, *params]
        return _group(self._read(sql + " ORDER BY 1, 2, 3", args))

    def downsample(
        self,
        field: str,
        start_ms: int,
        end_ms: int,
        every_s: int,
        *,
        entities: Sequence[str] | None = None,
        fn: Aggregate = "mean",
    ) -> dict[tuple[str, str], Series]:
        """``fn`` of one field per epoch-aligned ``every_s`` bucket; empty buckets left out."""
        check_downsample(fn, every_s)
        every = int(every_s) * 1000
        cond, params = _entity_cond(entities)
        sql = (
            f"SELECT s.entity, s.device, r.ts_ms - (r.ts_ms % {every}) AS b, {_AGG_SQL[fn]} "
            "FROM series s JOIN readings r ON r.series_id = s.id "
            f"WHERE s.field = ?{cond} AND r.ts_ms >= ? AND r.ts_ms < ? "
            "GROUP BY s.id, b ORDER BY 1, 2, 3"
        )
        rows = self._read(sql, [field, *params, start_ms, end_ms])
        return _group([r[:4] for r in rows])

    def events(
        self,
        start_ms: int,
        end_ms: int,
        *,
        entities: Sequence[str] | None = None,
        type: str | None = None,
    ) -> list[Event]:
        """Events with ``start_ms <= ts_ms < end_ms``, ordered by stored time."""
        cond, params = _entity_cond(entities, column="entity")
        sql = (
            "SELECT entity, device, type, ts_ms, fields FROM events "
            f"WHERE ts_ns >= ? AND ts_ns < ?{cond}"
        )
        args: list[Any] = [start_ms * 1_000_000, end_ms * 1_000_000, *params]
        if type is not None:
            sql += " AND type = ?"
            args.append(type)
        rows = self._read(sql + " ORDER BY ts_ns, entity, device, type", args)
        return [event_from_fields(e, d, t, ts, json.loads(f)) for e, d, t, ts, f in rows]

    def latest(
        self, *, entities: Sequence[str] | None = None, since_ms: int | None = None
    ) -> list[LatestValue]:
        """The last value of every field of every device, from the series catalogue."""
        cond, params = _entity_cond(entities, column="entity")
        if since_ms is not None:
            cond += " AND last_ts_ms >= ?"
            params.append(since_ms)
        skip = ",".join("?" * len(BOOKKEEPING_FIELDS))
        rows = self._read(
            "SELECT entity, device, field, last_ts_ms, last_value FROM series "
            f"WHERE last_ts_ms IS NOT NULL AND field NOT IN ({skip}){cond} "
            "ORDER BY entity, device, field",
            [*sorted(BOOKKEEPING_FIELDS), *params],
        )
        return [LatestValue(e, d, f, int(t), float(v)) for e, d, f, t, v in rows]

    def rejects(
        self, *, since_ms: int | None = None, reason: str | None = None, limit: int = 100
    ) -> list[StoredReject]:
        """Quarantined rejects, newest first; ``id`` is ``{source}:{timestamp ns}``.

        Each message's payload excerpt is read once and shared by all its listed rejects.
        """
        sql = (
            "SELECT source, ts_ns, reason, detail, topic, item, entity, device, ordinal "
            "FROM rejects"
        )
        conds: list[str] = []
        args: list[int | str] = []
        if since_ms is not None:
            conds.append("ts_ns >= ?")
            args.append(since_ms * 1_000_000)
        if reason is not None:
            conds.append("reason = ?")
            args.append(reason)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        rows = self._read(sql + " ORDER BY ts_ns DESC LIMIT ?", [*args, max(0, int(limit))])
        return self._stored_rejects(rows)

    def rejects_by_id(
        self, ids: Sequence[str], *, whole_messages: bool = False
    ) -> list[StoredReject]:
        """The rejects with these ids (and, with ``whole_messages``, their messages' others)."""
        cols = "source, ts_ns, reason, detail, topic, item, entity, device, ordinal"
        found: dict[tuple[str, int], tuple] = {}
        for key in parse_reject_ids(ids):
            for row in self._read(
                f"SELECT {cols} FROM rejects WHERE source = ? AND ts_ns = ?", key
            ):
                found[(row[0], row[1])] = row
        if whole_messages:
            for first in sorted({(s, ts - o) for s, ts, *_r, o in found.values()}):
                for row in self._read(
                    f"SELECT {cols} FROM rejects WHERE source = ? AND ts_ns >= ? AND ts_ns < ? "
                    "AND ts_ns - ordinal = ?",
                    (first[0], first[1], first[1] + MESSAGE_SPAN_NS, first[1]),
                ):
                    found[(row[0], row[1])] = row
        rows = sorted(found.values(), key=lambda r: (r[1], r[0]), reverse=True)
        return self._stored_rejects(rows)

    def _stored_rejects(self, rows: list) -> list[StoredReject]:
        """Rows of ``rejects`` (without the payload columns) as StoredReject."""
        carriers: dict[tuple[str, int], tuple[bytes, str, int]] = {}
        for source, ts, *_rest, ordinal in rows:
            key = (source, ts - ordinal)
            if key not in carriers:
                got = self._read(
                    "SELECT payload, payload_sha256, payload_size FROM rejects "
                    "WHERE source = ? AND ts_ns = ?",
                    key,
                )
                carriers[key] = (bytes(got[0][0]), got[0][1], got[0][2]) if got else (b"", "", -1)
        out = []
        for source, ts, reason_, detail, topic, item, entity, device, ordinal in rows:
            payload, digest, size = carriers[(source, ts - ordinal)]
            out.append(
                StoredReject(
                    id=reject_id(source, ts),
                    reason=reason_,
                    detail=detail,
                    topic=topic,
                    payload=payload,
                    received_ms=ts // 1_000_000,
                    item=item,
                    entity=entity,
                    device=device,
                    message=reject_id(source, ts - ordinal),
                    payload_sha256=digest,
                    payload_size=size,
                )
            )
        return out

    def delete_rejects(self, ids: Sequence[str]) -> None:
        """Remove quarantined rejects by id."""
        keys = [parse_reject_id(i) for i in ids]
        with self._writing() as conn:
            conn.executemany("DELETE FROM rejects WHERE source = ? AND ts_ns = ?", keys)

    def purge_older_than(self, cutoff_ms: int) -> None:
        """Delete every reading, event, reject and gateway sample stamped before ``cutoff_ms``."""
        with self._writing() as conn:
            conn.execute(
                "DELETE FROM readings WHERE series_id IN (SELECT id FROM series) AND ts_ms < ?",
                (cutoff_ms,),
            )
            conn.execute(
                "UPDATE series SET last_ts_ms = NULL, last_value = NULL WHERE last_ts_ms < ?",
                (cutoff_ms,),
            )
            conn.execute("DELETE FROM events WHERE ts_ns < ?", (cutoff_ms * 1_000_000,))
            conn.execute("DELETE FROM rejects WHERE ts_ns < ?", (cutoff_ms * 1_000_000,))
            conn.execute("DELETE FROM gateway_stats WHERE ts_ms < ?", (cutoff_ms,))

    def close(self) -> None:
        """Close every thread's connection."""
        self._closed = True
        with self._conns_lock:
            for conn in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entity_cond(entities: Sequence[str] | None, column: str = "s.entity") -> tuple[str, list[Any]]:
    """`` AND column IN (...)`` with one JSON parameter, however many entities."""
    if entities is None:
        return "", []
    return f" AND {column} IN (SELECT value FROM json_each(?))", [json.dumps(list(entities))]


def _group(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str], Series]:
    """Rows ``(a, b, ts_ms, value)`` ordered by a, b, ts -> ``{(a, b): Series}``."""
    out: dict[tuple[str, str], Series] = {}
    if not rows:
        return out
    ts = np.fromiter((r[2] for r in rows), np.int64, len(rows))
    vals = np.fromiter((r[3] for r in rows), np.float64, len(rows))
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][:2] != rows[start][:2]:
            out[(rows[start][0], rows[start][1])] = Series(ts[start:i].copy(), vals[start:i].copy())
            start = i
    return out


def _mapped(exc: sqlite3.Error) -> StoreError:
    """sqlite3 errors as store errors: locked/busy/full/IO may pass, the rest will not."""
    code = getattr(exc, "sqlite_errorcode", None)
    retry = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}
    if (
        code is not None
        and code & 0xFF in retry
        or isinstance(exc, sqlite3.OperationalError)
        and ("locked" in str(exc) or "busy" in str(exc))
    ):
        return StoreUnavailable(f"SQLite store busy or out of space: {exc}")
    return StoreError(f"SQLite store failed: {exc}")
