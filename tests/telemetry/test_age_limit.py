"""The decoder's age limit follows the store's retention; the stores' retention settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tanzhang.settings import Settings
from telemetry.contract import (
    NO_RETENTION_MAX_AGE_MS,
    ContractError,
    age_limit,
    age_limit_of,
    decode_event,
    parse_ts,
)
from telemetry.influx import InfluxStore
from telemetry.sqlite import SqliteStore
from telemetry.stores import open_store_from_settings

DAY = 86_400_000
NOW = 1_796_270_400_000  # 2026-12-03T04:00:00Z


def test_a_retention_is_the_limit_and_named_in_the_reject() -> None:
    limit = age_limit(104 * 7 * DAY)
    assert limit.ms == 728 * DAY
    assert parse_ts(NOW - 727 * DAY, NOW, limit.ms, limit.text) == NOW - 727 * DAY
    with pytest.raises(ContractError) as exc:
        parse_ts(NOW - 800 * DAY, NOW, limit.ms, limit.text)
    assert exc.value.reason == "ts_too_old"
    assert "the store's retention of 728 days (104w)" in exc.value.detail
    assert "30 days" in age_limit(30 * DAY).text and "w)" not in age_limit(30 * DAY).text


def test_no_retention_means_ten_years() -> None:
    limit = age_limit(0)
    assert limit.ms == NO_RETENTION_MAX_AGE_MS == 3653 * DAY
    assert parse_ts(NOW - 800 * DAY, NOW, limit.ms, limit.text) == NOW - 800 * DAY
    with pytest.raises(ContractError, match="without retention"):
        decode_event(
            "e",
            "d",
            {"id": "x", "type": "harvest", "ts": 946_684_800_000},
            NOW,
            limit.ms,
            limit.text,
        )


def test_the_limit_of_each_store(tmp_path: Path) -> None:
    assert age_limit_of(SqliteStore(tmp_path / "a.sqlite", retention=None)).ms == 3653 * DAY
    assert age_limit_of(SqliteStore(tmp_path / "b.sqlite", retention="30d")).ms == 30 * DAY
    assert age_limit_of(InfluxStore("http://127.0.0.1:1", retention="104w")).ms == 728 * DAY
    assert age_limit_of(InfluxStore("http://127.0.0.1:1", retention="INF")).ms == 3653 * DAY
    assert age_limit_of(InfluxStore("http://127.0.0.1:1", retention=None)).ms == 3653 * DAY
    assert age_limit_of(object()).ms == 3653 * DAY  # a store that says nothing keeps all


def test_settings_give_influxdb_its_retention_and_the_embedded_store_none(tmp_path: Path) -> None:
    embedded = open_store_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(embedded, SqliteStore) and embedded.retention_ms == 0
    embedded.close()
    kept = open_store_from_settings(Settings(data_dir=tmp_path, embedded_retention="30d"))
    assert isinstance(kept, SqliteStore) and kept.retention_ms == 30 * DAY
    kept.close()
    influx = open_store_from_settings(
        Settings(data_dir=tmp_path, influx_url="http://127.0.0.1:1", influx_retention="52w")
    )
    assert isinstance(influx, InfluxStore) and influx.retention_ms == 364 * DAY
