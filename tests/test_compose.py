"""docker-compose.yml names only commands, variables and paths that exist in the project.

Docker does not run on our machines, so the site deployment is checked by reading the file:
every ``tanzhang`` subcommand it runs exists, every ``TANZHANG_*`` variable is a setting,
every mounted host path exists (or is a generated file with its generating command listed
in deploy/GENERATED), and required secrets use ``${VAR:?}``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tanzhang.cli import COMMANDS
from tanzhang.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
GENERATED = {
    line.split()[0]: line.split(None, 1)[1]
    for line in (ROOT / "deploy" / "GENERATED").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}
TANZHANG_SERVICES = [
    n for n, s in COMPOSE["services"].items() if s.get("image") == "tanzhang:latest"
]


def test_tanzhang_services_run_real_subcommands() -> None:
    assert {"gateway-1", "gateway-2", "api", "simulators"} <= set(TANZHANG_SERVICES)
    for name in TANZHANG_SERVICES:
        command = COMPOSE["services"][name]["command"]
        assert command[0] in COMMANDS, f"{name} runs unknown subcommand {command[0]!r}"


def test_tanzhang_variables_are_settings() -> None:
    fields = {f"TANZHANG_{n.upper()}" for n in Settings.model_fields}
    for name in TANZHANG_SERVICES:
        for var in COMPOSE["services"][name].get("environment", {}):
            if var.startswith("TANZHANG_"):
                assert var in fields, f"{name} sets {var}, which no setting reads"


def test_mounted_paths_exist_or_are_generated() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if not host.startswith("./"):
                assert host in COMPOSE["volumes"], f"{name} mounts undeclared volume {host}"
                continue
            rel = host[2:]
            if rel in GENERATED:
                assert GENERATED[rel].split()[0] in ("tanzhang", "cp"), rel
                assert re.search(r"tanzhang (\w+)", GENERATED[rel]).group(1) in COMMANDS
            else:
                assert (ROOT / rel).exists(), f"{name} mounts {rel}, which is not in the project"


def test_build_context_copies_existing_folders() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"


def test_image_copies_every_package_the_project_installs() -> None:
    """``pip install .`` in the image builds from what was copied: a package named in
    pyproject.toml's ``include`` but not copied is missing from the image (ImportError)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {
        src.rstrip("/")
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
        for src in line.split()[1:-1]
    }
    assert packages - copied == set(), "the Dockerfile does not COPY these packages"


def test_required_secrets_fail_loudly() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in (
        "POSTGRES_PASSWORD",
        "INFLUXDB_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "MQTT_GATEWAY_PASSWORD",
        "MQTT_REPLAY_PASSWORD",
    ):
        uses = re.findall(r"\$\{" + secret + r"(:\?|[}:-])", text)
        assert uses and all(u == ":?" for u in uses), (
            f"{secret} must be required as ${{{secret}:?...}}"
        )


def test_healthchecks_and_restart_policies() -> None:
    for name, service in COMPOSE["services"].items():
        assert service.get("restart") == "unless-stopped", name
        if name not in ("simulators", "grafana"):
            assert "healthcheck" in service, f"{name} has no healthcheck"


def _mqtt_user(service: dict) -> str | None:
    url = service.get("environment", {}).get("TANZHANG_MQTT_URL")
    return urlsplit(re.sub(r"\$\{[^}]*\}", "x", url)).username if url else None


def test_each_gateway_is_its_own_mqtt_user() -> None:
    """The broker makes the user name the client id (use_username_as_clientid): each gateway
    replica needs a user of its own, equal to its client id (which also names its spool), and
    no other service may connect as a gateway (it would take over that gateway's session)."""
    gateways = {n: s for n, s in COMPOSE["services"].items() if s.get("command") == ["gateway"]}
    assert len(gateways) >= 2
    users = {n: _mqtt_user(s) for n, s in gateways.items()}
    assert len(set(users.values())) == len(users), users
    for name, service in gateways.items():
        assert users[name] == service["environment"]["TANZHANG_MQTT_CLIENT_ID"] == name
    others = {n: _mqtt_user(s) for n, s in COMPOSE["services"].items() if n not in gateways}
    assert not set(others.values()) & set(users.values()), others


def test_broker_binds_client_ids_to_users() -> None:
    """The device listener of the shipped mosquitto config sets use_username_as_clientid
    (tests/telemetry/test_mosquitto_acl.py runs mosquitto with this very file)."""
    sections: dict[str, list[str]] = {}
    current = "global"
    for line in (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("listener "):
            current = line
        if line:
            sections.setdefault(current, []).append(line)
    assert "use_username_as_clientid true" in sections["listener 1883"]
    assert "allow_anonymous false" in sections["listener 1883"]
