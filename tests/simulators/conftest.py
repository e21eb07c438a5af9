"""Shared fixtures of the simulator tests: a demo fleet pinned to a fixed day."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from simulators.fleet import Fleet, demo_fleet
from simulators.messages import date_ms
from telemetry.contract import Decoder
from telemetry.registry import Registry

TODAY = date(2026, 6, 30)


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return demo_fleet(7, today=TODAY)


@pytest.fixture(scope="session")
def decoder(fleet: Fleet) -> Decoder:
    registry = Registry.from_dict(tomllib.loads(fleet.registry_toml()))
    return Decoder(registry)


def ms(d: date, hour: float = 0.0) -> int:
    return date_ms(d, hour)
