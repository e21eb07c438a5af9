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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
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
#: Known attributes: name -> (kinds that may carry it, type). ``pos`` is a number > 0,
#: ``date`` an ISO date (``"2025-01-01"`` or a TOML date; stored as the ISO string). Other
#: attributes are kept as they are (e.g. ``output_unit``, ``grid_factor_key``).
ATTR_SPECS: dict[str, tuple[tuple[str, ...], str]] = {
    "area_mu": (("orchard", "forest", "factory"), "pos"),
    "county": (("orchard", "forest", "factory"), "str"),
    "species": (("forest",), "str"),
    "forest_species": (("forest",), "str"),
    "orchard_mature": (("orchard",), "bool"),
    "practices": (("orchard",), "practices"),
    "industry_code": (("factory", "line"), "str"),
    "value_added_10k_cny": (("factory", "line"), "pos"),
    "benchmark_tco2e_per_10k_cny": (("factory", "line"), "pos"),
    "output_unit": (("factory", "line"), "str"),
    "baseline_start": (("line",), "date"),
    "baseline_end": (("line",), "date"),
    "intervention_date": (("line",), "date"),
    "emc": (("line",), "emc"),
}
PRACTICES = ("grass_cover", "straw_return", "organic_substitution")
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


def _check_attrs(entity: Entity) -> None:
    """Check the known attributes of ``entity``; ISO dates are normalised to strings."""
    where = f"entity {entity.id!r}"
    for name, raw in list(entity.attrs.items()):
        if name not in ATTR_SPECS:
            continue
        kinds, typ = ATTR_SPECS[name]
        if entity.kind not in kinds:
            raise RegistryError(f"{where}: {name!r} does not apply to a {entity.kind}")
        if typ == "pos":
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw > 0:
                raise RegistryError(f"{where}: {name} must be a number > 0, not {raw!r}")
        elif typ == "str":
            if not isinstance(raw, str) or not raw.strip():
                raise RegistryError(f"{where}: {name} must be a non-empty string, not {raw!r}")
        elif typ == "bool":
            if not isinstance(raw, bool):
                raise RegistryError(f"{where}: {name} must be true or false, not {raw!r}")
        elif typ == "date":
            if isinstance(raw, datetime) or not isinstance(raw, str | date):
                raise RegistryError(f"{where}: {name} must be a date like 2025-01-01, not {raw!r}")
            try:
                day = raw if isinstance(raw, date) else date.fromisoformat(raw)
            except ValueError:
                raise RegistryError(
                    f"{where}: {name} must be a date like 2025-01-01, not {raw!r}"
                ) from None
            entity.attrs[name] = day.isoformat()
        elif typ == "emc":
            # an energy-management contract (accounting/emc.py, docs/registry.md)
            from accounting.emc import EmcContractError, normalised, parse_contract

            try:
                parse_contract(raw)
            except EmcContractError as exc:
                raise RegistryError(f"{where}: emc: {exc}") from None
            entity.attrs[name] = normalised(raw)
            after = entity.attrs.get("intervention_date")
            if after is None:
                raise RegistryError(
                    f"{where}: emc needs an intervention_date: the contract shares the savings "
                    "measured against the baseline before it"
                )
        elif typ == "practices":
            ok = isinstance(raw, dict) and all(
                k in PRACTICES and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                for k, v in raw.items()
            )
            if not ok:
                raise RegistryError(
                    f"{where}: practices must map {', '.join(PRACTICES)} to an area >= 0 [mu]"
                )
    start, end = entity.attrs.get("baseline_start"), entity.attrs.get("baseline_end")
    if (start is None) != (end is None):
        raise RegistryError(f"{where}: give both baseline_start and baseline_end, or neither")
    if start is not None and not start < end:
        raise RegistryError(f"{where}: baseline_start {start} must be before baseline_end {end}")
    after = entity.attrs.get("intervention_date")
    if after is not None and end is not None and after < end:
        raise RegistryError(
            f"{where}: intervention_date {after} falls inside the baseline (ends {end})"
        )


def _text(raw: Any, what: str) -> str:
    if not isinstance(raw, str):
        raise RegistryError(f"{what} must be a string, not {raw!r}")
    return raw


def is_mosquitto_hash(text: Any) -> bool:
    """True when ``text`` has the shape of a mosquitto 2.x ``$7$`` (PBKDF2-SHA512) hash."""
    if not isinstance(text, str):
        return False
    parts = text.split("$")
    if len(parts) != 5 or parts[:2] != ["", "7"] or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        digest = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    return int(parts[2]) > 0 and len(salt) > 0 and len(digest) == 64


