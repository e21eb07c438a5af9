"""The device registry: entities (factory, line, orchard, forest) and the devices that measure them.

The registry is a TOML file (``TANZHANG_REGISTRY``)::

    [[entities]]
    id = "factory-a"
    kind = "factory"
    industry_code = "C2710"          # GB/T 4754 industry class
    [[entities]]
    id = "line-a1"
    kind = "line"
    parent = "factory-a"
    baseline_start = "2025-01-01"
    baseline_end = "2025-12-31"
    [[devices]]
    id = "meter-a1"
    entity = "line-a1"
    role = "electricity_meter"
    password_hash = "$7$101$..."     # mosquitto PBKDF2-SHA512 hash, never the password

Attributes of each kind are documented in docs/registry.md. Credentials are stored as
mosquitto password hashes so that :func:`mosquitto_passwd_file` can export them unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from telemetry.contract import ID_RE

ENTITY_KINDS = ("factory", "line", "orchard", "forest")
#: Attributes an entity of each kind must carry.
REQUIRED_ATTRS: dict[str, tuple[str, ...]] = {
    "factory": (),
    "line": ("parent",),
    "orchard": ("area_mu", "county"),
    "forest": ("area_mu",),
}
DEVICE_ROLES = (
    "electricity_meter",
    "gas_meter",
    "steam_meter",
    "water_meter",
    "production_counter",
    "pv_meter",
    "weather_station",
    "soil_sensor",
    "pump_meter",
    "fuel_meter",
    "field_terminal",
    "multi_meter",
)


class RegistryError(ValueError):
    """The registry file or a change to it is invalid; the message says what to fix."""


@dataclass(slots=True)
class Entity:
    """An account holder: ``kind`` is factory, line, orchard or forest; ``attrs`` the rest."""

    id: str
    kind: str
    parent: str | None = None
    name: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.parent:
            out["parent"] = self.parent
        if self.name:
            out["name"] = self.name
        out.update(self.attrs)
        return out


@dataclass(slots=True)
class Device:
    """A publishing device: its entity, its role and its mosquitto password hash."""

    id: str
    entity: str
    role: str
    password_hash: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "entity": self.entity, "role": self.role}
        if self.password_hash:
            out["password_hash"] = self.password_hash
        out.update(self.attrs)
        return out


def mosquitto_hash(password: str, *, iterations: int = 101, salt: bytes | None = None) -> str:
    """Hash a password the way ``mosquitto_passwd`` (2.x) does: PBKDF2-SHA512, ``$7$`` format."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


