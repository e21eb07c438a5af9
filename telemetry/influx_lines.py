"""InfluxDB's line protocol and InfluxQL quoting: pure functions, no I/O.

Line protocol (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/):
measurement names escape ``,`` and space; tag keys, tag values and field keys escape ``,``, ``=``
and space; string field values are double-quoted with ``"`` and ``\\`` escaped; floats are
written with Python's ``repr`` (``1.0``, ``1e+20``), never as integers, so a whole number never
creates an integer field that a later fractional value would conflict with. Timestamps are
nanoseconds: readings at ``ts_ms * 10**6``, events at :attr:`~telemetry.model.Event.ts_ns`,
rejects at :func:`~telemetry.store.reject_ts_ns`.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from telemetry.model import Event, Reading, Reject
from telemetry.store import event_fields, reject_ts_ns

_ID_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
_TAG_ESC = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": " ", "\r": " "})


def tag(v: str) -> str:
    """Escape a tag key, tag value or field key for line protocol."""
    return v.translate(_TAG_ESC)


def str_field(v: str) -> str:
    """A double-quoted string field value, with ``\\`` and ``"`` escaped."""
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def float_field(name: str, v: float) -> str:
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"field {name}={v!r} is not finite")
    return repr(f)


def fields_text(fields: dict[str, Any]) -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, str):
            parts.append(f"{tag(k)}={str_field(v)}")
        else:
            parts.append(f"{tag(k)}={float_field(k, v)}")
    return ",".join(parts)


def reading_lines(readings: Iterable[Reading]) -> Iterable[str]:
    """Line protocol for readings: ``telemetry,entity=..,device=.. f=1.0,... <ts_ns>``."""
    for r in readings:
        fields = ",".join(f"{tag(k)}={float_field(k, v)}" for k, v in r.values.items())
        if r.stamped:
            fields = f"{fields},ts_stamped=1.0" if fields else "ts_stamped=1.0"
        if not fields:
            continue
        yield f"telemetry,entity={tag(r.entity)},device={tag(r.device)} {fields} {r.ts_ms * 1_000_000}"


def event_lines(events: Iterable[Event]) -> Iterable[str]:
    """Line protocol for events: ``events,entity=..,device=..,type=.. id="..",... <ts_ns>``."""
    for e in events:
        yield (
            f"events,entity={tag(e.entity)},device={tag(e.device)},type={tag(e.type)} "
            f"{fields_text(event_fields(e))} {e.ts_ns}"
        )


def reject_lines(rejects: Iterable[Reject]) -> Iterable[str]:
    """Line protocol for rejects: ``rejects,reason=..,source=.. topic="..",... <ts_ns>``.

    Only a message's first reject (``ordinal`` 0) carries ``payload_b64``, ``payload_sha256``
    and ``payload_size``: the payload is encoded once per message, never once per item.
    """
    for j in rejects:
        f: dict[str, Any] = {"topic": j.topic, "detail": j.detail}
        if j.ordinal == 0:
            f["payload_b64"] = base64.b64encode(j.payload).decode()
            if j.payload_sha256:
                f["payload_sha256"] = j.payload_sha256
            f["payload_size"] = float(len(j.payload) if j.payload_size < 0 else j.payload_size)
        else:
            f["ordinal"] = float(j.ordinal)
        if j.item is not None:
            f["item"] = float(j.item)
        if j.entity is not None:
            f["entity"] = j.entity
        if j.device is not None:
            f["device"] = j.device
        tags = f"reason={tag(j.reason)}" + (f",source={tag(j.source)}" if j.source else "")
        yield f"rejects,{tags} {fields_text(f)} {reject_ts_ns(j)}"


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_str(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where_in(tag: str, values: Sequence[str] | None) -> str:
    """`` AND (tag = 'a' OR ...)``, or a regex for many valid ids; '' for None."""
    if values is None:
        return ""
    vals = list(dict.fromkeys(values))
    if not vals:
        return " AND false"
    if len(vals) > 8 and all(_ID_RE.match(v) for v in vals):
        return f" AND {quote_ident(tag)} =~ /^(?:{'|'.join(vals)})$/"
    return " AND (" + " OR ".join(f"{quote_ident(tag)} = {quote_str(v)}" for v in vals) + ")"
