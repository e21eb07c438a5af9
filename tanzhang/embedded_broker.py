"""The embedded MQTT broker (amqtt, pure Python) for the one-command demo.

amqtt speaks MQTT 3.1.1 and carries about 1,300 msg/s in-process on this machine kind: enough
for a demo fleet, not for a site. It keeps everything in memory: what it acknowledged to a
publisher and has not yet delivered is lost when the process stops. It is therefore only for
the simulated demo fleet; real devices need a real broker (mosquitto, docker-compose.yml,
``TANZHANG_MQTT_URL``), and ``tanzhang run --no-simulators`` refuses to start without one.

Stock amqtt waits a fixed 5 s for a subscriber's PUBACK, then abandons the delivery and logs
a traceback. The gateway acknowledges only after its write, so one slow write (a busy disk,
an API request in the same process) tripped it by the thousand during the demo's back-fill.
:class:`PatientBrokerProtocolHandler` waits for the PUBACK as long as the subscriber stays
connected, with at most :data:`MAX_INFLIGHT` deliveries unacknowledged per client (beyond,
deliveries wait their turn instead of failing for want of a packet id).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)

#: unacknowledged QoS 1/2 deliveries per client (MQTT packet ids run out at 65,535)
MAX_INFLIGHT = 20_000


def _patient_classes() -> tuple[type, type]:
    """The broker and protocol handler classes (amqtt is imported only when needed)."""
    from amqtt.broker import Broker
    from amqtt.mqtt.constants import QOS_1, QOS_2
    from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
    from amqtt.session import OUTGOING, OutgoingApplicationMessage

    class PatientBrokerProtocolHandler(BrokerProtocolHandler):
        """amqtt's handler, but an outgoing QoS 1 delivery waits for its PUBACK as long as
        the connection lives (stock: 5 s, then the message is dropped from the session).

        On a disconnect amqtt cancels the wait; the message then stays in the session's
        in-flight set and is sent again when the client resumes its session.
        """

        async def mqtt_publish(self, topic: str, data: Any, qos: Any, retain: bool,
                               ack_timeout: int | None = None) -> Any:  # fmt: skip
            if qos not in (QOS_1, QOS_2):
                return await super().mqtt_publish(topic, data, qos, retain, ack_timeout)
            window = self.__dict__.get("_tanzhang_window")
            if window is None:
                window = self.__dict__["_tanzhang_window"] = asyncio.Semaphore(MAX_INFLIGHT)
            async with window:
                return await super().mqtt_publish(topic, data, qos, retain, ack_timeout)

        async def _handle_qos1_message_flow(self, app_message: Any) -> None:
            session = self.session
            if (
                app_message.direction != OUTGOING
                or app_message.qos != QOS_1
                or app_message.packet_id is None
                or app_message.puback_packet
                or session is None
            ):
                await super()._handle_qos1_message_flow(app_message)
                return
            packet_id = app_message.packet_id
            if packet_id not in session.inflight_out and isinstance(
                app_message, OutgoingApplicationMessage
            ):
                session.inflight_out[packet_id] = app_message
            packet = app_message.build_publish_packet(dup=app_message.publish_packet is not None)
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._puback_waiters[packet_id] = waiter
            try:
                await self._send_packet(packet)
                app_message.publish_packet = packet
                app_message.puback_packet = await waiter  # no timeout: see the class
            finally:
                self._puback_waiters.pop(packet_id, None)
            session.inflight_out.pop(packet_id, None)  # only once acknowledged

    class PatientBroker(Broker):
        """amqtt's broker with :class:`PatientBrokerProtocolHandler` for every client."""

        async def _initialize_client_session(self, *args: Any, **kwargs: Any) -> Any:
            handler, session = await super()._initialize_client_session(*args, **kwargs)
            # the subclass adds behaviour, no state: the instance can change class in place
            handler.__class__ = PatientBrokerProtocolHandler
            return handler, session

    return PatientBroker, PatientBrokerProtocolHandler


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


class EmbeddedBroker:
    """amqtt running on its own event loop in a daemon thread.

    host, port : where it listens; port 0 picks a free port (1883 when free)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        if port == 0:
            port = 1883 if _port_free(host, 1883) else _free_port(host)
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="amqtt", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _serve(self) -> None:
        broker_class, _ = _patient_classes()
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                "amqtt.plugins.sys.broker.BrokerSysPlugin": {"sys_interval": 0},
            },
        }
        try:
            self._broker = broker_class(config, loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

    def start(self, timeout: float = 15) -> EmbeddedBroker:
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"embedded MQTT broker did not start within {timeout} s")
        if self._error:
            raise RuntimeError(
                f"embedded MQTT broker failed to start: {self._error}"
            ) from self._error
        log.info("embedded MQTT broker listening url=%s", self.url)
        return self

    def stop(self, timeout: float = 10) -> None:
        if self._broker is None or not self._loop.is_running():
            return
        fut = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            fut.result(timeout)
        except Exception as exc:  # shutting down anyway
            log.warning("embedded broker shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
