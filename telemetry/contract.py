"""The wire contract: topics, payloads, limits and every reject reason.

Topic ``{prefix}/{entity_id}/{device_id}/{channel}``, prefix ``tanzhang/v1`` by default,
channel ``data``, ``event`` or ``status``. See docs/protocol.md for the device developer's
version with examples.

:func:`decode_message` turns one MQTT message into accepted records and rejects. It never
raises on bad input: every problem becomes a :class:`~telemetry.model.Reject` with a reason
code and a detail, and valid items of the same batch are kept.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from telemetry.model import Event, Reading, Reject
from telemetry.values import VALUE_SPECS

DEFAULT_PREFIX = "tanzhang/v1"
CHANNELS = ("data", "event", "status")
ID_RE = re.compile(r"^[a-z0-9_-]{1,64}\Z")  # \Z, not $: "$" would let a trailing newline in
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_BATCH = 1000
MAX_FUTURE_MS = 5 * 60 * 1000  # a device clock may run 5 min fast
MAX_SEQ = 2**63 - 1  # seq fits a signed 64-bit integer
MAX_DETAIL = 300  # characters of a reject's detail
DEFAULT_MAX_AGE_MS = 104 * 7 * 24 * 3600 * 1000  # the default retention, 104w (728 days)
#: oldest reading accepted for a store that keeps everything (the embedded store by default):
#: 10 years, so that a device whose clock was reset (to 2000, say) is still refused
NO_RETENTION_MAX_AGE_MS = 3653 * 24 * 3600 * 1000

#: Every reason a message or an item is refused, with what the sender should do.
REJECT_REASONS: dict[str, str] = {
    "topic_malformed": "topic must be {prefix}/{entity}/{device}/{channel}",
    "id_invalid": "entity and device ids: lower-case letters, digits, '-' and '_', 1-64 characters",
    "channel_unknown": "channel must be data, event or status",
    "payload_too_large": "payload exceeds 64 KiB: split the batch",
    "payload_not_utf8": "payload must be UTF-8 text",
    "payload_not_json": "payload must be one JSON document",
    "payload_not_object": "payload must be a JSON object",
    "device_unknown": "the device is not in the registry: add it with `tanzhang registry add-device`",
    "device_entity_mismatch": "the device is registered to another entity than the topic names",
    "batch_invalid": "batch must be a list of 1 to 1000 readings",
    "reading_invalid": "a reading must be an object with a 'values' object",
    "ts_invalid": "ts must be epoch milliseconds (integer) or an RFC 3339 string with offset",
    "ts_in_future": "ts is more than 5 minutes ahead of the gateway clock: fix the device clock",
    "ts_too_old": "ts is older than the retention period: the reading cannot be stored",
    "seq_invalid": "seq must be an integer from 0 to 2^63-1",
    "values_empty": "values must hold at least one value",
    "value_unknown": "value name is not in the contract (see docs/protocol.md for names and units)",
    "value_not_number": "value must be a finite JSON number",
    "value_out_of_bounds": "value is outside its physical bounds",
    "event_invalid": "event must carry a non-empty string 'id' and a known 'type'",
    "event_type_unknown": "event type is not in the contract",
    "event_field_invalid": "an event field is missing, of the wrong type or out of range",
    "status_invalid": "status payload must be 'online' or 'offline'",
}


class DeviceLookup(Protocol):
    """What the decoder needs of the registry: the entity a device belongs to, or None."""

    def entity_of(self, device_id: str) -> str | None: ...


@dataclass(slots=True)
class Decoded:
    """What one message yields: accepted readings/events/status and rejected items."""

    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    status: str | None = None
    rejects: list[Reject] = field(default_factory=list)
    entity: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an event type: python type(s), whether required, numeric bounds."""

    types: tuple[type, ...]
    required: bool = True
    low: float | None = None
    high: float | None = None


