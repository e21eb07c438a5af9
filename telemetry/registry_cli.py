"""``tanzhang registry``: list and change the device registry, export mosquitto credentials.

Subcommands (see docs/registry.md)::

    list [--json]
    add-entity ID --kind K [--parent P] [--name N] [--attr key=value ...]
    add-device ID --entity E --role R [--password P | --generate-password] [--attr key=value ...]
    set-password ID (--password P | --generate-password)
    remove-device ID
    remove-entity ID
    export --passwd FILE --acl FILE [--prefix P]
           [--gateway-user U ...] (--gateway-password P | --gateway-password-hash H | --no-gateway)
           [--simulator-user U (--simulator-password P | --simulator-password-hash H)]
           [--replay-user U (--replay-password P | --replay-password-hash H)]
           [--monitor-user U (--monitor-password P | --monitor-password-hash H)]
           [--passwd-mode 600] [--passwd-owner UID[:GID]]
    check

``--password -`` reads the password from the first line of standard input. Passwords are never
stored: the registry keeps the mosquitto ``$7$`` hash only, and a generated password is
printed once. Exit status: 0 done, 1 the registry file could not be written, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, NoReturn, TextIO

from telemetry.contract import DEFAULT_PREFIX
from telemetry.registry import (
    DEVICE_ROLES,
    ENTITY_KINDS,
    Device,
    Entity,
    Registry,
    RegistryError,
    is_mosquitto_hash,
    mosquitto_acl_file,
    mosquitto_hash,
    mosquitto_passwd_file,
)

EXIT_OK, EXIT_IO, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input on the command line; the message says what to change."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tanzhang registry",
        description="List and change the device registry; export mosquitto password and ACL files.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="entities and devices as a table")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("add-entity", help="add a factory, line, orchard or forest")
    p.add_argument("id")
    p.add_argument("--kind", required=True, choices=ENTITY_KINDS)
    p.add_argument("--parent", help="parent entity id (a line's factory)")
    p.add_argument("--name", help="display name, e.g. 常山胡柚基地")
    p.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="attribute; VALUE is read as a TOML value when it parses (35.5, true, 2025-01-01)",
    )

    p = sub.add_parser("add-device", help="add a device of an entity")
    p.add_argument("id")
    p.add_argument("--entity", required=True)
    p.add_argument("--role", required=True, choices=DEVICE_ROLES)
    _password_options(p, required=False)
    p.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("set-password", help="set or rotate a device's password")
    p.add_argument("id")
    _password_options(p, required=True)

    p = sub.add_parser("export", help="write mosquitto password_file and acl_file")
    p.add_argument("--passwd", required=True, type=Path, help="password file to write")
    p.add_argument("--acl", required=True, type=Path, help="ACL file to write")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"topic prefix ({DEFAULT_PREFIX})")
    p.add_argument("--passwd-mode", default="600", help="octal mode of the password file (600)")
    p.add_argument(
        "--gateway-user",
        action="append",
        metavar="USER",
        help="a gateway replica's user, which is also its client id (repeat for each replica: "
        "--gateway-user gateway-1 --gateway-user gateway-2; default: gateway)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--gateway-password", help="the gateway users' password ('-' reads stdin)")
    g.add_argument("--gateway-password-hash", help="the gateway users' mosquitto $7$ hash")
    g.add_argument(
        "--no-gateway", action="store_true", help="leave the gateway out of the password file"
    )
    p.add_argument(
        "--passwd-owner",
        metavar="UID[:GID]",
        help="chown the password file, e.g. 1883:1883 for the eclipse-mosquitto image",
    )
    for role, what in (
        ("simulator", "a user that may publish anything under the prefix (demos, load tests)"),
        ("replay", "a user that may republish quarantined messages (rejects replay, the API)"),
        ("monitor", "a user that may read the dead-letter topics and device status"),
    ):
        p.add_argument(f"--{role}-user", help=what)
        s = p.add_mutually_exclusive_group()
        s.add_argument(f"--{role}-password")
        s.add_argument(f"--{role}-password-hash")

    p = sub.add_parser("remove-device", help="remove a device (it can no longer log in)")
    p.add_argument("id")
    p = sub.add_parser("remove-entity", help="remove an entity without devices or children")
    p.add_argument("id")

    sub.add_parser("check", help="validate the registry file")
    return parser


def _password_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--password", help="the device's MQTT password ('-' reads stdin)")
    g.add_argument(
        "--generate-password", action="store_true", help="generate one and print it once"
    )


def parse_attrs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value that parses as TOML keeps its type, else it is text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--attr {pair!r}: write KEY=VALUE, e.g. area_mu=35.5")
        if key in ("id", "kind", "parent", "name", "entity", "role", "password_hash"):
            raise UsageError(f"--attr {key}: use the option of that name instead")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out[key] = value
    return out


def _read_password(value: str, stdin: TextIO) -> str:
    if value == "-":
        value = stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError("the password is empty")
    if len(value) < 8:
        raise UsageError("a password needs at least 8 characters")
    return value


def _credentials(args: argparse.Namespace, stdout: TextIO, stdin: TextIO) -> str | None:
    """The password hash to store, printing a generated password once."""
    if args.generate_password:
        password = secrets.token_urlsafe(18)
        stdout.write(f"password for {args.id} (shown once; give it to the device): {password}\n")
        return mosquitto_hash(password)
    if args.password is not None:
        return mosquitto_hash(_read_password(args.password, stdin))
    return None


def _owner(text: str) -> tuple[int, int]:
    uid, _, gid = text.partition(":")
    if not uid.isdigit() or (gid and not gid.isdigit()):
        raise UsageError(f"--passwd-owner {text!r}: give numeric UID[:GID], e.g. 1883:1883")
    return int(uid), int(gid) if gid else -1


def _write_atomic(path: Path, text: str, mode: int, owner: tuple[int, int] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if owner is not None:
            os.chown(tmp, *owner)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _width(text: str) -> int:
    """Terminal columns of ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    )


