"""What flows between the stages of the gateway pipeline.

Contract:

- A :class:`Message` is one MQTT PUBLISH as the source received it. It is *owned* by the
  pipeline until it is acknowledged; ``token`` is opaque to every stage but the source that
  made it (paho's message id plus the connection generation, so that an acknowledgement
  never crosses a reconnect).
- A :class:`Batch` holds the decoded records of consecutive messages and the messages
  themselves. It is *durable* once its readings, events and rejects are in the store or in
  the spool; only then are its messages acknowledged, in the order they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telemetry.model import Event, Reading, Reject


@dataclass(slots=True)
class Message:
    """One received MQTT message.

    topic : MQTT topic
    payload : raw bytes
    received_ms : arrival time [ms since the Unix epoch]
    token : the source's acknowledgement handle (None: nothing to acknowledge, e.g. QoS 0)
    """

    topic: str
    payload: bytes
    received_ms: int
    token: Any = None


@dataclass(slots=True)
class Batch:
    """Decoded records of consecutive messages, and the messages to acknowledge.

    created_s : monotonic time the first message entered the batch [s]
    held : True once the batch was held unacknowledged at the spool bound (counted once)
    """

    readings: list[Reading] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    tokens: list[Any] = field(default_factory=list)
    messages: int = 0
    created_s: float = 0.0
    held: bool = False

    @property
    def points(self) -> int:
        """Records to write: readings + events + rejects."""
        return len(self.readings) + len(self.events) + len(self.rejects)

    def extend(self, other: Batch) -> None:
        """Append another batch's records and tokens (order kept)."""
        self.readings.extend(other.readings)
        self.events.extend(other.events)
        self.rejects.extend(other.rejects)
        self.tokens.extend(other.tokens)
        self.messages += other.messages
