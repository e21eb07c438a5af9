"""Settings from ``TANZHANG_*`` environment variables or a TOML file named by ``TANZHANG_CONFIG``.

Environment variables win over the file. Unset ``mqtt_url`` / ``influx_url`` mean the embedded
broker (amqtt) and the embedded SQLite store, so a fresh machine needs nothing but pip.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEV_SECRET = "change-me-dev-only"


class Settings(BaseSettings):
    """Everything the processes of tanzhang read at start."""

    model_config = SettingsConfigDict(env_prefix="TANZHANG_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    registry: Path | None = None  # default: {data_dir}/registry.toml

    mqtt_url: str | None = None  # mqtt://user:pass@host:port ; None = embedded amqtt broker
    mqtt_prefix: str = "tanzhang/v1"
    mqtt_client_id: str = "tanzhang-gateway-1"
    mqtt_share_group: str | None = None  # e.g. "gateways" for $share/gateways/...
    # MQTT 5 by default (Receive Maximum lets acknowledge-after-write batch; DESIGN trap 1);
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

    database_url: str | None = None  # accounts DB; default sqlite:///{data_dir}/accounts.db

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    secret_key: str = DEV_SECRET
    demo_api_key: str | None = None

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
    def _mqtt_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("mqtt://", "mqtts://")):
            raise ValueError("TANZHANG_MQTT_URL must look like mqtt://user:pass@host:port")
        return v

    @field_validator("influx_url")
    @classmethod
    def _influx_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("TANZHANG_INFLUX_URL must look like http://host:8086")
        return v

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("TANZHANG_SECRET_KEY must be set to a real secret in production")
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

    def describe(self) -> dict[str, Any]:
        """Settings safe to log (no secrets)."""
        out = self.model_dump(
            exclude={"secret_key", "influx_token", "influx_password", "demo_api_key"}
        )
        if self.mqtt_url and "@" in self.mqtt_url:
            out["mqtt_url"] = "mqtt://***@" + self.mqtt_url.split("@", 1)[1]
        return out