class Registry:
    """Entities and devices, loaded from and saved to the registry TOML file."""

    def __init__(
        self, entities: list[Entity] | None = None, devices: list[Device] | None = None
    ) -> None:
        self.entities: dict[str, Entity] = {}
        self.devices: dict[str, Device] = {}
        for entity in entities or []:
            self.add_entity(entity)
        for device in devices or []:
            self.add_device(device)

    # -- loading and saving -------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Registry:
        """Read a registry file; a missing file is an empty registry."""
        p = Path(path)
        if not p.exists():
            return cls()
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise RegistryError(f"{p}: not valid TOML: {exc}") from None
        return cls.from_dict(doc, source=str(p))

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, source: str = "registry") -> Registry:
        reg = cls()
        for raw in doc.get("entities", []):
            raw = dict(raw)
            try:
                ent = Entity(
                    raw.pop("id"),
                    raw.pop("kind"),
                    raw.pop("parent", None),
                    raw.pop("name", None),
                    raw,
                )
            except KeyError as exc:
                raise RegistryError(f"{source}: an entity lacks {exc.args[0]!r}") from None
            reg.add_entity(ent, check_parent=False)
        for ent in reg.entities.values():
            reg._check_parent(ent)
        for raw in doc.get("devices", []):
            raw = dict(raw)
            try:
                dev = Device(
                    raw.pop("id"),
                    raw.pop("entity"),
                    raw.pop("role"),
                    raw.pop("password_hash", None),
                    raw,
                )
            except KeyError as exc:
                raise RegistryError(f"{source}: a device lacks {exc.args[0]!r}") from None
            reg.add_device(dev)
        return reg

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": [e.as_dict() for e in self.entities.values()],
            "devices": [d.as_dict() for d in self.devices.values()],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the registry atomically (temporary file, then rename)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_bytes(tomli_w.dumps(self.to_dict()).encode())
        os.replace(tmp, p)

    # -- changes --------------------------------------------------------------------------
    def add_entity(self, entity: Entity, *, check_parent: bool = True) -> Entity:
        if not ID_RE.match(entity.id):
            raise RegistryError(f"entity id {entity.id!r} must match [a-z0-9_-]{{1,64}}")
        if entity.id in self.entities:
            raise RegistryError(f"entity {entity.id!r} exists already")
        if entity.kind not in ENTITY_KINDS:
            raise RegistryError(
                f"entity {entity.id!r}: kind {entity.kind!r} is not one of {', '.join(ENTITY_KINDS)}"
            )
        for attr in REQUIRED_ATTRS[entity.kind]:
            if (
                attr == "parent"
                and not entity.parent
                or attr != "parent"
                and attr not in entity.attrs
            ):
                raise RegistryError(f"entity {entity.id!r} of kind {entity.kind} needs {attr!r}")
        if check_parent:
            self._check_parent(entity)
        self.entities[entity.id] = entity
        return entity

    def _check_parent(self, entity: Entity) -> None:
        if entity.parent and entity.parent not in self.entities:
            raise RegistryError(f"entity {entity.id!r}: parent {entity.parent!r} is not registered")

    def add_device(self, device: Device) -> Device:
        if not ID_RE.match(device.id):
            raise RegistryError(f"device id {device.id!r} must match [a-z0-9_-]{{1,64}}")
        if device.id in self.devices:
            raise RegistryError(f"device {device.id!r} exists already")
        if device.entity not in self.entities:
            raise RegistryError(f"device {device.id!r}: entity {device.entity!r} is not registered")
        if device.role not in DEVICE_ROLES:
            raise RegistryError(
                f"device {device.id!r}: role {device.role!r} is not one of {', '.join(DEVICE_ROLES)}"
            )
        self.devices[device.id] = device
        return device

    # -- lookups --------------------------------------------------------------------------
    def entity_of(self, device_id: str) -> str | None:
        """The entity a device is registered to, or None for an unknown device."""
        dev = self.devices.get(device_id)
        return dev.entity if dev else None

    def children(self, entity_id: str) -> list[Entity]:
        return [e for e in self.entities.values() if e.parent == entity_id]

    def devices_of(self, entity_id: str) -> list[Device]:
        return [d for d in self.devices.values() if d.entity == entity_id]


def mosquitto_passwd_file(registry: Registry, extra: dict[str, str] | None = None) -> str:
    """The mosquitto ``password_file`` for every device with credentials.

    extra : service users (gateway, simulator) -> password hash
    """
    lines = [f"{d.id}:{d.password_hash}" for d in registry.devices.values() if d.password_hash]
    lines += [f"{user}:{pw_hash}" for user, pw_hash in (extra or {}).items()]
    return "\n".join(lines) + "\n"


def mosquitto_acl_file(
    registry: Registry,
    *,
    prefix: str = "tanzhang/v1",
    gateway_user: str = "gateway",
    simulator_user: str | None = None,
) -> str:
    """The mosquitto ``acl_file``: each device may publish only under its own topics.

    A device ``d`` of entity ``e`` may write ``{prefix}/e/d/#`` and nothing else; the gateway
    reads everything under the prefix and writes the dead-letter topic; an optional simulator
    user may write anything under the prefix (demo and load tests only).
    """
    prefix = prefix.rstrip("/")
    out = [
        "# Generated by `tanzhang registry export`; do not edit by hand.",
        f"user {gateway_user}",
        f"topic read {prefix}/#",
        f"topic read $share/+/{prefix}/#",
        "topic write tanzhang/dead-letter/#",
        "topic read $SYS/#",
        "",
    ]
    if simulator_user:
        out += [f"user {simulator_user}", f"topic write {prefix}/#", ""]
    for dev in registry.devices.values():
        out += [f"user {dev.id}", f"topic write {prefix}/{dev.entity}/{dev.id}/#", ""]
    return "\n".join(out)
