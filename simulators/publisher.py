"""Publishing simulator messages over MQTT (paho-mqtt 2.x, callback API version 2).

One client publishes for a whole fleet (a per-device client per device would need dozens of
connections and threads). Consequence: the broker cannot publish a per-device last will
when the simulator dies; :func:`publish` sends ``offline`` for every device on a clean stop
(``final``), and a crash leaves the retained ``online``. Real devices set their own will.

Flow control: at most ``window`` messages are unacknowledged (QoS 1 PUBACKs counted in
``on_publish``); paho's own in-flight limit stays at its default 20, which docs/design-notes.md trap 4
measured as the fastest setting for a paho publisher.

Pacing (live mode): a message is published once the simulated clock reaches its timestamp;
the simulated clock starts at ``start_ms`` and runs ``speed`` times faster than the wall
clock, but never ahead of it: a reading is not sent before its own timestamp has passed
(the gateway refuses readings more than 5 minutes in the future, ``ts_in_future``). So an
accelerated run replays the past until it catches up with now, then continues in real
time. Without ``speed`` everything is sent at full speed (back-fill).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from mqttlink import MqttUrlError, configure_client, parse_mqtt_url
from simulators.messages import Message, encode, message_due_ms, now_ms


class PublishError(RuntimeError):
    """Connecting or publishing failed; the message says what to check."""


@dataclass
class PublishStats:
    """What one :func:`publish` call sent."""

    messages: int = 0
    readings: int = 0
    events: int = 0
    bytes: int = 0
    seconds: float = 0.0
    stopped: bool = False

    @property
    def rate(self) -> float:
        """Readings per second."""
        return self.readings / self.seconds if self.seconds > 0 else 0.0


class _Client:
    """A connected paho client with acknowledgement counting."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        will: Message | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        try:
            target = parse_mqtt_url(url)
            if username is not None:
                target = replace(target, username=username)
            if password is not None:
                target = replace(target, password=password)
            configure_client(self.client, target)
        except MqttUrlError as exc:
            raise PublishError(str(exc)) from None
        if will is not None:
            self.client.will_set(will.topic, encode(will.payload), qos=1, retain=will.retain)
        self.cond = threading.Condition()
        self.acked = 0
        self.connected = threading.Event()
        self.refused: str | None = None
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        # paho annotates whole seconds; a fraction works (it adds it to the time and sleeps)
        self.client.reconnect_delay_set(0.2, 5)  # type: ignore[arg-type]
        try:
            self.client.connect(target.host, target.port, keepalive=30)
        except OSError as exc:
            raise PublishError(
                f"cannot reach the MQTT broker {target.shown}: {exc}; "
                "is it running (check --mqtt-url / TANZHANG_MQTT_URL)?"
            ) from None
        self.client.loop_start()
        if not self.connected.wait(timeout) or self.refused:
            self.close()
            raise PublishError(
                f"MQTT broker {target.shown} refused the connection: "
                f"{self.refused or 'no CONNACK within ' + str(timeout) + ' s'} "
                "(check the user name and password in the URL)"
            )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
        self.connected.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        with self.cond:
            self.acked += 1
            self.cond.notify_all()

    def wait_acked(self, sent: int, window: int, timeout: float, stop: threading.Event) -> None:
        """Block until at most ``window`` of ``sent`` messages are unacknowledged."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while sent - self.acked > window:
                if stop.is_set():
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PublishError(
                        f"{sent - self.acked} messages unacknowledged after {timeout:.0f} s: "
                        "is the broker still up?"
                    )
                self.cond.wait(min(left, 0.5))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(
    messages: Iterable[Message],
    mqtt_url: str,
    *,
    qos: int = 1,
    client_id: str | None = None,
    username: str | None = None,
    password: str | None = None,
    speed: float | None = None,
    start_ms: int | None = None,
    window: int = 1000,
    ack_timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
    stop: threading.Event | None = None,
    initial: Sequence[Message] = (),
    final: Sequence[Message] = (),
) -> PublishStats:
    """Publish ``messages`` and wait until the broker acknowledged every one.

    mqtt_url : ``mqtt://user:pass@host:port``; username/password override the URL's
    speed : None for full speed, else pace by message time at ``speed`` x real time
    start_ms : the simulated time at the start of pacing [epoch ms]; default: the first
        message's time
    window : unacknowledged messages allowed before waiting [-]
    progress : called as ``progress(messages_sent, newest_ts_ms)`` about every 0.2 s
    stop : set it to stop early (``final`` is still sent)
    initial, final : sent before and after ``messages`` (e.g. retained online/offline)
    Raises :class:`PublishError` when the broker is unreachable, refuses, or stops acking.
    """
    stop = stop or threading.Event()
    cl = _Client(
        mqtt_url,
        client_id=client_id or f"tanzhang-sim-{uuid.uuid4().hex[:8]}",
        username=username,
        password=password,
    )
    stats = PublishStats()
    t0 = time.monotonic()
    last_progress = 0.0
    sim_t0: int | None = start_ms

    def send(msg: Message) -> None:
        data = encode(msg.payload)
        cl.client.publish(msg.topic, data, qos=qos, retain=msg.retain)
        stats.messages += 1
        stats.bytes += len(data)
        p = msg.payload
        if isinstance(p, dict):
            if isinstance(p.get("batch"), list):
                stats.readings += len(p["batch"])
            elif "values" in p:
                stats.readings += 1
            elif "type" in p:
                stats.events += 1
        if qos > 0:
            cl.wait_acked(stats.messages, window, ack_timeout, stop)

    try:
        for msg in initial:
            send(msg)
        for msg in messages:
            if stop.is_set():
                stats.stopped = True
                break
            ts = message_due_ms(msg)
            if speed and ts is not None:
                if sim_t0 is None:
                    sim_t0 = ts
                due = t0 + (ts - sim_t0) / 1000.0 / speed
                delay = max(due - time.monotonic(), (ts - now_ms()) / 1000.0)
                if delay > 0 and stop.wait(delay):
                    stats.stopped = True
                    break
            send(msg)
            now = time.monotonic()
            if progress and now - last_progress >= 0.2:
                last_progress = now
                progress(stats.messages, ts)
        for msg in final:
            cl.client.publish(msg.topic, encode(msg.payload), qos=qos, retain=msg.retain)
            stats.messages += 1
        if qos > 0:
            cl.wait_acked(stats.messages, 0, ack_timeout, threading.Event())
        if progress:
            progress(stats.messages, None)
    finally:
        stats.seconds = time.monotonic() - t0
        cl.close()
    return stats