_NUM = (int, float)
EVENT_SPECS: dict[str, dict[str, FieldSpec]] = {
    "fertilizer_applied": {
        "product": FieldSpec((str,)),
        "mass_kg": FieldSpec(_NUM, low=0, high=1e6),
        "n_frac": FieldSpec(_NUM, low=0, high=1),
        "p2o5_frac": FieldSpec(_NUM, required=False, low=0, high=1),
        "k2o_frac": FieldSpec(_NUM, required=False, low=0, high=1),
        "organic": FieldSpec((bool,)),
        "area_mu": FieldSpec(_NUM, required=False, low=0, high=1e6),
    },
    "fuel_used": {
        "fuel": FieldSpec((str,)),
        "litres": FieldSpec(_NUM, low=0, high=1e6),
    },
    "harvest": {"mass_t": FieldSpec(_NUM, low=0, high=1e5)},
    "practice": {
        "practice": FieldSpec((str,)),
        "area_mu": FieldSpec(_NUM, low=0, high=1e6),
    },
    "tree_survey": {
        "trees": FieldSpec(_NUM, low=0, high=1e8),
        "mean_trunk_diameter_cm": FieldSpec(_NUM, required=False, low=0, high=500),
        "biomass_t": FieldSpec(_NUM, required=False, low=0, high=1e7),
        "volume_m3": FieldSpec(_NUM, required=False, low=0, high=1e7),
        "species": FieldSpec((str,), required=False),
    },
    "pesticide_applied": {
        "mass_kg": FieldSpec(_NUM, low=0, high=1e5),
        "class": FieldSpec((str,), required=False),
    },
}
PRACTICES = ("grass_cover", "straw_return", "organic_substitution")


class ContractError(Exception):
    """A contract violation: ``reason`` (a key of REJECT_REASONS) and ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        if len(detail) > MAX_DETAIL:  # a detail quotes sender input: keep it readable
            detail = detail[: MAX_DETAIL - 3] + "..."
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str, str]:
    """Split a topic into ``(entity, device, channel)``; raise :class:`ContractError`."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        raise ContractError("topic_malformed", f"topic {topic!r} does not start with {head!r}")
    parts = topic[len(head) :].split("/")
    if len(parts) != 3:
        raise ContractError(
            "topic_malformed", f"topic {topic!r} must have {head}<entity>/<device>/<channel>"
        )
    entity, device, channel = parts
    for what, ident in (("entity", entity), ("device", device)):
        if not ID_RE.match(ident):
            raise ContractError("id_invalid", f"{what} id {ident!r} must match [a-z0-9_-]{{1,64}}")
    if channel not in CHANNELS:
        raise ContractError(
            "channel_unknown", f"channel {channel!r} is not one of data, event, status"
        )
    return entity, device, channel


@dataclass(frozen=True, slots=True)
class AgeLimit:
    """How old an accepted ``ts`` may be: ``ms`` before now, named ``text`` in a reject."""

    ms: int
    text: str


def _days(ms: int) -> str:
    week = 7 * 86_400_000
    days = f"{ms // 86_400_000} days"
    return f"{days} ({ms // week}w)" if ms % week == 0 else days


def age_limit(retention_ms: int) -> AgeLimit:
    """The age limit for a store that keeps ``retention_ms`` [ms] of data (0: everything).

    With a retention the limit is the retention: older data could not be stored (InfluxDB
    refuses it, the embedded store too). Without one it is :data:`NO_RETENTION_MAX_AGE_MS`.
    """
    if retention_ms > 0:
        return AgeLimit(retention_ms, f"the store's retention of {_days(retention_ms)}")
    return AgeLimit(
        NO_RETENTION_MAX_AGE_MS,
        f"{_days(NO_RETENTION_MAX_AGE_MS)}, the limit of a store without retention",
    )


def age_limit_of(store: Any) -> AgeLimit:
    """The age limit for ``store`` (its ``retention_ms``; a store without one keeps all)."""
    return age_limit(int(getattr(store, "retention_ms", 0) or 0))


def parse_ts(raw: Any, now_ms: int, max_age_ms: int, max_age_text: str | None = None) -> int:
    """Epoch milliseconds from an RFC 3339 string or an epoch-ms integer, checked for range.

    max_age_text : how a ``ts_too_old`` detail names the limit (default: the retention
        of ``max_age_ms``)
    """
    if isinstance(raw, bool) or raw is None:
        raise ContractError("ts_invalid", f"ts {raw!r} is neither epoch milliseconds nor RFC 3339")
    numeric = isinstance(raw, int | float)
    if isinstance(raw, int):
        ts = raw
    elif isinstance(raw, float) and raw.is_integer():
        ts = int(raw)
    elif isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ContractError("ts_invalid", f"ts {raw!r} is not RFC 3339") from None
        if parsed.tzinfo is None:
            raise ContractError("ts_invalid", f"ts {raw!r} has no UTC offset (add Z or +08:00)")
        # exact integer arithmetic: datetime.timestamp() is a float and overflows on year 1
        delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
        ts = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    else:
        raise ContractError("ts_invalid", f"ts {raw!r} is neither epoch milliseconds nor RFC 3339")
    if numeric and 0 <= ts < 10**11:  # before 1973: almost surely seconds, not milliseconds
        raise ContractError("ts_invalid", f"ts {ts} looks like seconds; send epoch milliseconds")
    if ts > now_ms + MAX_FUTURE_MS:
        raise ContractError(
            "ts_in_future", f"ts {ts} is {(ts - now_ms) // 1000} s ahead of the gateway clock"
        )
    if ts < now_ms - max_age_ms:
        raise ContractError(
            "ts_too_old",
            f"ts {ts} is older than "
            + (max_age_text or f"the retention of {max_age_ms // 86_400_000} days"),
        )
    return ts


