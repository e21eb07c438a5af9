"""The InfluxDB telemetry store, through InfluxDB's 1.x HTTP API (``/write``, ``/query``).

Every InfluxDB generation serves this API: 1.x natively, 2.7+ through its 1.x compatibility
endpoints (a database/retention-policy mapping to a bucket, a token), 3.x Core natively. One
:class:`httpx.Client` keeps its connections alive across batches.

Points are written at nanosecond precision (``precision=ns``): readings at ``ts_ms * 10**6``,
events at :attr:`~telemetry.model.Event.ts_ns`, rejects at :func:`~telemetry.store.reject_ts_ns`,
so one POST carries a whole batch. Same measurement, tags and timestamp overwrite (field by
field), which makes every write idempotent.
Line protocol and InfluxQL quoting live in :mod:`telemetry.influx_lines`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import numpy as np

from telemetry.influx_lines import (
    event_lines,
    float_field,
    quote_ident,
    quote_str,
    reading_lines,
    reject_lines,
    tag,
    where_in,
)
from telemetry.model import Event, Reading, Reject
from telemetry.redact import redact_url
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
    event_from_fields,
    parse_reject_id,
    parse_reject_ids,
    reject_id,
)

log = logging.getLogger(__name__)

RP_NAME = "tanzhang"
_REJECT_COLS = "reason, source, topic, detail, item, entity, device, ordinal"


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        # an HTTP date is the server's wall clock, not the site's (sitetime.clock, which a
        # TANZHANG_NOW process shifts): the wait is measured against the machine's clock
        return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _server_message(resp: httpx.Response) -> str:
    try:
        doc = resp.json()
        if isinstance(doc, dict) and ("error" in doc or "message" in doc):
            return str(doc.get("error") or doc.get("message"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    return resp.text[:500] or resp.reason_phrase


class InfluxStore:
    """A :class:`~telemetry.store.TelemetryStore` on InfluxDB's 1.x HTTP API.

    url : ``http://host:8086``
    db : database (on 2.x/3.x: the database of a DBRP mapping to a bucket)
    token : sends ``Authorization: Token <token>`` (InfluxDB 2.x/3.x)
    user, password : sent as HTTP basic authentication (InfluxDB 1.x auth, 2.x v1 users);
        never in the query string, where request logs would show the password
    retention : InfluxQL duration of the default retention policy ``tanzhang``
        that :meth:`ensure_ready` creates, e.g. ``104w``; None leaves the retention alone
    manage_schema : create the database and retention policy in :meth:`ensure_ready`
        (False on InfluxDB 2.x/3.x, where the bucket and its mapping are made by an admin)
    timeout_s : connect/read timeout of one request [s]
    max_lines : points per ``/write`` request (InfluxDB 1.x is fastest at 5,000-10,000+)
    transport : an httpx transport (unit tests of the error mapping use ``httpx.MockTransport``)
    """

    def __init__(
        self,
        url: str,
        *,
        db: str = "tanzhang",
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        retention: str | None = "104w",
        manage_schema: bool = True,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_lines: int = 20_000,
        max_body_bytes: int = 8 << 20,
    ) -> None:
        if retention is not None:
            duration_ms(retention)  # validate early
        self.url = url.rstrip("/")
        self.db = db
        self.retention = retention
        #: the data kept [ms] as configured (0: everything, or left to the server)
        self.retention_ms = duration_ms(retention) if retention else 0
        self.manage_schema = manage_schema
        self.max_lines = max_lines
        self.max_body_bytes = max_body_bytes
        headers = {"Authorization": f"Token {token}"} if token else {}
        #: the URL as messages and logs show it (password masked)
        self.shown_url = redact_url(self.url)
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            auth=httpx.BasicAuth(user, password or "") if user and not token else None,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            transport=transport,
        )

    # ------------------------------------------------------------------ plumbing
    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._client.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise StoreUnavailable(f"InfluxDB at {self.shown_url} timed out: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"InfluxDB at {self.shown_url} unreachable: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise StoreError(f"InfluxDB request failed: {exc!r}") from exc
        code = resp.status_code
        if code < 300:
            return resp
        msg = f"InfluxDB {path} answered {code}: {_server_message(resp)}"
        if code >= 500 or code == 429:
            raise StoreUnavailable(msg, retry_after_s=_retry_after(resp))
        if code in (401, 403):
            raise StoreError(msg + " (check the token or user/password)")
        if code == 404 and "database not found" not in msg:
            raise StoreError(msg + " (is this an InfluxDB 1.x-compatible endpoint?)")
        if 400 <= code < 500:
            raise StoreRejected(msg)
        raise StoreError(msg)

    def iter_results(self, q: str, *, epoch: str = "ms") -> Iterator[dict[str, Any]]:
        """Run InfluxQL and yield statement results chunk by chunk (``chunked=true``).

        A long series arrives in several chunks (``"partial": true``); consumers join them.
        A statement's error raises :class:`StoreError`.
        """
        params = {"db": self.db, "epoch": epoch, "chunked": "true", "chunk_size": "20000"}
        try:
            with self._client.stream("POST", "/query", params=params, data={"q": q}) as resp:
                if resp.status_code >= 300:
                    resp.read()
                    self._raise_status(resp)
                buf = ""
                for line in resp.iter_lines():
                    buf += line
                    if not buf.strip():
                        continue
                    try:
                        doc = json.loads(buf)
                    except json.JSONDecodeError:
                        continue  # a document over several lines (a server ignoring chunked)
                    buf = ""
                    if "error" in doc:
                        raise StoreError(f"InfluxQL error: {doc['error']} in {q[:200]!r}")
                    for res in doc.get("results", []):
                        if "error" in res:
                            raise StoreError(f"InfluxQL error: {res['error']} in {q[:200]!r}")
                        yield res
                if buf.strip():
                    raise StoreError(f"InfluxDB /query answered unparseable JSON: {buf[:200]!r}")
        except httpx.TimeoutException as exc:
            raise StoreUnavailable(f"InfluxDB at {self.shown_url} timed out: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"InfluxDB at {self.shown_url} unreachable: {exc!r}") from exc

    def query(self, q: str, *, epoch: str = "ms") -> list[dict[str, Any]]:
        """Run InfluxQL (one or more ``;``-separated statements); the merged ``results`` list."""
        results: dict[int, dict[str, Any]] = {}
        for res in self.iter_results(q, epoch=epoch):
            _merge(results.setdefault(res.get("statement_id", 0), {}), res)
        return [results[k] for k in sorted(results)]

    def _numeric(self, q: str, n: int = 1) -> list[dict[tuple[str, str], Series]]:
        """Per statement, ``{(entity, device): Series}`` of a 2-column numeric query.

        Each chunk becomes numpy arrays at once, so a day of 10,000 devices never sits in
        memory as Python lists.
        """
        parts: list[dict[tuple[str, str], list[Series]]] = [{} for _ in range(n)]
        for res in self.iter_results(q):
            i = res.get("statement_id", 0)
            for s in res.get("series", []):
                t = s.get("tags") or {}
                key = (t.get("entity", ""), t.get("device", ""))
                parts[i].setdefault(key, []).append(_to_series(s["values"]))
        return [
            {
                k: v[0]
                if len(v) == 1
                else Series(
                    np.concatenate([x.ts_ms for x in v]), np.concatenate([x.values for x in v])
                )
                for k, v in sorted(p.items())
            }
            for p in parts
        ]

    def _raise_status(self, resp: httpx.Response) -> None:
        code = resp.status_code
        msg = f"InfluxDB /query answered {code}: {_server_message(resp)}"
        if code >= 500 or code == 429:
            raise StoreUnavailable(msg, retry_after_s=_retry_after(resp))
        raise StoreError(msg)

    def _series(self, q: str, *, epoch: str = "ms") -> list[dict[str, Any]]:
        res = self.query(q, epoch=epoch)
        return res[0].get("series", []) if res else []

    def write_lines(self, lines: Iterable[str]) -> None:
        """POST line protocol (ns precision) to ``/write``, ``max_lines`` lines per request.

        A request also ends before it would pass ``max_body_bytes`` [bytes] (InfluxDB answers
        413 beyond its ``max-body-size``, 25 MB by default), so the body built in memory stays
        bounded whatever the batch holds; ``lines`` is consumed lazily.
        A refused request (StoreRejected) does not stop the others: the first refusal is
        raised after all were sent. StoreUnavailable stops at once (what was sent is stored,
        and writing it again is harmless: writes are idempotent).
        """
        rejected: StoreRejected | None = None
        chunk: list[str] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) >= self.max_body_bytes:
                rejected = self._post_lines(chunk) or rejected
                chunk, size = [], 0
            chunk.append(line)
            size += len(line) + 1
            if len(chunk) >= self.max_lines:
                rejected = self._post_lines(chunk) or rejected
                chunk, size = [], 0
        if chunk:
            rejected = self._post_lines(chunk) or rejected
        if rejected is not None:
            raise rejected

    def _post_lines(self, lines: list[str]) -> StoreRejected | None:
        params = {"db": self.db, "precision": "ns"}
        data = "\n".join(lines).encode()
        try:
            try:
                self._request("POST", "/write", params=params, content=data)
            except StoreRejected as exc:
                if "database not found" not in str(exc) or not self.manage_schema:
                    raise
                log.warning("database %s missing at write; creating it again", self.db)
                self.ensure_ready()
                self._request("POST", "/write", params=params, content=data)
        except StoreRejected as exc:
            return exc
        return None

    # ------------------------------------------------------------------ TelemetryStore
    def ensure_ready(self) -> None:
        """Create the database and make ``tanzhang`` (``retention``) its default policy.

        Idempotent: creating an existing database is a no-op, and an existing policy is
        altered to the configured duration. With ``manage_schema=False`` only checks that
        the server answers.

        InfluxDB 1.x lets only an admin run ``CREATE DATABASE`` and change retention
        policies, even for a database that exists. A user with rights on one database only
        (docker-compose.yml's ``INFLUXDB_USER``, whose database the server made at its
        first start) uses that database as it is, and a warning says when its default
        policy is not ``tanzhang``. When the database is missing (or the user may not read
        it) and the user may not create it, :class:`StoreError` says what to do.
        """
        self._request("GET", "/ping")
        if not self.manage_schema:
            return
        db = quote_ident(self.db)
        try:
            self.query(f"CREATE DATABASE {db}")
        except StoreError as exc:
            if "requires admin privilege" not in str(exc):
                raise
            self._use_existing_database()
            return
        if self.retention is None:
            return
        rp = quote_ident(RP_NAME)
        dur = self.retention
        existing = {
            row[0] for s in self._series(f"SHOW RETENTION POLICIES ON {db}") for row in s["values"]
        }
        verb = "ALTER" if RP_NAME in existing else "CREATE"
        repl = "" if verb == "ALTER" else " REPLICATION 1"
        self.query(f"{verb} RETENTION POLICY {rp} ON {db} DURATION {dur}{repl} DEFAULT")

    def _use_existing_database(self) -> None:
        """Without admin rights: go on when the database exists and this user may read it."""
        try:
            policies = self.retention_policies()
        except StoreError as exc:
            db = quote_ident(self.db)
            raise StoreError(
                f"InfluxDB database {self.db!r} at {self.shown_url} is missing or this user "
                "may not read it, and only an InfluxDB admin may create it: as an admin run "
                f"CREATE DATABASE {db} and GRANT ALL ON {db} TO the user of "
                "TANZHANG_INFLUX_USER (or give that user admin rights)"
            ) from exc
        default = next((p for p in policies if p.get("default")), None)
        if self.retention is not None and (default or {}).get("name") != RP_NAME:
            log.warning(
                "event=retention_not_managed db=%s default_policy=%s wanted=%s (changing "
                "retention policies needs an InfluxDB admin; data is kept as that policy says)",
                self.db,
                (default or {}).get("name"),
                self.retention,
            )

    def retention_policies(self) -> list[dict[str, Any]]:
        """``SHOW RETENTION POLICIES`` as dicts (name, duration, default ...)."""
        out = []
        for s in self._series(f"SHOW RETENTION POLICIES ON {quote_ident(self.db)}"):
            out += [dict(zip(s["columns"], row, strict=True)) for row in s["values"]]
        return out

    def write(
        self,
        readings: Sequence[Reading] = (),
        events: Sequence[Event] = (),
        rejects: Sequence[Reject] = (),
    ) -> None:
        """Write a batch in one POST; raise StoreUnavailable / StoreRejected / StoreError.

        InfluxDB 1.x answers a batch with some refused points (field-type conflict, points
        beyond the retention) with 400 "partial write": the other points ARE stored, and
        StoreRejected is raised with the server's message.
        """
        lines = itertools.chain(reading_lines(readings), event_lines(events), reject_lines(rejects))
        try:
            self.write_lines(lines)
        except ValueError as exc:  # a line that cannot be formatted (the rest may be stored)
            raise StoreRejected(str(exc)) from exc

    def write_gateway_stats(self, gateway_id: str, ts_ms: int, fields: dict[str, float]) -> None:
        """One sample of a gateway's counters in measurement ``gateway``, tag ``gateway``."""
        if not fields:
            return
        try:
            body = ",".join(f"{tag(k)}={float_field(k, v)}" for k, v in fields.items())
        except ValueError as exc:
            raise StoreRejected(str(exc)) from exc
        self.write_lines([f"gateway,gateway={tag(gateway_id)} {body} {ts_ms * 1_000_000}"])

    def gateway_stats(
        self, start_ms: int, end_ms: int, *, gateway_id: str | None = None
    ) -> dict[tuple[str, str], Series]:
        """Gateway counters in ``[start_ms, end_ms)``, keyed by ``(gateway_id, counter)``."""
        cond = "" if gateway_id is None else f" AND gateway = {quote_str(gateway_id)}"
        q = (
            f"SELECT * FROM gateway WHERE time >= {start_ms * 1_000_000} "
            f"AND time < {end_ms * 1_000_000}{cond} GROUP BY gateway"
        )
        out = {}
        for s in self._series(q):
            cols = s["columns"]
            for i, name in enumerate(cols[1:], start=1):
                rows = [[r[0], r[i]] for r in s["values"] if r[i] is not None]
                if rows:
                    out[(s["tags"]["gateway"], name)] = _to_series(rows)
        return dict(sorted(out.items()))

    def series(
        self,
        field: str,
        start_ms: int,
        end_ms: int,
        *,
        entities: Sequence[str] | None = None,
        previous: bool = False,
    ) -> dict[tuple[str, str], Series]:
        """Raw values of one field in ``[start_ms, end_ms)`` for all series in one query."""
        f = quote_ident(field)
        cond = where_in("entity", entities)
        qs = [
            f"SELECT {f} FROM telemetry WHERE time >= {start_ms * 1_000_000} "
            f"AND time < {end_ms * 1_000_000}{cond} GROUP BY entity, device"
        ]
        if previous:
            qs.append(
                f"SELECT last({f}) FROM telemetry WHERE time < {start_ms * 1_000_000}{cond} "
                "GROUP BY entity, device"
            )
        got = self._numeric(";".join(qs), len(qs))
        if not previous:
            return got[0]
        rows, before = got
        out = {}
        for key in sorted(rows.keys() | before.keys()):
            if key not in before:
                out[key] = rows[key]
            elif key not in rows:
                out[key] = Series(before[key].ts_ms[-1:], before[key].values[-1:])
            else:
                b, r = before[key], rows[key]
                out[key] = Series(
                    np.concatenate([b.ts_ms[-1:], r.ts_ms]),
                    np.concatenate([b.values[-1:], r.values]),
                )
        return out

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
        """``fn`` of one field per ``every_s`` bucket (epoch-aligned), ``fill(none)``."""
        check_downsample(fn, every_s)
        q = (
            f"SELECT {fn}({quote_ident(field)}) FROM telemetry WHERE time >= {start_ms * 1_000_000} "
            f"AND time < {end_ms * 1_000_000}{where_in('entity', entities)} "
            f"GROUP BY time({int(every_s)}s), entity, device fill(none)"
        )
        return self._numeric(q)[0]

    def events(
        self,
        start_ms: int,
        end_ms: int,
        *,
        entities: Sequence[str] | None = None,
        type: str | None = None,
    ) -> list[Event]:
        """Events with ``start_ms <= ts_ms < end_ms``, ordered by stored time."""
        cond = where_in("entity", entities)
        if type is not None:
            cond += f" AND {quote_ident('type')} = {quote_str(type)}"
        q = (
            f"SELECT * FROM events WHERE time >= {start_ms * 1_000_000} "
            f"AND time < {end_ms * 1_000_000}{cond}"
        )
        out = []
        for s in self._series(q, epoch="ns"):
            cols = s["columns"]
            for row in s["values"]:
                d = dict(zip(cols, row, strict=True))
                ts_ns = d.pop("time")
                entity, device, typ = d.pop("entity"), d.pop("device"), d.pop("type")
                out.append(event_from_fields(entity, device, typ, ts_ns // 1_000_000, d))
        return out

    def latest(
        self, *, entities: Sequence[str] | None = None, since_ms: int | None = None
    ) -> list[LatestValue]:
        """The last value of every field of every device, in one request."""
        fields = [
            row[0]
            for s in self._series("SHOW FIELD KEYS FROM telemetry")
            for row in s["values"]
            if row[0] not in BOOKKEEPING_FIELDS and row[1] == "float"
        ]
        if not fields:
            return []
        cond = where_in("entity", entities)
        if since_ms is not None:
            cond += f" AND time >= {since_ms * 1_000_000}"
        where = f" WHERE {cond[5:]}" if cond else ""
        qs = [
            f"SELECT last({quote_ident(f)}) FROM telemetry{where} GROUP BY entity, device"
            for f in fields
        ]
        out = []
        for f, res in zip(fields, self.query(";".join(qs)), strict=True):
            for s in res.get("series", []):
                t = s["tags"]
                ts, v = s["values"][-1]
                out.append(LatestValue(t["entity"], t["device"], f, int(ts), float(v)))
        out.sort(key=lambda x: (x.entity, x.device, x.field))
        return out

    def rejects(
        self, *, since_ms: int | None = None, reason: str | None = None, limit: int = 100
    ) -> list[StoredReject]:
        """Quarantined rejects, newest first; ``id`` is ``{source}:{timestamp ns}``.

        The payload excerpt is stored on each message's first reject only; it is fetched once
        per message and shared by all its listed rejects.
        """
        conds = []
        if since_ms is not None:
            conds.append(f"time >= {since_ms * 1_000_000}")
        if reason is not None:
            conds.append(f"reason = {quote_str(reason)}")
        where = " WHERE " + " AND ".join(conds) if conds else ""
        q = f"SELECT {_REJECT_COLS} FROM rejects{where} ORDER BY time DESC LIMIT {max(0, int(limit))}"
        rows = []
        for s in self._series(q, epoch="ns"):
            rows += [dict(zip(s["columns"], row, strict=True)) for row in s["values"]]
        return self._stored_rejects(rows)

    def rejects_by_id(
        self, ids: Sequence[str], *, whole_messages: bool = False
    ) -> list[StoredReject]:
        """The rejects with these ids (and, with ``whole_messages``, their messages' others)."""
        found: dict[tuple[str, int], dict[str, Any]] = {}

        def run(stmts: list[str]) -> None:
            for i in range(0, len(stmts), 200):
                for res in self.iter_results(";".join(stmts[i : i + 200]), epoch="ns"):
                    for s in res.get("series", []):
                        for row in s["values"]:
                            d = dict(zip(s["columns"], row, strict=True))
                            found[(d.get("source") or "", d["time"])] = d

        run(
            [
                f"SELECT {_REJECT_COLS} FROM rejects WHERE {_source_cond(src)} AND time = {ts}"
                for src, ts in parse_reject_ids(ids)
            ]
        )
        if whole_messages:
            firsts = sorted({(k[0], k[1] - int(d.get("ordinal") or 0)) for k, d in found.items()})
            run(
                [
                    f"SELECT {_REJECT_COLS} FROM rejects WHERE {_source_cond(src)} "
                    f"AND time >= {ts} AND time < {ts + MESSAGE_SPAN_NS}"
                    for src, ts in firsts
                ]
            )
            keep = set(firsts)
            found = {
                k: d for k, d in found.items() if (k[0], k[1] - int(d.get("ordinal") or 0)) in keep
            }
        rows = sorted(
            found.values(), key=lambda d: (d["time"], d.get("source") or ""), reverse=True
        )
        return self._stored_rejects(rows)

    def _stored_rejects(self, rows: list[dict[str, Any]]) -> list[StoredReject]:
        """Rows of ``rejects`` (without the payload fields) as StoredReject."""
        keys = {(d.get("source") or "", d["time"] - int(d.get("ordinal") or 0)) for d in rows}
        carriers = self._reject_payloads(sorted(keys))
        out = []
        for d in rows:
            source = d.get("source") or ""
            first = d["time"] - int(d.get("ordinal") or 0)
            payload, digest, size = carriers.get((source, first), (b"", "", -1))
            item = d.get("item")
            out.append(
                StoredReject(
                    id=reject_id(source, d["time"]),
                    reason=d["reason"],
                    detail=d.get("detail") or "",
                    topic=d.get("topic") or "",
                    payload=payload,
                    received_ms=d["time"] // 1_000_000,
                    item=None if item is None else int(item),
                    entity=d.get("entity"),
                    device=d.get("device"),
                    message=reject_id(source, first),
                    payload_sha256=digest,
                    payload_size=size,
                )
            )
        return out

    def _reject_payloads(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], tuple[bytes, str, int]]:
        """Payload excerpt, digest and size of each message ``(source, first ts_ns)``."""
        out: dict[tuple[str, int], tuple[bytes, str, int]] = {}
        cols = "payload_b64, payload_sha256, payload_size, source"
        for i in range(0, len(keys), 200):
            part = keys[i : i + 200]
            q = ";".join(
                f"SELECT {cols} FROM rejects WHERE {_source_cond(src)} AND time = {ts}"
                for src, ts in part
            )
            for res in self.iter_results(q, epoch="ns"):
                n = res.get("statement_id", 0)
                for s in res.get("series", []):
                    d = dict(zip(s["columns"], s["values"][0], strict=True))
                    size = d.get("payload_size")
                    payload = base64.b64decode(d.get("payload_b64") or "")
                    out[part[n]] = (
                        payload,
                        d.get("payload_sha256") or "",
                        len(payload) if size is None else int(size),
                    )
        return out

    def delete_rejects(self, ids: Sequence[str]) -> None:
        """Remove quarantined rejects by id (``{source}:{timestamp ns}``)."""
        stmts = []
        for rid in ids:
            source, ts = parse_reject_id(rid)
            stmts.append(f"DELETE FROM rejects WHERE {_source_cond(source)} AND time = {ts}")
        for i in range(0, len(stmts), 500):
            self.query(";".join(stmts[i : i + 500]))

    def purge_older_than(self, cutoff_ms: int) -> None:
        """Delete all points before ``cutoff_ms`` (the retention policy does this by itself)."""
        t = cutoff_ms * 1_000_000
        self.query(
            ";".join(
                f"DELETE FROM {m} WHERE time < {t}"
                for m in ("telemetry", "events", "rejects", "gateway")
            )
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        with contextlib.suppress(Exception):
            self._client.close()

    def __enter__(self) -> InfluxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _source_cond(source: str) -> str:
    """InfluxQL condition on the ``source`` tag ("" matches rejects stored without one)."""
    return f"source = {quote_str(source)}"


def _merge(into: dict[str, Any], res: dict[str, Any]) -> None:
    """Merge one chunk's result into the statement's result, joining partial series."""
    series = into.setdefault("series", [])
    for s in res.get("series", []):
        key = (s.get("name"), tuple(sorted((s.get("tags") or {}).items())))
        if (
            series
            and (series[-1].get("name"), tuple(sorted((series[-1].get("tags") or {}).items())))
            == key
        ):
            series[-1]["values"].extend(s.get("values", []))
        else:
            series.append({**s, "values": list(s.get("values", []))})


def _to_series(rows: list[list[Any]]) -> Series:
    if not rows:
        return Series(np.empty(0, np.int64), np.empty(0, np.float64))
    ts = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    vals = np.fromiter((r[1] for r in rows), np.float64, len(rows))
    return Series(ts, vals)
