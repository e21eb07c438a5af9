"""The one confirmed publisher: connect, publish at QoS 1 over MQTT 5, check every PUBACK.

MQTT 3.1.1's PUBACK cannot refuse (docs/design-notes.md trap 7); MQTT 5's carries a reason
code (135 "Not authorized" for a publish the ACL denies, 16 "No matching subscribers"), so a
caller that deletes its copy once the broker took a message (reject replay) learns whether
it really did.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from mqttlink.client import configure_client
from mqttlink.url import MqttUrl, parse_mqtt_url

#: PUBACK reason codes that confirm a publish [MQTT 5, 3.4.2.1]: only 0 "Success". 16 "No
#: matching subscribers" is a success class code too, but nobody (no gateway session) got the
#: message, so a replay must not count it as delivered.
CONFIRMED = (0,)
#: Publishes in flight at once (packet ids are reused past 65,535).
PUBLISH_WINDOW = 500


class PublishRefused(RuntimeError):
    """The broker did not confirm a publish with reason code Success; the message says why."""


def publish_confirmed(
    url: str | MqttUrl,
    messages: Sequence[tuple[str, bytes]],
    *,
    client_id: str = "",
    timeout_s: float = 30.0,
) -> list[str | None]:
    """Publish ``(topic, payload)`` pairs over MQTT 5 at QoS 1 and check every PUBACK.

    Returns, per message in order, None when the broker answered Success, else why not (the
    reason code, or no PUBACK within ``timeout_s`` [s]). Raises :class:`ConnectionError`
    when the broker cannot be reached, the TLS handshake fails, or the broker refuses the
    client (wrong password), and :class:`mqttlink.MqttUrlError` for a URL that cannot work.
    ``client_id`` "" lets the broker assign one (a clean session).
    """
    target = parse_mqtt_url(url) if isinstance(url, str) else url
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    configure_client(client, target)
    client.max_inflight_messages_set(PUBLISH_WINDOW)
    connected = threading.Event()
    refused: list[str] = []
    acks: dict[int, Any] = {}
    lock = threading.Condition()

    def on_connect(_c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            refused.append(f"{reason} (reason code {reason.value})")
        connected.set()

    def on_publish(_c: paho.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with lock:
            acks[mid] = reason
            lock.notify_all()

    client.on_connect = on_connect
    client.on_publish = on_publish
    where = target.shown
    try:
        client.connect(target.host, target.port, keepalive=30, clean_start=True)
    except ssl.SSLError as exc:
        raise ConnectionError(f"TLS with the MQTT broker {where} failed: {exc}") from exc
    except OSError as exc:
        how = " over TLS (is it a TLS port?)" if target.tls else ""
        raise ConnectionError(f"cannot connect to the MQTT broker {where}{how}: {exc}") from exc
    client.loop_start()
    out: list[str | None] = []
    try:
        if not connected.wait(timeout_s):
            raise ConnectionError(f"MQTT broker {where}: no CONNACK within {timeout_s:g} s")
        if refused:
            raise ConnectionError(f"MQTT broker {where} refused the connection: {refused[0]}")
        deadline = time.monotonic() + timeout_s
        for start in range(0, len(messages), PUBLISH_WINDOW):
            with lock:
                acks.clear()
            infos = [
                client.publish(topic, payload, qos=1)
                for topic, payload in messages[start : start + PUBLISH_WINDOW]
            ]
            sent = {i.mid for i in infos if i.rc == paho.MQTT_ERR_SUCCESS}

            def all_acked(sent: set[int] = sent) -> bool:
                return sent <= acks.keys()

            with lock:
                lock.wait_for(all_acked, max(0.0, deadline - time.monotonic()))
                got = dict(acks)
            for info in infos:
                reason = got.get(info.mid)
                if info.rc != paho.MQTT_ERR_SUCCESS:
                    out.append(f"not sent: {paho.error_string(info.rc)}")
                elif reason is None:
                    out.append(f"no PUBACK within {timeout_s:g} s")
                elif reason.value not in CONFIRMED:
                    out.append(f"broker answered {reason} (reason code {reason.value})")
                else:
                    out.append(None)
        return out
    finally:
        client.disconnect()
        client.loop_stop()


def publish_one(
    url: str | MqttUrl,
    topic: str,
    payload: bytes,
    *,
    client_id: str = "",
    timeout_s: float = 10.0,
) -> None:
    """Publish one message (:func:`publish_confirmed`); return once the broker answered
    Success, else raise :class:`PublishRefused` (why) or :class:`ConnectionError`."""
    (why,) = publish_confirmed(url, [(topic, payload)], client_id=client_id, timeout_s=timeout_s)
    if why is not None:
        raise PublishRefused(why)