def _listing(reg: Registry) -> str:
    ents = [["ENTITY", "KIND", "PARENT", "NAME", "ATTRIBUTES"]]
    for e in reg.entities.values():
        attrs = " ".join(f"{k}={v}" for k, v in e.attrs.items())
        ents.append([e.id, e.kind, e.parent or "-", e.name or "-", attrs or "-"])
    devs = [["DEVICE", "ENTITY", "ROLE", "PASSWORD"]]
    for d in reg.devices.values():
        devs.append([d.id, d.entity, d.role, "set" if d.password_hash else "none"])
    return (
        f"{_table(ents)}\n\n{_table(devs)}\n\n"
        f"{len(reg.entities)} entities, {len(reg.devices)} devices\n"
    )


def _public(reg: Registry) -> dict[str, Any]:
    doc = reg.to_dict()
    for dev in doc["devices"]:
        dev["has_password"] = bool(dev.pop("password_hash", None))
    return doc


def _service_hash(
    user: str, password: str | None, pw_hash: str | None, stdin: TextIO
) -> str | None:
    if pw_hash is not None:
        if not is_mosquitto_hash(pw_hash):
            raise UsageError(f"the hash given for {user!r} is not a mosquitto $7$ hash")
        return pw_hash
    if password is not None:
        return mosquitto_hash(_read_password(password, stdin))
    return None