def _number(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ContractError("value_not_number", f"{name}={raw!r} is not a number")
    try:
        value = float(raw)
    except OverflowError:  # an integer beyond the float range (JSON ints are unbounded)
        raise ContractError("value_not_number", f"{name} is an integer beyond 1e308") from None
    if not math.isfinite(value):
        raise ContractError("value_not_number", f"{name}={raw!r} is not finite")
    return value


@dataclass(slots=True)
class Decoder:
    """Decode MQTT messages against the contract and a registry.

    registry : anything with ``entity_of(device_id) -> entity_id | None``
    prefix : topic prefix, ``tanzhang/v1`` by default
    max_age_ms : oldest accepted reading relative to now [ms]; the store's retention
        (see :func:`age_limit`)
    max_age_text : how a ``ts_too_old`` detail names that limit
    max_payload_bytes : largest payload decoded [bytes]; a larger one is refused
        (``payload_too_large``) before any decoding
    """

    registry: DeviceLookup
    prefix: str = DEFAULT_PREFIX
    max_age_ms: int = DEFAULT_MAX_AGE_MS
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    max_age_text: str | None = None

    def decode(self, topic: str, payload: bytes, now_ms: int) -> Decoded:
        """Decode one message; never raises on bad input."""
        out = Decoded()

        def refuse(reason: str, detail: str, item: int | None = None) -> None:
            out.rejects.append(
                Reject(reason, detail, topic, payload, now_ms, item, out.entity, out.device)
            )

        try:
            entity, device, channel = parse_topic(topic, self.prefix)
            out.entity, out.device = entity, device
            owner = self.registry.entity_of(device)
            if owner is None:
                raise ContractError("device_unknown", f"device {device!r} is not registered")
            if owner != entity:
                raise ContractError(
                    "device_entity_mismatch",
                    f"device {device!r} belongs to {owner!r}, not {entity!r}",
                )
            if len(payload) > self.max_payload_bytes:
                raise ContractError(
                    "payload_too_large",
                    f"payload is {len(payload)} bytes, limit {self.max_payload_bytes}",
                )
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ContractError(
                    "payload_not_utf8", f"payload is not UTF-8: {exc.reason} at byte {exc.start}"
                ) from None
            if channel == "status":
                state = text.strip().strip('"')
                if state not in ("online", "offline"):
                    raise ContractError(
                        "status_invalid", f"status {text[:40]!r} is not online/offline"
                    )
                out.status = state
                return out
            try:
                doc = json.loads(text)
            # ValueError covers JSONDecodeError and integers longer than 4300 digits
            except (ValueError, RecursionError) as exc:
                raise ContractError("payload_not_json", f"payload is not JSON: {exc}") from None
            if not isinstance(doc, dict):
                raise ContractError(
                    "payload_not_object", f"payload is a JSON {type(doc).__name__}, not an object"
                )
            if channel == "event":
                out.events.append(self._event(entity, device, doc, now_ms))
                return out
            items = self._items(doc)
        except ContractError as exc:
            refuse(exc.reason, exc.detail)
            return out
        for index, item in items:
            try:
                out.readings.append(self._reading(entity, device, item, now_ms))
            except ContractError as exc:
                refuse(exc.reason, exc.detail, index)
            except _PartlyRefused as part:
                out.readings.append(part.reading)
                for reason, detail in part.problems:
                    refuse(reason, detail, index)
        return out

    @staticmethod
    def _items(doc: dict[str, Any]) -> list[tuple[int | None, Any]]:
        if "batch" not in doc:
            return [(None, doc)]
        batch = doc["batch"]
        if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
            size = len(batch) if isinstance(batch, list) else type(batch).__name__
            raise ContractError(
                "batch_invalid", f"batch must be a list of 1-{MAX_BATCH} readings, got {size}"
            )
        return list(enumerate(batch))

    def _reading(self, entity: str, device: str, item: Any, now_ms: int) -> Reading:
        if not isinstance(item, dict) or not isinstance(item.get("values"), dict):
            raise ContractError(
                "reading_invalid", "reading must be an object with a 'values' object"
            )
        stamped = "ts" not in item
        ts = now_ms if stamped else parse_ts(item["ts"], now_ms, self.max_age_ms, self.max_age_text)
        seq = item.get("seq")
        if seq is not None and (
            isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ
        ):
            raise ContractError("seq_invalid", f"seq {seq!r} is not an integer from 0 to 2^63-1")
        raw_values: dict[str, Any] = item["values"]
        if not raw_values:
            raise ContractError("values_empty", "values is empty")
        values: dict[str, float] = {}
        problems: list[tuple[str, str]] = []
        for name, raw in raw_values.items():
            spec = VALUE_SPECS.get(name)
            try:
                if spec is None:
                    raise ContractError(
                        "value_unknown", f"{name!r} is not a value name of the contract"
                    )
                value = _number(name, raw)
                if not spec.low <= value <= spec.high:
                    raise ContractError(
                        "value_out_of_bounds",
                        f"{name}={value:g} {spec.unit} is outside [{spec.low:g}, {spec.high:g}]",
                    )
                values[name] = value
            except ContractError as exc:
                problems.append((exc.reason, exc.detail))
        if not values:
            reason, detail = problems[0]
            raise ContractError(
                reason, "; ".join(d for _, d in problems) if len(problems) > 1 else detail
            )
        reading = Reading(entity, device, ts, values, seq, stamped)
        if problems:
            raise _PartlyRefused(reading, problems)
        return reading

    def _event(self, entity: str, device: str, doc: dict[str, Any], now_ms: int) -> Event:
        return decode_event(entity, device, doc, now_ms, self.max_age_ms, self.max_age_text)


class _PartlyRefused(Exception):
    def __init__(self, reading: Reading, problems: list[tuple[str, str]]) -> None:
        super().__init__("partly refused")
        self.reading = reading
        self.problems = problems


def decode_event(
    entity: str,
    device: str,
    doc: dict[str, Any],
    now_ms: int,
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
    max_age_text: str | None = None,
) -> Event:
    """Validate one field record (MQTT ``event`` channel or HTTP) into an :class:`Event`.

    Raises :class:`ContractError` with a reason code and detail.
    """
    event_id, etype = doc.get("id"), doc.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        raise ContractError("event_invalid", "event needs a string 'id' of 1-128 characters")
    if not isinstance(etype, str):
        raise ContractError("event_invalid", "event needs a string 'type'")
    spec = EVENT_SPECS.get(etype)
    if spec is None:
        raise ContractError(
            "event_type_unknown", f"event type {etype!r} is not one of {', '.join(EVENT_SPECS)}"
        )
    ts = now_ms if "ts" not in doc else parse_ts(doc["ts"], now_ms, max_age_ms, max_age_text)
    attrs: dict[str, Any] = {}
    for name, fs in spec.items():
        if name not in doc:
            if fs.required:
                raise ContractError("event_field_invalid", f"{etype} needs field {name!r}")
            continue
        raw = doc[name]
        if (bool not in fs.types and isinstance(raw, bool)) or not isinstance(raw, fs.types):
            raise ContractError("event_field_invalid", f"{etype}.{name}={raw!r} has the wrong type")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            try:
                value = _number(f"{etype}.{name}", raw)
            except ContractError as exc:
                raise ContractError("event_field_invalid", exc.detail) from None
            if (fs.low is not None and value < fs.low) or (fs.high is not None and value > fs.high):
                raise ContractError(
                    "event_field_invalid",
                    f"{etype}.{name}={value:g} is outside [{fs.low}, {fs.high}]",
                )
            attrs[name] = value
        else:
            attrs[name] = raw
    if etype == "practice" and attrs["practice"] not in PRACTICES:
        raise ContractError(
            "event_field_invalid",
            f"practice {attrs['practice']!r} is not one of {', '.join(PRACTICES)}",
        )
    return Event(entity, device, ts, event_id, etype, attrs)
