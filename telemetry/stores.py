"""Open the telemetry store the settings name: InfluxDB when a URL is set, else embedded SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telemetry.influx import InfluxStore
from telemetry.sqlite import SqliteStore
from telemetry.store import TelemetryStore


def open_store(
    influx_url: str | None,
    *,
    db: str = "tanzhang",
    sqlite_path: str | Path | None = None,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    retention: str | None = "104w",
    manage_schema: bool | None = None,
) -> TelemetryStore:
    """The store for these settings; does not contact the server.

    influx_url : ``http://host:8086`` for InfluxDB (1.x API), None for the embedded store
    db : InfluxDB database (2.x/3.x: the database name mapped to a bucket)
    sqlite_path : the embedded store's file (required when ``influx_url`` is None)
    token : InfluxDB 2.x/3.x token (``Authorization: Token ...``)
    user, password : InfluxDB 1.x credentials
    retention : InfluxQL duration of data kept (``104w``); None keeps everything / leaves the
        server's policy alone
    manage_schema : InfluxDB only: create the database and retention policy in
        ``ensure_ready()``; default True without a token (1.x), False with one (2.x/3.x,
        where an admin creates the bucket and its DBRP mapping)

    Call ``ensure_ready()`` before writing (the gateway does at start and again after the
    store comes back); it raises StoreUnavailable while InfluxDB is down.
    """
    if influx_url:
        return InfluxStore(
            influx_url,
            db=db,
            token=token,
            user=user,
            password=password,
            retention=retention,
            manage_schema=token is None if manage_schema is None else manage_schema,
        )
    if sqlite_path is None:
        raise ValueError("the embedded store needs sqlite_path when no influx_url is given")
    return SqliteStore(sqlite_path, retention=retention)


def open_store_from_settings(settings: Any) -> TelemetryStore:
    """:func:`open_store` from a ``tanzhang.settings.Settings`` (duck-typed: no import upward).

    Retention: InfluxDB's is ``influx_retention`` (104w); the embedded store's is
    ``embedded_retention``, INF (keep everything) by default.
    """
    retention = (
        settings.influx_retention
        if settings.influx_url
        else getattr(settings, "embedded_retention", "INF")
    )
    return open_store(
        settings.influx_url,
        db=settings.influx_db,
        sqlite_path=settings.embedded_store_path,
        token=settings.influx_token,
        user=settings.influx_user,
        password=settings.influx_password,
        retention=retention,
    )