def _export(
    reg: Registry, args: argparse.Namespace, stdout: TextIO, stderr: TextIO, stdin: TextIO
) -> int:
    try:
        mode = int(args.passwd_mode, 8)
    except ValueError:
        raise UsageError(f"--passwd-mode {args.passwd_mode!r} is not an octal mode") from None
    extra: dict[str, str] = {}
    gateways = list(dict.fromkeys(args.gateway_user or ["gateway"]))
    gw = _service_hash(gateways[0], args.gateway_password, args.gateway_password_hash, stdin)
    if gw is None and not args.no_gateway:
        raise UsageError(
            f"export needs --gateway-password or --gateway-password-hash (the gateway connects "
            f"as {' / '.join(gateways)}), or --no-gateway to export device users only"
        )
    if gw is not None:
        extra.update(dict.fromkeys(gateways, gw))
    for role in ("simulator", "replay", "monitor"):
        user = getattr(args, f"{role}_user")
        password = getattr(args, f"{role}_password")
        pw_hash = getattr(args, f"{role}_password_hash")
        if not user:
            if password or pw_hash:
                raise UsageError(f"--{role}-password needs --{role}-user")
            continue
        if user in extra or user in gateways:
            raise UsageError(f"--{role}-user {user!r}: each service needs a user name of its own")
        found = _service_hash(user, password, pw_hash, stdin)
        if found is None:
            raise UsageError(f"--{role}-user needs --{role}-password or --{role}-password-hash")
        extra[user] = found
    owner = _owner(args.passwd_owner) if args.passwd_owner else None
    passwd = mosquitto_passwd_file(reg, extra)
    acl = mosquitto_acl_file(
        reg,
        prefix=args.prefix,
        gateway_user=gateways,
        simulator_user=args.simulator_user,
        monitor_user=args.monitor_user,
        replay_user=args.replay_user,
    )
    _write_atomic(args.passwd, passwd, mode, owner)
    _write_atomic(args.acl, acl, 0o644)
    without = [d.id for d in reg.devices.values() if not d.password_hash]
    stdout.write(
        f"wrote {args.passwd} ({len(reg.devices) - len(without)} devices"
        f"{', ' + ', '.join(extra) if extra else ''}) and {args.acl}; "
        "reload mosquitto (SIGHUP) to apply\n"
    )
    if without:
        stderr.write(
            f"warning: {len(without)} devices have no password and cannot connect: "
            f"{', '.join(without[:10])}{' ...' if len(without) > 10 else ''}\n"
        )
    return EXIT_OK


def main(
    argv: list[str],
    *,
    registry_path: Path,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run ``tanzhang registry ARGV`` against the registry file at ``registry_path``."""
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        reg = Registry.load(registry_path)
        if args.command == "list":
            if args.json:
                out.write(json.dumps(_public(reg), ensure_ascii=False, indent=2) + "\n")
            else:
                out.write(_listing(reg))
            return EXIT_OK
        if args.command == "check":
            if not Path(registry_path).exists():
                raise UsageError(f"{registry_path} does not exist")
            out.write(
                f"{registry_path}: ok ({len(reg.entities)} entities, {len(reg.devices)} devices)\n"
            )
            return EXIT_OK
        if args.command == "export":
            return _export(reg, args, out, err, inp)
        if args.command == "add-entity":
            reg.add_entity(
                Entity(args.id, args.kind, args.parent, args.name, parse_attrs(args.attr))
            )
            reg.save(registry_path)
            out.write(f"added {args.kind} {args.id} to {registry_path}\n")
            return EXIT_OK
        if args.command == "add-device":
            attrs = parse_attrs(args.attr)
            device = Device(args.id, args.entity, args.role, None, attrs)
            reg.add_device(device)  # validate before showing a generated password
            device.password_hash = _credentials(args, out, inp)
            reg.save(registry_path)
            out.write(f"added {args.role} {args.id} of {args.entity} to {registry_path}\n")
            return EXIT_OK
        if args.command == "set-password":
            registered = reg.devices.get(args.id)
            if registered is None:
                raise UsageError(f"device {args.id!r} is not registered")
            registered.password_hash = _credentials(args, out, inp)
            reg.save(registry_path)
            out.write(f"password of {args.id} changed; export and reload mosquitto to apply\n")
            return EXIT_OK
        if args.command == "remove-device":
            if reg.devices.pop(args.id, None) is None:
                raise UsageError(f"device {args.id!r} is not registered")
            reg.save(registry_path)
            out.write(f"removed {args.id}; export and reload mosquitto to lock it out\n")
            return EXIT_OK
        if args.command == "remove-entity":
            if args.id not in reg.entities:
                raise UsageError(f"entity {args.id!r} is not registered")
            users = [d.id for d in reg.devices_of(args.id)] + [e.id for e in reg.children(args.id)]
            if users:
                raise UsageError(
                    f"entity {args.id!r} still has devices or children: {', '.join(users)}"
                )
            del reg.entities[args.id]
            reg.save(registry_path)
            out.write(f"removed {args.id}; its account and history stay in the accounts database\n")
            return EXIT_OK
        raise UsageError(f"unknown command {args.command!r}")  # pragma: no cover
    except (UsageError, RegistryError) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_IO
