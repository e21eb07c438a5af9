"""Shared fixtures: real mosquitto and influxd on free loopback ports in temporary folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.factory_b_demo import factory_b_demo  # noqa: F401 - a session fixture
from tests.servers import Influxd, Mosquitto


@pytest.fixture
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A fresh mosquitto broker for one test (persistence on, large queues)."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influxd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """One influxd for the whole session; tests use their own database names."""
    server = Influxd(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


@pytest.fixture
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """A fresh influxd for one test (for tests that stop or restart it)."""
    server = Influxd(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()
