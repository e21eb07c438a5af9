"""``tanzhang rejects list|replay`` on real servers: a message from a device not yet registered
is quarantined; once the registry has the device (reloaded by the running gateway without a
restart), replaying the quarantine stores the reading and empties it. A replay the broker
refuses (PUBACK reason code 135) keeps the message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway import rejects_cli
from mqttlink import publish_confirmed
from tests.gateway.helpers import (
    GATEWAY_PASSWORD,
    GATEWAY_USER,
    OTHER_GATEWAY_USER,
    REPLAY_PASSWORD,
    REPLAY_USER,
    count_points,
    publish_one,
    reading_line,
    secured_mosquitto,
    topic,
    user_url,
    wait_for,
    write_registry,
)
from tests.gateway.rig import running_gateway, settings_for, unique_db
from tests.servers import Influxd, Mosquitto

pytestmark = pytest.mark.servers


def test_list_then_replay_after_the_device_is_registered(
    mosquitto: Mosquitto,
    influxd_session: Influxd,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    db = unique_db("replay")
    settings = settings_for(mosquitto, influxd_session, tmp_path, db)
    payload = reading_line(42).encode()
    with running_gateway(settings) as agent:
        agent.watcher.interval_s = 0.2
        publish_one(mosquitto, topic("meter-new"), payload)
        wait_for(lambda: len(agent.store.rejects(reason="device_unknown")) == 1, 10, "quarantine")

        assert rejects_cli.main(settings, ["list", "--json"]) == 0
        (line,) = capsys.readouterr().out.splitlines()
        doc = json.loads(line)
        assert doc["reason"] == "device_unknown" and doc["topic"] == topic("meter-new")
        assert doc["device"] == "meter-new"

        assert rejects_cli.main(settings, ["list"]) == 0
        assert "device_unknown" in capsys.readouterr().out

        write_registry(tmp_path / "registry.toml", ["meter-0", "meter-new"])
        wait_for(lambda: agent.stats.registry_reloads >= 1, 10, "registry reload")
        assert rejects_cli.main(settings, ["replay", "--reason", "device_unknown", "--delete"]) == 0
        assert "replayed 1 message(s)" in capsys.readouterr().out
        wait_for(lambda: count_points(influxd_session, db) == 1, 10, "replayed reading stored")
        rows = influxd_session.query("SELECT energy_kwh_total, device FROM telemetry", db=db)[0][
            "values"
        ]
        assert rows[0][1:] == [42.0, "meter-new"]
        assert agent.store.rejects(reason="device_unknown") == []


def test_replay_without_a_broker_fails_cleanly(
    influxd_session: Influxd, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    settings = settings_for(mosquitto, influxd_session, tmp_path, unique_db("nobroker"))
    mosquitto.stop()
    from telemetry.model import Reject
    from telemetry.stores import open_store_from_settings

    store = open_store_from_settings(settings)
    store.ensure_ready()
    store.write(rejects=[Reject("device_unknown", "x", topic("m"), b"{}", 1_767_225_600_000)])
    store.close()
    assert rejects_cli.main(settings, ["replay"]) == 1


def test_replay_refused_by_the_broker_stays_in_the_quarantine(
    influxd_session: Influxd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the gateway's credentials (as compose runs them) the broker answers PUBACK 135
    "Not authorized": nothing is deleted and the reason is printed; with a user that may
    write device topics the message is replayed, stored and only then deleted."""
    write_registry(tmp_path / "registry.toml", ["meter-0"])
    broker = secured_mosquitto(tmp_path / "mosquitto", tmp_path / "registry.toml")
    db = unique_db("refused")
    gateway_url = user_url(broker, GATEWAY_USER, GATEWAY_PASSWORD)
    replay_url = user_url(broker, REPLAY_USER, REPLAY_PASSWORD)
    settings = settings_for(broker, influxd_session, tmp_path, db, mqtt_url=gateway_url)
    try:
        with running_gateway(settings) as agent:
            agent.watcher.interval_s = 0.2
            [why] = publish_confirmed(
                replay_url, [(topic("meter-new"), reading_line(7).encode())], client_id="dev"
            )
            assert why is None
            wait_for(lambda: len(agent.store.rejects()) == 1, 10, "quarantine")
            write_registry(tmp_path / "registry.toml", ["meter-0", "meter-new"])
            wait_for(lambda: agent.stats.registry_reloads >= 1, 10, "registry reload")

            # a gateway's credentials: another replica's, since replaying as the running
            # gateway's own user would take over its session (user name = client id)
            other_gateway = user_url(broker, OTHER_GATEWAY_USER, GATEWAY_PASSWORD)
            argv = ["replay", "--delete", "--mqtt-url", other_gateway]
            assert rejects_cli.main(settings, argv) == 1
            err = capsys.readouterr().err
            assert "kept in the quarantine" in err and "reason code 135" in err
            [kept] = agent.store.rejects()
            assert kept.reason == "device_unknown" and kept.device == "meter-new"
            assert count_points(influxd_session, db) == 0

            argv = ["replay", "--delete", "--mqtt-url", replay_url]
            assert rejects_cli.main(settings, argv) == 0
            assert "replayed 1 message(s)" in capsys.readouterr().out
            wait_for(lambda: count_points(influxd_session, db) == 1, 10, "replayed reading")
            assert agent.store.rejects() == []
    finally:
        broker.stop()
