"""The one MQTT URL parser (mqttlink) and the settings that use it: no broker needed."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from mqttlink import MqttUrl, MqttUrlError, configure_client, mask_url, parse_mqtt_url
from tanzhang.settings import Settings


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("mqtt://127.0.0.1:1884", MqttUrl("127.0.0.1", 1884)),
        ("mqtt://broker", MqttUrl("broker", 1883)),
        ("mqtts://broker", MqttUrl("broker", 8883, tls=True)),
        ("mqtt://broker/", MqttUrl("broker", 1883)),
        ("mqtt://:1885", MqttUrl("127.0.0.1", 1885)),
        ("mqtt://gateway:secret@h", MqttUrl("h", 1883, "gateway", "secret")),
        ("mqtts://gw:p%40ss@broker.example", MqttUrl("broker.example", 8883, "gw", "p@ss", True)),
        ("mqtt://gw:p%25%3A%2Fx@h:2", MqttUrl("h", 2, "gw", "p%:/x")),
        ("mqtt://us%40er@h", MqttUrl("h", 1883, "us@er", None)),
        ("mqtts://h:8884?cafile=/etc/site-ca.pem", MqttUrl("h", 8884, tls=True, cafile="/etc/site-ca.pem")),
        ("MQTT://H:1", MqttUrl("h", 1)),
    ],
)  # fmt: skip
def test_parse(url: str, want: MqttUrl) -> None:
    assert parse_mqtt_url(url) == want


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://gw:topsecret@h:1883", "must start with mqtt:// or mqtts://"),
        ("tcp://gw:topsecret@h:1883", "must start with mqtt:// or mqtts://"),
        ("gw:topsecret@h:1883", "must start with mqtt:// or mqtts://"),
        ("mqtt://gw:topsecret@h:port", "bad port"),
        ("mqtt://gw:topsecret@h:70000", "bad port"),
        ("mqtt://gw:topsecret@h:1883/topic", "no path"),
        ("mqtt://gw:topsecret@h:1883?ca=/x.pem", "unknown option 'ca' (known: cafile)"),
        ("mqtt://gw:topsecret@h:1883?cafile=/x.pem", "cafile applies to mqtts:// only"),
    ],
)
def test_bad_urls_say_what_to_change_without_the_password(url: str, message: str) -> None:
    with pytest.raises(MqttUrlError, match=re.escape(message)) as err:
        parse_mqtt_url(url)
    assert "topsecret" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_the_password_stays_out_of_repr_and_shown() -> None:
    target = parse_mqtt_url("mqtts://gw:topsecret@broker:8884")
    assert "topsecret" not in repr(target)
    assert target.shown == "mqtts://gw@broker:8884"
    assert mask_url("mqtt://gw:top@secret@h:1") == "mqtt://gw:***@h:1"
    assert mask_url("mqtt://h:1") == "mqtt://h:1"


def test_configure_client_sets_credentials_and_verifying_tls(tmp_path: Path) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="t")
    configure_client(client, "mqtt://gw:p%40ss@h")
    assert (client.username, client.password) == ("gw", "p@ss")
    assert client._ssl_context is None  # plain mqtt:// stays plain

    tls = paho.Client(CallbackAPIVersion.VERSION2, client_id="t")
    configure_client(tls, "mqtts://h")
    ctx = tls._ssl_context
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0  # the system's authorities

    with pytest.raises(MqttUrlError, match="is not a file"):
        configure_client(
            paho.Client(CallbackAPIVersion.VERSION2), f"mqtts://h?cafile={tmp_path}/no.pem"
        )
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(MqttUrlError, match="not a PEM CA file"):
        configure_client(paho.Client(CallbackAPIVersion.VERSION2), f"mqtts://h?cafile={bad}")


def test_settings_check_the_mqtt_url_with_the_same_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TANZHANG_CONFIG", raising=False)
    assert Settings(mqtt_url="mqtts://gw:p%40ss@broker").mqtt_url == "mqtts://gw:p%40ss@broker"
    for url, message in (
        ("http://gw:topsecret@broker:1883", "must start with mqtt:// or mqtts://"),
        ("mqtt://gw:topsecret@broker:1883?cafile=/x.pem", "cafile applies to mqtts:// only"),
    ):
        with pytest.raises(ValidationError, match="TANZHANG_MQTT_URL") as err:
            Settings(mqtt_url=url)
        assert message in str(err.value)
        assert "topsecret" not in str(err.value)  # nor the refused value itself
