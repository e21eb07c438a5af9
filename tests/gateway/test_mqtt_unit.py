"""The paho module's pure parts: subscription filter, options, Properties speedup (the URL
parser is mqttlink's: tests/mqttlink)."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway import mqtt
from gateway.mqtt import MqttConfigError, MqttSource, subscription_topic
from mqttlink import MqttUrlError


def test_subscription_topic() -> None:
    assert subscription_topic("tanzhang/v1", None) == "tanzhang/v1/+/+/+"
    assert subscription_topic("tanzhang/v1/", "gateways") == "$share/gateways/tanzhang/v1/+/+/+"


def test_options_checked() -> None:
    with pytest.raises(MqttConfigError, match="receive_maximum"):
        MqttSource(url="mqtt://h", client_id="x", receive_maximum=70_000)
    with pytest.raises(MqttConfigError, match="protocol"):
        MqttSource(url="mqtt://h", client_id="x", protocol="4")
    with pytest.raises(MqttUrlError, match="must start with mqtt:// or mqtts://"):
        MqttSource(url="http://gw:pw@h:1883", client_id="x")
    with pytest.raises(MqttUrlError, match="is not a file"):  # checked before connecting
        MqttSource(url="mqtts://h?cafile=/nonexistent/ca.pem", client_id="x")
    src = MqttSource(url="mqtt://h:1", client_id="gw-1", share_group="g", receive_maximum=4000)
    assert src.topic == "$share/g/tanzhang/v1/+/+/+" and not src.connected


def test_properties_clear_speedup_is_equivalent() -> None:
    assert mqtt.PROPERTY_CLEAR_PATCHED
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = 30
    props.ContentType = "application/json"
    props.UserProperty = ("a", "1")
    props.clear()
    assert props.isEmpty() and props.packetType == PacketTypes.PUBLISH
    # unpack (which clears first) still reads what is on the wire
    wire = Properties(PacketTypes.PUBLISH)
    wire.MessageExpiryInterval = 7
    back, _ = Properties(PacketTypes.PUBLISH).unpack(wire.pack())
    assert back.MessageExpiryInterval == 7
    empty, used = Properties(PacketTypes.PUBLISH).unpack(b"\x00")
    assert used == 1 and empty.isEmpty()
