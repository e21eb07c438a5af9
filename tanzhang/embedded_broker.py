"""The embedded MQTT broker (amqtt, pure Python) for the one-command demo.

amqtt speaks MQTT 3.1.1 and carries about 1,300 msg/s in-process on this machine kind
(DESIGN.md, trap 6): enough for a demo fleet, not for a site. A site runs mosquitto
(docker-compose.yml) and sets ``TANZHANG_MQTT_URL``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)


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
        from amqtt.broker import Broker

        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                "amqtt.plugins.sys.broker.BrokerSysPlugin": {"sys_interval": 0},
            },
        }
        try:
            self._broker = Broker(config, loop=self._loop)
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
