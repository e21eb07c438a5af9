"""Exported credentials and ACL on a real mosquitto: each device publishes only as itself.

The registry CLI exports the password and ACL files for two devices on two entities; a real
mosquitto (Debian package) runs with them. Negative checks ("not delivered") end with a marker
message from the same connection: once the marker arrives, anything published before it on
that connection would have arrived too (mosquitto forwards one client's messages in order).
"""

from __future__ import annotations

import io
import os
import queue
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sitetime import clock
from telemetry.contract import Decoder
from telemetry.registry import Registry
from telemetry.registry_cli import main
from tests.servers import Mosquitto, free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

PASSWORDS = {
    "meter-a1": "meter-a1-pass",
    "soil-o1": "soil-o1-pass",
    "gateway": "gateway-pass",
    "gateway-2": "gateway-pass",  # a second replica: one password, a user (client id) each
    "monitor": "monitor-pass",
}
A_TOPIC = "tanzhang/v1/line-a1/meter-a1/data"
B_TOPIC = "tanzhang/v1/orchard-1/soil-o1/data"
WAIT = 5.0


def cli(path: Path, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), registry_path=path, stdout=out, stderr=err, stdin=io.StringIO())
    assert code == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    reg = tmp_path / "registry.toml"
    cli(reg, "add-entity", "factory-a", "--kind", "factory")
    cli(reg, "add-entity", "line-a1", "--kind", "line", "--parent", "factory-a")
    cli(reg, "add-entity", "orchard-1", "--kind", "orchard", "--attr", "area_mu=50",
        "--attr", "county=常山县")  # fmt: skip
    for dev, entity, role in (
        ("meter-a1", "line-a1", "electricity_meter"),
        ("soil-o1", "orchard-1", "soil_sensor"),
    ):
        cli(reg, "add-device", dev, "--entity", entity, "--role", role,
            "--password", PASSWORDS[dev])  # fmt: skip
    assert set(Registry.load(reg).devices) == {"meter-a1", "soil-o1"}
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    cli(reg, "export", "--passwd", str(pw), "--acl", str(acl),
        "--gateway-user", "gateway", "--gateway-user", "gateway-2",
        "--gateway-password", PASSWORDS["gateway"],
        "--monitor-user", "monitor", "--monitor-password", PASSWORDS["monitor"])  # fmt: skip
    server = Mosquitto(tmp_path / "mosquitto", password_file=pw, acl_file=acl).start()
    yield server
    server.stop()


