"""The dead-letter topic: every reject republished for whoever watches bad traffic.

Topic ``tanzhang/dead-letter/{reason}``, QoS 1, payload UTF-8 JSON::

    {"topic": "tanzhang/v1/line-a1/meter-x/data", "reason": "device_unknown",
     "detail": "device 'meter-x' is not registered", "payload": "<base64 of the first bytes>",
     "payload_sha256": "<hex>", "payload_size": 52, "message": "gw-1:1732406400000000000",
     "ordinal": 0, "received_ms": 1732406400000, "item": null, "entity": "line-a1",
     "device": "meter-x"}

``payload`` holds at most :data:`EXCERPT_BYTES` of the raw bytes, and only in the first
reject of a message (``ordinal`` 0; ``null`` in the others), so a notification stays far
below the broker's ``message_size_limit`` and a message of 1,000 refused items is not
encoded 1,000 times. The whole payload's digest and size identify it.

The store's quarantine (``rejects`` measurement) is the record an operator lists and replays;
the dead-letter topic is a notification (at least once while the gateway lives).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable

from telemetry.model import Reject
from telemetry.store import reject_id, reject_ts_ns

log = logging.getLogger(__name__)

DEAD_LETTER_PREFIX = "tanzhang/dead-letter"
Publish = Callable[..., None]
#: Bytes of a payload a dead letter carries [bytes].
EXCERPT_BYTES = 1024


def dead_letter_topic(reason: str) -> str:
    return f"{DEAD_LETTER_PREFIX}/{reason}"


def dead_letter_payload(reject: Reject) -> bytes:
    """The JSON document published for one reject."""
    return json.dumps(
        {
            "topic": reject.topic,
            "reason": reject.reason,
            "detail": reject.detail,
            "payload": (
                base64.b64encode(reject.payload[:EXCERPT_BYTES]).decode()
                if reject.ordinal == 0
                else None
            ),
            "payload_sha256": reject.payload_sha256,
            "payload_size": reject.payload_size
            if reject.payload_size >= 0
            else len(reject.payload),
            "message": reject_id(reject.source, reject_ts_ns(reject) - reject.ordinal),
            "ordinal": reject.ordinal,
            "received_ms": reject.received_ms,
            "item": reject.item,
            "entity": reject.entity,
            "device": reject.device,
        },
        separators=(",", ":"),
    ).encode()


def publish_rejects(publish: Publish, rejects: Iterable[Reject]) -> int:
    """Publish every reject on its dead-letter topic; return how many were handed to MQTT."""
    n = 0
    for reject in rejects:
        try:
            publish(dead_letter_topic(reject.reason), dead_letter_payload(reject), qos=1)
            n += 1
        except Exception as exc:  # a notification must never stop the pipeline
            log.warning("event=deadletter_failed reason=%s error=%r", reject.reason, exc)
    return n