def mosquitto_hash_matches(password: str, pw_hash: str) -> bool:
    """True when ``password`` hashes to ``pw_hash`` (a mosquitto ``$7$`` hash)."""
    if not is_mosquitto_hash(pw_hash):
        return False
    _, _, iterations, salt, digest = pw_hash.split("$")
    again = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(salt), int(iterations)
    )
    return secrets.compare_digest(again, base64.b64decode(digest))


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
        try:
            return cls.from_dict(doc, source=str(p))
        except RegistryError as exc:
            if str(exc).startswith(str(p)):
                raise
            raise RegistryError(f"{p}: {exc}") from None

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, source: str = "registry") -> Registry:
        reg = cls()
        for key in ("entities", "devices"):
            tables = doc.get(key, [])
            if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
                raise RegistryError(f"{source}: {key} must be an array of tables ([[{key}]])")
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
        if not isinstance(entity.id, str) or not ID_RE.match(entity.id):
            raise RegistryError(f"entity id {entity.id!r} must match [a-z0-9_-]{{1,64}}")
        if entity.parent is not None:
            _text(entity.parent, f"entity {entity.id!r}: parent")
        if entity.name is not None:
            _text(entity.name, f"entity {entity.id!r}: name")
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
        _check_attrs(entity)
        if check_parent:
            self._check_parent(entity)
        self.entities[entity.id] = entity
        return entity

    def _check_parent(self, entity: Entity) -> None:
        parent = entity.parent
        if not parent:  # only a line needs one, and add_entity has made sure it has it
            return
        if parent not in self.entities:
            raise RegistryError(f"entity {entity.id!r}: parent {parent!r} is not registered")
        if entity.kind == "line" and self.entities[parent].kind != "factory":
            raise RegistryError(
                f"entity {entity.id!r}: a line's parent must be a factory, "
                f"{parent!r} is a {self.entities[parent].kind}"
            )
        if parent == entity.id:
            raise RegistryError(f"entity {entity.id!r} cannot be its own parent")

    def add_device(self, device: Device) -> Device:
        if not isinstance(device.id, str) or not ID_RE.match(device.id):
            raise RegistryError(f"device id {device.id!r} must match [a-z0-9_-]{{1,64}}")
        if device.password_hash is not None and not is_mosquitto_hash(device.password_hash):
            raise RegistryError(
                f"device {device.id!r}: password_hash must be a mosquitto $7$ hash "
                "(set passwords with `tanzhang registry add-device --password`)"
            )
        if device.id in self.devices:
            raise RegistryError(f"device {device.id!r} exists already")
        _text(device.entity, f"device {device.id!r}: entity")
        _text(device.role, f"device {device.id!r}: role")
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
    for user, pw_hash in (extra or {}).items():
        if user in registry.devices:
            raise RegistryError(
                f"service user {user!r} has the id of a device: choose another name"
            )
        if not ID_RE.match(user) or not is_mosquitto_hash(pw_hash):
            raise RegistryError(f"service user {user!r} needs an id-like name and a $7$ hash")
    lines = [f"{d.id}:{d.password_hash}" for d in registry.devices.values() if d.password_hash]
    lines += [f"{user}:{pw_hash}" for user, pw_hash in (extra or {}).items()]
    return "\n".join(lines) + "\n"


def mosquitto_acl_file(
    registry: Registry,
    *,
    prefix: str = "tanzhang/v1",
    gateway_user: str | Sequence[str] = "gateway",
    simulator_user: str | None = None,
    monitor_user: str | None = None,
    replay_user: str | None = None,
) -> str:
    """The mosquitto ``acl_file``: each device may publish only under its own topics.

    A device ``d`` of entity ``e`` may write ``{prefix}/e/d/#`` and nothing else; each gateway
    user (one per replica, e.g. ``gateway-1``, ``gateway-2``) reads everything under the
    prefix and writes the dead-letter topic; an optional simulator user may write anything
    under the prefix (demo and load tests only); an optional replay user may write anything
    under the prefix (``tanzhang rejects replay`` and the API's replay); an optional monitor
    user may read the dead-letter topics and every device's status.

    The broker must run with ``use_username_as_clientid true`` (docs/registry.md): a user
    name is then the only client id its holder can have, so no device can take over a
    gateway's persistent session.
    """
    prefix = prefix.rstrip("/")
    gateways = [gateway_user] if isinstance(gateway_user, str) else list(gateway_user)
    services = [*gateways, simulator_user, monitor_user, replay_user]
    named = [u for u in services if u is not None]
    if len(set(named)) != len(named):
        raise RegistryError("each service user needs a name of its own: " + ", ".join(named))
    for user in named:
        if user in registry.devices:
            raise RegistryError(
                f"service user {user!r} has the id of a device: choose another name"
            )
    out = ["# Generated by `tanzhang registry export`; do not edit by hand."]
    for gateway in gateways:
        out += [
            f"user {gateway}",
            f"topic read {prefix}/#",
            f"topic read $share/+/{prefix}/#",
            "topic write tanzhang/dead-letter/#",
            "topic read $SYS/#",
            "",
        ]
    if simulator_user:
        out += [f"user {simulator_user}", f"topic write {prefix}/#", ""]
    if replay_user:
        out += [f"user {replay_user}", f"topic write {prefix}/#", ""]
    if monitor_user:
        out += [
            f"user {monitor_user}",
            "topic read tanzhang/dead-letter/#",
            f"topic read {prefix}/+/+/status",
            "",
        ]
    for dev in registry.devices.values():
        out += [f"user {dev.id}", f"topic write {prefix}/{dev.entity}/{dev.id}/#", ""]
    return "\n".join(out)