class Client:
    """A paho-mqtt 2.x client (MQTT 5) whose callbacks feed queues."""

    def __init__(self, port: int, user: str | None, password: str | None, **will: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connack: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.pubacks: queue.Queue[tuple[int, int]] = queue.Queue()
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{user}-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        if user is not None:
            self.c.username_pw_set(user, password)
        if will:
            self.c.will_set(will["topic"], will["payload"], qos=1, retain=True)
        self.c.on_connect = lambda c, u, f, rc, p: self.connack.put(rc.value)
        self.c.on_message = lambda c, u, msg: self.messages.put(msg)
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put([r.value for r in rcs])
        self.c.on_publish = lambda c, u, mid, rc, p: self.pubacks.put((mid, rc.value))
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        self.rc = self.connack.get(timeout=WAIT)

    def subscribe(self, topic: str) -> int:
        self.c.subscribe(topic, qos=1)
        (code,) = self.subacks.get(timeout=WAIT)
        return code

    def publish(self, topic: str, payload: str) -> int:
        """Publish at QoS 1 and wait for PUBACK; the PUBACK's reason code (0 = accepted)."""
        info = self.c.publish(topic, payload, qos=1)
        mid, code = self.pubacks.get(timeout=WAIT)
        assert mid == info.mid
        return code

    def received_until(self, marker: str) -> list[tuple[str, str]]:
        """Messages received up to and including ``marker`` (fails if it never comes)."""
        got: list[tuple[str, str]] = []
        deadline = time.monotonic() + WAIT
        while True:
            msg = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            got.append((msg.topic, msg.payload.decode()))
            if msg.payload.decode() == marker:
                return got

    def close(self, *, abrupt: bool = False) -> None:
        if abrupt:
            self.c._sock_close()  # the TCP connection drops: the broker sends the last will
        else:
            self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def clients(broker: Mosquitto) -> Iterator[dict[str, Client]]:
    made: dict[str, Client] = {}
    for user in ("gateway", "meter-a1", "soil-o1"):
        made[user] = Client(broker.port, user, PASSWORDS[user])
        assert made[user].rc == 0, f"{user} refused at connect: {made[user].rc}"
    assert made["gateway"].subscribe("tanzhang/v1/#") == 1  # granted QoS 1
    yield made
    for c in made.values():
        c.close()


def test_device_publishes_under_its_own_topic(clients: dict[str, Client]) -> None:
    rc = clients["meter-a1"].publish(A_TOPIC, '{"values": {"power_kw": 12.5}}')
    assert rc == 0
    got = clients["gateway"].received_until('{"values": {"power_kw": 12.5}}')
    assert got == [(A_TOPIC, '{"values": {"power_kw": 12.5}}')]
    for channel in ("event", "status"):
        clients["meter-a1"].publish(f"tanzhang/v1/line-a1/meter-a1/{channel}", channel)
        assert clients["gateway"].received_until(channel) == [
            (f"tanzhang/v1/line-a1/meter-a1/{channel}", channel)
        ]


@pytest.mark.parametrize(
    "topic",
    [
        B_TOPIC,  # device B's own topic
        "tanzhang/v1/orchard-1/meter-a1/data",  # its own id under another entity
        "tanzhang/v1/line-a1/soil-o1/data",  # another device's id under its own entity
        "tanzhang/v1/line-a1/meter-a10/data",  # a longer id that starts with its own
        "tanzhang/v1/line-a1/data",  # short of the device level
        "tanzhang/dead-letter/value_unknown",  # the gateway's dead-letter topic
    ],
)
def test_device_cannot_publish_as_another(clients: dict[str, Client], topic: str) -> None:
    a = clients["meter-a1"]
    rc = a.publish(topic, "forged")
    assert rc == 135  # MQTT 5 PUBACK reason code 0x87 "Not authorized"
    a.publish(A_TOPIC, "marker")
    got = clients["gateway"].received_until("marker")
    assert got == [(A_TOPIC, "marker")], "the forged message was delivered"


def test_devices_cannot_read_each_other(clients: dict[str, Client]) -> None:
    a = clients["meter-a1"]
    granted = a.subscribe("tanzhang/v1/#")
    assert granted in (0, 1, 135)  # mosquitto 2.0 grants it and then filters on delivery
    clients["soil-o1"].publish(B_TOPIC, "b-private")
    assert clients["gateway"].received_until("b-private") == [(B_TOPIC, "b-private")]
    a.publish(A_TOPIC, "a-marker")  # A's own message is not readable by A either
    clients["gateway"].received_until("a-marker")
    with pytest.raises(queue.Empty):
        a.messages.get(timeout=0.5)


def test_wrong_or_missing_credentials_are_refused(broker: Mosquitto) -> None:
    for user, password in (
        ("meter-a1", "soil-o1-pass"),  # another device's password
        ("meter-a1", "meter-a1-pass "),
        ("ghost", "meter-a1-pass"),  # not in the registry
        (None, None),  # anonymous
    ):
        c = Client(broker.port, user, password)
        try:
            assert c.rc in (134, 135), (user, c.rc)  # bad user name or password / not authorized
        finally:
            c.c.loop_stop()


def test_gateway_reads_everything_also_through_a_shared_subscription(
    broker: Mosquitto, clients: dict[str, Client]
) -> None:
    shared = Client(broker.port, "gateway-2", PASSWORDS["gateway-2"])
    try:
        assert shared.subscribe("$share/gateways/tanzhang/v1/#") == 1
        clients["meter-a1"].publish(A_TOPIC, "from-a")
        clients["soil-o1"].publish(B_TOPIC, "from-b")
        assert shared.received_until("from-b") == [(A_TOPIC, "from-a"), (B_TOPIC, "from-b")]
        assert clients["gateway"].received_until("from-b") == [
            (A_TOPIC, "from-a"),
            (B_TOPIC, "from-b"),
        ]
        # the gateway may republish rejects on the dead-letter topic, not forge device data
        # 16: accepted, "no matching subscribers" (nobody listens to dead letters here)
        assert shared.publish("tanzhang/dead-letter/value_unknown", "{}") == 16
        assert shared.publish(A_TOPIC, "forged-by-gateway") == 135
    finally:
        shared.close()


def test_last_will_marks_the_device_offline(broker: Mosquitto, clients: dict[str, Client]) -> None:
    status = "tanzhang/v1/orchard-1/soil-o1/status"
    dev = Client(broker.port, "soil-o1", PASSWORDS["soil-o1"], topic=status, payload="offline")
    assert dev.rc == 0
    dev.c.publish(status, "online", qos=1, retain=True).wait_for_publish(WAIT)
    assert clients["gateway"].received_until("online") == [(status, "online")]
    dev.close(abrupt=True)
    assert clients["gateway"].received_until("offline") == [(status, "offline")]
    # retained: a gateway that connects later learns the state at once
    late = Client(broker.port, "gateway-2", PASSWORDS["gateway-2"])
    try:
        late.subscribe(status)
        msg = late.messages.get(timeout=WAIT)
        assert (msg.topic, msg.payload, msg.retain) == (status, b"offline", True)
    finally:
        late.close()


def test_monitor_reads_dead_letters_and_status_only(
    broker: Mosquitto, clients: dict[str, Client]
) -> None:
    mon = Client(broker.port, "monitor", PASSWORDS["monitor"])
    try:
        assert mon.rc == 0
        mon.subscribe("tanzhang/dead-letter/#")
        mon.subscribe("tanzhang/v1/#")  # granted, but only status topics are delivered
        clients["meter-a1"].publish(A_TOPIC, "data-not-for-monitor")
        clients["meter-a1"].publish("tanzhang/v1/line-a1/meter-a1/status", "online")
        clients["gateway"].publish("tanzhang/dead-letter/device_unknown", "dead-letter")
        got = mon.received_until("dead-letter")
        assert got == [
            ("tanzhang/v1/line-a1/meter-a1/status", "online"),
            ("tanzhang/dead-letter/device_unknown", "dead-letter"),
        ]
        assert mon.publish(A_TOPIC, "forged-by-monitor") == 135
    finally:
        mon.close()


# -- the examples of docs/protocol.md work as pasted -----------------------------------------

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def doc_examples() -> list[str]:
    """The ```sh blocks of docs/protocol.md that publish with mosquitto_pub."""
    blocks = re.findall(r"^```sh\n(.*?)^```", PROTOCOL_MD.read_text(encoding="utf-8"), re.M | re.S)
    return [b for b in blocks if "mosquitto_pub" in b]


def test_protocol_examples_publish_and_decode(tmp_path: Path) -> None:
    reg_path = tmp_path / "registry.toml"
    cli(reg_path, "add-entity", "factory-a", "--kind", "factory")
    cli(reg_path, "add-entity", "line-a1", "--kind", "line", "--parent", "factory-a")
    cli(reg_path, "add-entity", "orchard-cs1", "--kind", "orchard", "--attr", "area_mu=120",
        "--attr", "county=常山县")  # fmt: skip
    example_pass = "example-pass-1"
    cli(reg_path, "add-device", "meter-a1", "--entity", "line-a1", "--role",
        "electricity_meter", "--password", example_pass)  # fmt: skip
    cli(reg_path, "add-device", "terminal-cs1", "--entity", "orchard-cs1", "--role",
        "field_terminal", "--password", example_pass)  # fmt: skip
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    cli(reg_path, "export", "--passwd", str(pw), "--acl", str(acl),
        "--gateway-password", PASSWORDS["gateway"])  # fmt: skip
    server = Mosquitto(tmp_path / "mosquitto", password_file=pw, acl_file=acl).start()
    sub = None
    try:
        sub = Client(server.port, "gateway", PASSWORDS["gateway"])
        sub.subscribe("tanzhang/v1/#")
        examples = doc_examples()
        assert len(examples) >= 6
        env = {
            **os.environ,
            "MQTT_HOST": "127.0.0.1",
            "MQTT_PORT": str(server.port),
            "MQTT_PASS": example_pass,
        }
        for script in examples:
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert run.returncode == 0, f"{script}\n{run.stderr}"
        expected = sum(script.count("mosquitto_pub") for script in examples)
        received = [sub.messages.get(timeout=WAIT) for _ in range(expected)]
        decoder = Decoder(Registry.load(reg_path))
        now = clock.now_ms()
        outs = [decoder.decode(m.topic, m.payload, now) for m in received]
    finally:
        if sub is not None:
            sub.close()
        server.stop()
    reasons = [r.reason for out in outs for r in out.rejects]
    assert reasons == ["value_out_of_bounds"], [r.detail for o in outs for r in o.rejects]
    readings = [r for out in outs for r in out.readings]
    assert len(readings) == 6
    assert [r.values for r in readings if r.stamped] == [{"power_kw": 41.0}]  # the one without ts
    assert all(now - 300_000 < r.ts_ms <= now for r in readings)
    assert sorted(e.type for out in outs for e in out.events) == ["fertilizer_applied", "practice"]
    assert [o.status for o in outs if o.status] == ["online"]


# -- client ids are identities: no one takes over a gateway's persistent session -------------


class Session:
    """A paho MQTT 5 client with a persistent session (as the gateway connects)."""

    def __init__(self, port: int, user: str, password: str, client_id: str, *, clean: bool):
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connack: queue.Queue[tuple[int, bool]] = queue.Queue()
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        self.c.username_pw_set(user, password)
        self.c.on_connect = lambda c, u, f, rc, p: self.connack.put(
            (rc.value, bool(f.session_present))
        )
        self.c.on_message = lambda c, u, msg: self.messages.put(msg)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.c.connect("127.0.0.1", port, keepalive=30, clean_start=clean, properties=props)
        self.c.loop_start()
        self.rc, self.session_present = self.connack.get(timeout=WAIT)

    def drain(self, quiet_s: float) -> list[str]:
        """Payloads received until nothing arrives for ``quiet_s`` seconds."""
        got = []
        while True:
            try:
                got.append(self.messages.get(timeout=quiet_s).payload.decode())
            except queue.Empty:
                return got

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


DEPLOYED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"


@dataclass
class DeployedMosquitto(Mosquitto):
    """mosquitto run with the shipped ``deploy/mosquitto/mosquitto.conf``: only its ports,
    file paths and log destination are changed to this test's."""

    def _config(self) -> Path:
        health = free_port()
        swap = {
            "listener 1883": f"listener {self.port} 127.0.0.1",
            "listener 1880 127.0.0.1": f"listener {health} 127.0.0.1",
            "password_file /mosquitto/config/passwd": f"password_file {self.password_file}",
            "acl_file /mosquitto/config/acl": f"acl_file {self.acl_file}",
            "persistence_location /mosquitto/data/": f"persistence_location {self.folder}/",
            "log_dest stdout": f"log_dest file {self.folder}/mosquitto.log",
        }
        lines = DEPLOYED_CONF.read_text().splitlines()
        missing = set(swap) - set(lines)
        assert not missing, f"deploy/mosquitto/mosquitto.conf changed: {missing}"
        lines = [swap.get(line, line) for line in lines]
        if os.geteuid() == 0:
            lines.append("user root")  # see tests/servers.py
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf


@pytest.mark.parametrize("config", ["deployed", "test-fixture"])
def test_a_device_cannot_take_over_the_gateways_session(tmp_path: Path, config: str) -> None:
    """The probe of issue 10: while ``gateway-1`` is down its session queues the devices'
    messages; a device that connects with the client id ``gateway-1`` (resuming, then with a
    clean start that would wipe the session) gets none of them, and the gateway, back, gets
    all of them. mosquitto makes the user name the client id (``use_username_as_clientid``),
    in the shipped config and in the one tests/servers.py writes.
    """
    reg = tmp_path / "registry.toml"
    cli(reg, "add-entity", "factory-a", "--kind", "factory")
    cli(reg, "add-entity", "line-a1", "--kind", "line", "--parent", "factory-a")
    cli(reg, "add-device", "meter-a1", "--entity", "line-a1", "--role", "electricity_meter",
        "--password", PASSWORDS["meter-a1"])  # fmt: skip
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    cli(reg, "export", "--passwd", str(pw), "--acl", str(acl),
        "--gateway-user", "gateway-1", "--gateway-password", PASSWORDS["gateway"])  # fmt: skip
    kind = DeployedMosquitto if config == "deployed" else Mosquitto
    server = kind(tmp_path / "mosquitto", password_file=pw, acl_file=acl).start()
    sent = [f"reading-{i}" for i in range(200)]
    try:
        gw = Session(server.port, "gateway-1", PASSWORDS["gateway"], "gateway-1", clean=True)
        assert gw.rc == 0
        gw.c.subscribe("$share/gateways/tanzhang/v1/#", qos=1)
        time.sleep(0.3)
        gw.close()  # the gateway restarts: its session keeps what arrives meanwhile

        dev = Client(server.port, "meter-a1", PASSWORDS["meter-a1"])
        for payload in sent:
            assert dev.publish(A_TOPIC, payload) == 0
        dev.close()

        for clean in (False, True):  # resume the session, then start it over (a wipe)
            thief = Session(server.port, "meter-a1", PASSWORDS["meter-a1"], "gateway-1",
                            clean=clean)  # fmt: skip
            try:
                assert thief.rc == 0
                assert not thief.session_present, "the device resumed the gateway's session"
                assert thief.drain(1.0) == [], "the device received the gateway's messages"
            finally:
                thief.close()

        back = Session(server.port, "gateway-1", PASSWORDS["gateway"], "gateway-1", clean=False)
        try:
            assert back.rc == 0 and back.session_present
            got = back.drain(2.0)
        finally:
            back.close()
        assert sorted(got) == sorted(sent), f"{len(sent) - len(set(got))} messages lost"
    finally:
        server.stop()
