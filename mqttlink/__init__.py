"""MQTT connections of tanzhang from one URL: the parser, the client set-up, the one publisher.

``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS), with user and password
percent-encoded (``p%40ss`` is ``p@ss``) and default ports 1883 and 8883. ``mqtts://``
verifies the broker's certificate and host name against the system's certificate
authorities, or against the PEM file named by ``?cafile=/path/ca.pem``.

- :func:`parse_mqtt_url` -> :class:`MqttUrl` (raises :class:`MqttUrlError`, a ValueError
  whose message never holds the password)
- :func:`configure_client`: credentials and TLS on a paho ``Client``
- :func:`publish_confirmed` / :func:`publish_one`: connect, publish at QoS 1 over MQTT 5,
  wait for each PUBACK and check its reason code, disconnect

A leaf package: the standard library and paho-mqtt 2.x only, nothing of tanzhang's, so the
gateway, the simulators and the API share it.
"""

from mqttlink.client import configure_client
from mqttlink.publish import CONFIRMED, PublishRefused, publish_confirmed, publish_one
from mqttlink.url import DEFAULT_PORTS, MqttUrl, MqttUrlError, mask_url, parse_mqtt_url

__all__ = [
    "CONFIRMED",
    "DEFAULT_PORTS",
    "MqttUrl",
    "MqttUrlError",
    "PublishRefused",
    "configure_client",
    "mask_url",
    "parse_mqtt_url",
    "publish_confirmed",
    "publish_one",
]
