"""The source stage's contract: where messages come from and where acknowledgements go.

A source delivers every message it receives to one callback, in arrival order, from one
thread. It never acknowledges by itself: the pipeline hands the tokens of a durable batch
back through :meth:`Source.ack`, in the order the messages arrived. Tokens of a connection
that has since dropped are ignored (the broker redelivers those messages, and the store's
idempotent writes absorb the duplicate).

At the spool bound the pipeline stops acknowledging; if the broker keeps sending anyway
(mosquitto 2.0.11 overruns ``ReceiveMaximum``), it suspends the source (:meth:`Source.suspend`) and
drops what it holds, and resumes it (:meth:`Source.resume`) once the spool has room again.

Stopping is two steps so that the agent can stop in reverse order: :meth:`Source.pause`
stops delivering (later messages stay unacknowledged with the broker, in the persistent
session), and :meth:`Source.close` disconnects after the sinks have flushed and acknowledged.

The real source is :class:`gateway.mqtt.MqttSource`; pipeline tests use a fake with the
same methods.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gateway.message import Message

Deliver = Callable[[Message], None]


class Source(Protocol):
    """What the pipeline needs of the MQTT side."""

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""

    def start(self, deliver: Deliver) -> None:
        """Connect and subscribe; call ``deliver`` for every message from now on."""

    def ack(self, tokens: Sequence[Any]) -> int:
        """Acknowledge messages (in order); return how many were acknowledged."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        """Publish a message (used for the dead-letter topic)."""

    def pause(self) -> None:
        """Stop delivering; undelivered and unacknowledged messages stay with the broker."""

    def close(self) -> None:
        """Disconnect, keeping the persistent session on the broker."""

    def suspend(self) -> None:
        """Disconnect for a while (session kept); unacknowledged tokens become stale."""

    def resume(self) -> None:
        """Reconnect after :meth:`suspend`; the broker redelivers what was not acknowledged."""
