"""Settings from ``TANZHANG_*`` environment variables or a TOML file named by ``TANZHANG_CONFIG``.

Environment variables win over the file. Unset ``mqtt_url`` / ``influx_url`` mean the embedded
broker (amqtt) and the embedded SQLite store, so a fresh machine needs nothing but pip.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from access.keys import check_key_shape
from mqttlink import MqttUrlError, parse_mqtt_url
from sitetime.calendar import SiteCalendar, set_site_calendar
from sitetime.clock import OffsetClock, parse_instant, set_clock
from telemetry.redact import redact_url

#: settings never logged or shown (describe() says only whether each is set)
SECRET_FIELDS = ("influx_token", "influx_password", "demo_api_key")


class Settings(BaseSettings):
    """Everything the processes of tanzhang read at start."""

    # hide_input_in_errors: a ValidationError's text would otherwise quote the refused value,
    # which may be a URL with its password
    model_config = SettingsConfigDict(
        env_prefix="TANZHANG_", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "production"] = "development"
    # the site calendar: IANA zone of every local day, month and year (sitetime.calendar)
    site_tz: str = "Asia/Shanghai"
    # start the process's clock at this RFC 3339 instant (it then runs on); demos and tests
    # only, refused in production (sitetime.clock.OffsetClock)
    now: str | None = None
    data_dir: Path = Path("data")
    registry: Path | None = None  # default: {data_dir}/registry.toml

    # mqtt://user:pass@host:port, or mqtts://...[?cafile=PEM] for TLS (mqttlink); None =
    # embedded amqtt broker
    mqtt_url: str | None = None
    mqtt_prefix: str = "tanzhang/v1"
    mqtt_client_id: str = "tanzhang-gateway-1"
    mqtt_share_group: str | None = None  # e.g. "gateways" for $share/gateways/...
    # MQTT 5 by default (Receive Maximum lets acknowledge-after-write batch; docs/design-notes.md trap 1);
    # "3.1.1" for the embedded amqtt broker, which speaks only 3.1.1 (trap 6).
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    gateway_http_port: int = Field(9101, ge=0, le=65535)  # /metrics and /health; 0 = off
    # where the API finds a gateway's /health (default: this machine's gateway_http_port)
    gateway_health_url: str | None = None

    influx_url: str | None = None  # http://host:port ; None = embedded SQLite store
    influx_db: str = "tanzhang"
    influx_token: str | None = None
    influx_user: str | None = None
    influx_password: str | None = None
    influx_retention: str = "104w"
    # the embedded SQLite store's retention (InfluxQL duration); INF keeps everything
    embedded_retention: str = "INF"

    database_url: str | None = None  # accounts DB; default sqlite:///{data_dir}/accounts.db

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    demo_api_key: str | None = None
    # the programme's Ed25519 key (PKCS#8 PEM) that signs carbon credit reports; required in
    # production, generated on first use at {data_dir}/report-signing-key.pem in development
    report_signing_key: Path | None = None

    batch_size: int = Field(1000, ge=1, le=65535)
    batch_age_ms: int = Field(200, ge=1)
    spool_max_bytes: int = Field(1 << 30, ge=1 << 20)
    # largest MQTT payload the gateway decodes (the contract's 64 KiB); larger ones are
    # refused before decoding, and a reject keeps at most this much of its payload
    max_payload_bytes: int = Field(64 * 1024, ge=1024, le=16 << 20)
    # a store write taking longer than this [s] counts as a stalled store: health degraded,
    # live batches spooled
    store_slow_s: float = Field(5.0, gt=0, le=300)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("TANZHANG_CONFIG")
        if config:
            if not Path(config).is_file():
                raise ValueError(f"TANZHANG_CONFIG={config!r} is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, v: str | None) -> str | None:
        if v:
            try:
                parse_mqtt_url(v)  # the one parser the gateway, API and simulators use
            except MqttUrlError as exc:
                raise ValueError(f"TANZHANG_MQTT_URL: {exc}") from None
        return v

    @field_validator("demo_api_key")
    @classmethod
    def _demo_key_shape(cls, v: str | None) -> str | None:
        if v:
            try:
                check_key_shape(v)
            except ValueError as exc:
                raise ValueError(
                    f"TANZHANG_DEMO_API_KEY: {exc}; or leave it unset and `tanzhang run` makes one"
                ) from None
        return v

    @field_validator("influx_url")
    @classmethod
    def _influx_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("TANZHANG_INFLUX_URL must look like http://host:8086")
        return v

    @field_validator("site_tz")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"TANZHANG_SITE_TZ={v!r} is not an IANA time zone (e.g. Asia/Shanghai)"
            ) from None
        return v

    @field_validator("now")
    @classmethod
    def _instant(cls, v: str | None) -> str | None:
        if v:
            try:
                parse_instant(v)
            except ValueError:
                raise ValueError(
                    f"TANZHANG_NOW={v!r} must be an RFC 3339 instant with offset, "
                    "e.g. 2026-06-15T10:00:00+08:00"
                ) from None
        return v

    def apply_time(self) -> None:
        """Put the site calendar (and, with ``now`` set, the shifted clock) in force for this
        process: the composition root calls it once, before anything reads the time."""
        set_site_calendar(SiteCalendar(self.site_tz))
        if self.now:
            set_clock(OffsetClock(parse_instant(self.now)))

    @model_validator(mode="after")
    def _no_clock_override_in_production(self) -> Settings:
        if self.environment == "production" and self.now:
            raise ValueError("TANZHANG_NOW is for demos and tests; unset it in production")
        return self

    @model_validator(mode="after")
    def _report_key_in_production(self) -> Settings:
        if self.environment == "production" and not self.report_signing_key:
            raise ValueError(
                "TANZHANG_REPORT_SIGNING_KEY must name the Ed25519 key file (PEM) that signs "
                "carbon credit reports in production; it is never generated there "
                "(openssl genpkey -algorithm ed25519 -out FILE)"
            )
        return self

    @property
    def registry_path(self) -> Path:
        return self.registry or self.data_dir / "registry.toml"

    @property
    def accounts_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'accounts.db').resolve()}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool" / self.mqtt_client_id

    @property
    def embedded_store_path(self) -> Path:
        return self.data_dir / "telemetry.sqlite"

    def describe_text(self) -> str:
        """:meth:`describe` as ``name=value`` pairs on one line (the start-up log line)."""
        return " ".join(f"{k}={v}" for k, v in self.describe().items())

    def describe(self) -> dict[str, Any]:
        """Settings safe to log: no password, token or key, and every URL masked.

        Secret fields show only whether they are set; every ``*_url`` keeps its scheme, user,
        host, port and path, with the password and secret query parameters replaced by
        ``***`` (:func:`telemetry.redact.redact_url`).
        """
        out = self.model_dump(exclude=set(SECRET_FIELDS))
        for name in SECRET_FIELDS:
            out[name] = "set" if getattr(self, name) else None
        for name, value in out.items():
            if name.endswith("_url") and isinstance(value, str):
                out[name] = redact_url(value)
        return out
