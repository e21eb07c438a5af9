"""mqttlink against a real mosquitto: ``mqtts://`` end to end, and passwords with ``@`` and ``%``.

The TLS broker gets a throwaway certificate authority and server certificate made here with
``cryptography``; the publisher trusts that authority through ``?cafile=``. The gateway's
source, the simulators' publisher and the API's reject replay all connect through mqttlink,
so each is run once against the TLS listener.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import paho.mqtt.client as paho
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from gateway.mqtt import MqttSource
from mqttlink import PublishRefused, publish_confirmed, publish_one
from simulators.messages import Message
from simulators.publisher import PublishError, publish
from tanzhang.app import mqtt_publisher
from tanzhang.settings import Settings
from tests.servers import Mosquitto, _wait_port, free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

TOPIC = "tanzhang/v1/line-a1/meter-a1/data"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it:
    ``(ca.pem, server.pem, server.key)``."""
    # OpenSSL checks validity against the machine clock: a fixed span that holds whatever
    # the date (no test reads the wall clock)
    valid_from = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    valid_until = dt.datetime(2099, 12, 31, tzinfo=dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("tanzhang test CA"))
        .issuer_name(_name("tanzhang test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_pem, cert_pem, key_pem


@dataclass
class TlsMosquitto(Mosquitto):
    """tests/servers.py's mosquitto with a second listener on ``tls_port`` that speaks TLS."""

    certfile: Path | None = None
    keyfile: Path | None = None
    tls_port: int = field(default_factory=free_port)

    def _config(self) -> Path:
        conf = super()._config()
        conf.write_text(
            conf.read_text()
            + f"listener {self.tls_port} 127.0.0.1\n"
            + f"certfile {self.certfile}\nkeyfile {self.keyfile}\n"
        )
        return conf

    def start(self) -> TlsMosquitto:
        super().start()
        _wait_port(self.tls_port, 10, self.proc, self.folder / "stdout.log")
        return self


class Subscriber:
    """A plain-port paho subscriber (QoS 1) that queues every payload it gets."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None) -> None:
        self.got: queue.Queue[bytes] = queue.Queue()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=user or "test-sub")
        if user:
            self.client.username_pw_set(user, password)
        subscribed = threading.Event()
        self.client.on_message = lambda c, u, m: self.got.put(m.payload)
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("tanzhang/v1/#", qos=1)
        self.client.loop_start()
        assert subscribed.wait(10), "the test subscriber did not subscribe"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[TlsMosquitto, Path]]:
    ca, cert, key = make_ca_and_server_cert(tmp_path / "pki")
    broker = TlsMosquitto(tmp_path / "mosquitto", certfile=cert, keyfile=key).start()
    try:
        yield broker, ca
    finally:
        broker.stop()


def test_mqtts_with_a_ca_file_reaches_a_subscriber(tls_broker: tuple[TlsMosquitto, Path]) -> None:
    broker, ca = tls_broker
    url = f"mqtts://127.0.0.1:{broker.tls_port}?cafile={ca}"
    sub = Subscriber(broker.port)
    try:
        # Success (reason code 0) needs a matching subscriber: the message went through TLS
        assert publish_confirmed(url, [(TOPIC, b"over-tls-1"), (TOPIC, b"over-tls-2")]) == [
            None,
            None,
        ]
        assert [sub.got.get(timeout=5), sub.got.get(timeout=5)] == [b"over-tls-1", b"over-tls-2"]
        # the API's reject replay, configured from the settings
        mqtt_publisher(Settings(mqtt_url=url))(TOPIC, b"from-the-api")
        assert sub.got.get(timeout=5) == b"from-the-api"
    finally:
        sub.close()


def test_mqtts_is_honoured_not_ignored(tls_broker: tuple[TlsMosquitto, Path]) -> None:
    """The scheme decides: plain MQTT to the TLS port fails, TLS to the plain port fails, and
    mqtts:// without ``cafile`` verifies against the system's authorities (which do not know
    the test CA)."""
    broker, ca = tls_broker
    for url, why in (
        (f"mqtt://127.0.0.1:{broker.tls_port}", "no CONNACK"),
        (f"mqtts://127.0.0.1:{broker.port}?cafile={ca}", "TLS"),  # a reset or SSL error
        (f"mqtts://127.0.0.1:{broker.tls_port}", "CERTIFICATE_VERIFY_FAILED"),
    ):
        with pytest.raises(ConnectionError, match=why):
            publish_one(url, TOPIC, b"x", timeout_s=3)


def test_gateway_and_simulators_connect_over_mqtts(tls_broker: tuple[TlsMosquitto, Path]) -> None:
    broker, ca = tls_broker
    url = f"mqtts://127.0.0.1:{broker.tls_port}?cafile={ca}"
    got: queue.Queue[bytes] = queue.Queue()
    source = MqttSource(url=url, client_id="gw-tls", watch_broker_drops=False)
    source.start(lambda msg: got.put(msg.payload))
    try:
        assert source.wait_connected(10), f"gateway did not connect over TLS: {source.last_error}"
        stats = publish([Message(TOPIC, {"ts": 1, "values": {"power_kw": 1.0}})], url)
        assert stats.messages == 1
        assert b'"power_kw"' in got.get(timeout=10)
    finally:
        source.close()
    with pytest.raises(PublishError, match="cannot reach"):  # the simulators verify too
        publish([], f"mqtts://127.0.0.1:{broker.tls_port}")


def test_password_with_at_and_percent(tmp_path: Path) -> None:
    """A password holding ``@``, ``%``, ``:`` and ``/``, percent-encoded in the URL, logs in."""
    binary = shutil.which("mosquitto_passwd")
    assert binary, "install the Debian package mosquitto (scripts/test.sh does)"
    password = "p@ss%40w:rd/1"
    pw_file = tmp_path / "passwd"
    subprocess.run([binary, "-c", "-b", str(pw_file), "replay", password], check=True)
    subprocess.run([binary, "-b", str(pw_file), "sub", "sub-pass"], check=True)
    broker = Mosquitto(tmp_path / "mosquitto", password_file=pw_file).start()
    url = f"mqtt://replay:{quote(password, safe='')}@127.0.0.1:{broker.port}"
    assert url.count("@") == 1
    sub = Subscriber(broker.port, "sub", "sub-pass")
    try:
        publish_one(url, TOPIC, b"with-an-odd-password")
        assert sub.got.get(timeout=5) == b"with-an-odd-password"
        mqtt_publisher(Settings(mqtt_url=url))(TOPIC, b"api")
        assert sub.got.get(timeout=5) == b"api"
        assert publish([Message(TOPIC, {"ts": 2})], url).messages == 1
        assert sub.got.get(timeout=5) == b'{"ts":2}'
        # the password as typed, not decoded, is refused: the decoding is what made it work
        wrong = f"mqtt://replay:{quote(quote(password, safe=''), safe='')}@127.0.0.1:{broker.port}"
        with pytest.raises(ConnectionError, match="refused the connection"):
            publish_one(wrong, TOPIC, b"x")
        with pytest.raises(PublishRefused, match="reason code 16"):  # no subscriber for it
            publish_one(url, "elsewhere/topic", b"x")
    finally:
        sub.close()
        broker.stop()
