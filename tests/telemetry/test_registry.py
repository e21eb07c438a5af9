"""The device registry file, its validation, mosquitto hashes and the ``tanzhang registry`` CLI.

That a real mosquitto accepts our hashes and enforces the exported ACL is in
test_mosquitto_acl.py; here the hash is checked against the real ``mosquitto_passwd``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from telemetry.registry import (
    ATTR_SPECS,
    DEVICE_ROLES,
    ENTITY_KINDS,
    REQUIRED_ATTRS,
    Device,
    Entity,
    Registry,
    RegistryError,
    is_mosquitto_hash,
    mosquitto_acl_file,
    mosquitto_hash,
    mosquitto_hash_matches,
    mosquitto_passwd_file,
)
from telemetry.registry_cli import main, parse_attrs

REGISTRY_TOML = """\
[[entities]]
id = "factory-a"
kind = "factory"
name = "衢州某化工厂"
industry_code = "C2614"
value_added_10k_cny = 12500.0

[[entities]]
id = "line-a1"
kind = "line"
parent = "factory-a"
baseline_start = 2025-01-01       # a TOML date: stored back as an ISO string
baseline_end = "2025-12-31"
intervention_date = "2026-01-15"

[[entities]]
id = "orchard-cs1"
kind = "orchard"
name = "常山胡柚基地"
area_mu = 120
county = "常山县"
practices = { grass_cover = 80.0 }

[[entities]]
id = "forest-kh"
kind = "forest"
area_mu = 3000.5
forest_species = "chinese_fir"

[[devices]]
id = "meter-a1"
entity = "line-a1"
role = "electricity_meter"
password_hash = "{hash}"

[[devices]]
id = "soil-cs1"
entity = "orchard-cs1"
role = "soil_sensor"
depth_cm = 20
"""


@pytest.fixture
def reg_file(tmp_path: Path) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY_TOML.replace("{hash}", mosquitto_hash("meter-a1-secret")))
    return path


# -- file round trip ------------------------------------------------------------------------


def test_load_reads_entities_devices_and_attributes(reg_file: Path) -> None:
    reg = Registry.load(reg_file)
    assert list(reg.entities) == ["factory-a", "line-a1", "orchard-cs1", "forest-kh"]
    line = reg.entities["line-a1"]
    assert (line.kind, line.parent) == ("line", "factory-a")
    assert line.attrs == {
        "baseline_start": "2025-01-01",
        "baseline_end": "2025-12-31",
        "intervention_date": "2026-01-15",
    }
    assert reg.entities["orchard-cs1"].name == "常山胡柚基地"
    assert reg.entities["orchard-cs1"].attrs["practices"] == {"grass_cover": 80.0}
    assert reg.entity_of("meter-a1") == "line-a1"
    assert reg.entity_of("nobody") is None
    assert reg.devices["soil-cs1"].attrs == {"depth_cm": 20}
    assert [e.id for e in reg.children("factory-a")] == ["line-a1"]
    assert [d.id for d in reg.devices_of("orchard-cs1")] == ["soil-cs1"]


def test_save_and_load_round_trip(reg_file: Path, tmp_path: Path) -> None:
    reg = Registry.load(reg_file)
    copy = tmp_path / "sub" / "copy.toml"
    reg.save(copy)
    again = Registry.load(copy)
    assert again.to_dict() == reg.to_dict()
    assert not copy.with_suffix(".toml.tmp").exists()
    assert "常山胡柚基地" in copy.read_text(encoding="utf-8")


def test_missing_file_is_an_empty_registry(tmp_path: Path) -> None:
    reg = Registry.load(tmp_path / "none.toml")
    assert (reg.entities, reg.devices) == ({}, {})


# -- validation -----------------------------------------------------------------------------


def orchard(**attrs: object) -> Entity:
    return Entity("o1", "orchard", attrs={"area_mu": 10, "county": "常山县", **attrs})


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (Entity("Factory-A", "factory"), "entity id 'Factory-A' must match"),
        (Entity("f\n", "factory"), "entity id 'f\\n' must match"),
        (Entity("f" * 65, "factory"), "must match [a-z0-9_-]{1,64}"),
        (Entity("f1", "farm"), "kind 'farm' is not one of factory, line, orchard, forest"),
        (Entity("o1", "orchard", attrs={"county": "常山县"}), "needs 'area_mu'"),
        (Entity("o1", "orchard", attrs={"area_mu": 5}), "needs 'county'"),
        (Entity("w1", "forest"), "needs 'area_mu'"),
        (Entity("l1", "line"), "needs 'parent'"),
        (Entity("l1", "line", "nowhere"), "parent 'nowhere' is not registered"),
        (Entity("l1", "line", "o0"), "a line's parent must be a factory, 'o0' is a orchard"),
        (orchard(area_mu=-3), "area_mu must be a number > 0, not -3"),
        (orchard(area_mu="12"), "area_mu must be a number > 0"),
        (orchard(area_mu=True), "area_mu must be a number > 0"),
        (orchard(county=""), "county must be a non-empty string"),
        (orchard(baseline_start="2025-01-01"), "'baseline_start' does not apply to a orchard"),
        (orchard(orchard_mature="yes"), "orchard_mature must be true or false"),
        (orchard(practices={"no_till": 3}), "practices must map grass_cover"),
        (Entity("f1", "factory", attrs={"value_added_10k_cny": 0}), "value_added_10k_cny must"),
        (Entity("f1", "factory", attrs={"industry_code": 2614}), "industry_code must be"),
        (Entity("f1", "factory", attrs={"forest_species": "fir"}), "does not apply to a factory"),
    ],
)
def test_entity_validation(entity: Entity, message: str) -> None:
    reg = Registry(
        [Entity("f0", "factory"), Entity("o0", "orchard", attrs={"area_mu": 1, "county": "x"})]
    )
    with pytest.raises(RegistryError) as err:
        reg.add_entity(entity)
    assert message in str(err.value)
    assert entity.id not in reg.entities


def line(**attrs: object) -> Entity:
    return Entity("l1", "line", "f0", attrs=attrs)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"baseline_start": "2025-13-01", "baseline_end": "2025-12-31"}, "must be a date like"),
        ({"baseline_start": "1 Jan 2025", "baseline_end": "2025-12-31"}, "must be a date like"),
        ({"baseline_start": 20250101, "baseline_end": "2025-12-31"}, "must be a date like"),
        ({"baseline_start": "2025-01-01"}, "give both baseline_start and baseline_end"),
        ({"baseline_start": "2025-12-31", "baseline_end": "2025-01-01"}, "must be before"),
        (
            {
                "baseline_start": "2025-01-01",
                "baseline_end": "2025-12-31",
                "intervention_date": "2025-06-01",
            },
            "intervention_date 2025-06-01 falls inside the baseline",
        ),
    ],
)
def test_line_baseline_validation(attrs: dict[str, object], message: str) -> None:
    reg = Registry([Entity("f0", "factory")])
    with pytest.raises(RegistryError, match=re.escape(message)):
        reg.add_entity(line(**attrs))


def test_duplicates_are_refused() -> None:
    reg = Registry([Entity("f0", "factory")], [Device("m1", "f0", "electricity_meter")])
    with pytest.raises(RegistryError, match="entity 'f0' exists already"):
        reg.add_entity(Entity("f0", "factory"))
    with pytest.raises(RegistryError, match="device 'm1' exists already"):
        reg.add_device(Device("m1", "f0", "gas_meter"))


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (Device("M1", "f0", "gas_meter"), "device id 'M1' must match"),
        (Device("m2", "nowhere", "gas_meter"), "entity 'nowhere' is not registered"),
        (Device("m2", "f0", "toaster"), "role 'toaster' is not one of electricity_meter"),
        (Device("m2", "f0", "gas_meter", "plaintext"), "password_hash must be a mosquitto $7$"),
        (Device("m2", ["f0"], "gas_meter"), "entity must be a string"),  # type: ignore[arg-type]
    ],
)
def test_device_validation(device: Device, message: str) -> None:
    reg = Registry([Entity("f0", "factory")])
    with pytest.raises(RegistryError) as err:
        reg.add_device(device)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[entities]]\nid = 'a'\nkind = 'factory'\nid = 'b'\n", "not valid TOML"),
        ("[[entities]]\nkind = 'factory'\n", "an entity lacks 'id'"),
        ("[[entities]]\nid = 7\nkind = 'factory'\n", "entity id 7 must match"),
        ("[[devices]]\nid = 'm'\nentity = 'x'\n", "a device lacks 'role'"),
        ("entities = ['factory-a']\n", "entities must be an array of tables"),
        # a child listed before its parent is fine; a parent that never comes is not
        (
            "[[entities]]\nid='l'\nkind='line'\nparent='f'\n[[entities]]\nid='f'\nkind='factory'\n"
            "[[entities]]\nid='l2'\nkind='line'\nparent='g'\n",
            "parent 'g' is not registered",
        ),
    ],
)
def test_load_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RegistryError) as err:
        Registry.load(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


# -- mosquitto hashes and exported files ------------------------------------------------------


def test_hash_shape_and_verification() -> None:
    h = mosquitto_hash("correct horse", salt=b"0123456789ab")
    assert h.startswith("$7$101$MDEyMzQ1Njc4OWFi$")
    assert is_mosquitto_hash(h)
    assert mosquitto_hash_matches("correct horse", h)
    assert not mosquitto_hash_matches("correct horsE", h)
    assert mosquitto_hash("x") != mosquitto_hash("x")  # a fresh salt each time
    for bad in ("", "$6$abc$def", "$7$101$!!$abc", "$7$x$c2FsdA==$ZGln", None):
        assert not is_mosquitto_hash(bad)


def test_hash_algorithm_matches_real_mosquitto_passwd(tmp_path: Path) -> None:
    """mosquitto_passwd (Debian package mosquitto) writes a hash our verifier accepts, and our
    hash has the same shape (iterations, salt length) — the same PBKDF2-SHA512 scheme."""
    binary = shutil.which("mosquitto_passwd")
    assert binary, "install the Debian package mosquitto (scripts/test.sh does)"
    pw_file = tmp_path / "passwd"
    subprocess.run([binary, "-c", "-b", str(pw_file), "dev1", "s3cret pass"], check=True)
    user, real_hash = pw_file.read_text().strip().split(":", 1)
    assert user == "dev1"
    assert is_mosquitto_hash(real_hash)
    assert mosquitto_hash_matches("s3cret pass", real_hash)
    assert not mosquitto_hash_matches("s3cret pasS", real_hash)
    ours = mosquitto_hash("s3cret pass")
    assert [len(p) for p in ours.split("$")] == [len(p) for p in real_hash.split("$")]


def test_passwd_file_lists_devices_with_credentials_and_service_users(reg_file: Path) -> None:
    reg = Registry.load(reg_file)
    gw = mosquitto_hash("gateway-secret")
    lines = mosquitto_passwd_file(reg, {"gateway": gw}).splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["meter-a1", "gateway"]  # soil-cs1 has none
    assert lines[1] == f"gateway:{gw}"
    with pytest.raises(RegistryError, match="has the id of a device"):
        mosquitto_passwd_file(reg, {"meter-a1": gw})
    with pytest.raises(RegistryError, match=r"\$7\$ hash"):
        mosquitto_passwd_file(reg, {"gateway": "plain"})


def test_acl_file_confines_each_device_to_its_own_topics(reg_file: Path) -> None:
    acl = mosquitto_acl_file(Registry.load(reg_file), prefix="site/v1/", simulator_user="sim")
    blocks: dict[str, list[str]] = {}
    for line in acl.splitlines():
        if line.startswith("user "):
            user = blocks.setdefault(line.split()[1], [])
        elif line.startswith("topic "):
            user.append(line)
    assert blocks["meter-a1"] == ["topic write site/v1/line-a1/meter-a1/#"]
    assert blocks["soil-cs1"] == ["topic write site/v1/orchard-cs1/soil-cs1/#"]
    assert blocks["sim"] == ["topic write site/v1/#"]
    assert "topic read site/v1/#" in blocks["gateway"]
    assert "topic write tanzhang/dead-letter/#" in blocks["gateway"]
    with pytest.raises(RegistryError, match="has the id of a device"):
        mosquitto_acl_file(Registry.load(reg_file), gateway_user="meter-a1")


# -- the CLI --------------------------------------------------------------------------------


def cli(path: Path, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), registry_path=path, stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_cli_builds_a_registry_from_nothing(tmp_path: Path) -> None:
    path = tmp_path / "reg.toml"
    assert (
        cli(
            path,
            "add-entity",
            "factory-a",
            "--kind",
            "factory",
            "--name",
            "甲厂",
            "--attr",
            "industry_code=C2614",
            "--attr",
            "value_added_10k_cny=8000",
        )[0]
        == 0
    )
    assert (
        cli(
            path,
            "add-entity",
            "line-a1",
            "--kind",
            "line",
            "--parent",
            "factory-a",
            "--attr",
            "baseline_start=2025-01-01",
            "--attr",
            "baseline_end=2025-12-31",
        )[0]
        == 0
    )
    code, out, err = cli(
        path,
        "add-device",
        "meter-a1",
        "--entity",
        "line-a1",
        "--role",
        "electricity_meter",
        "--generate-password",
    )
    assert (code, err) == (0, "")
    password = re.search(r"shown once; give it to the device\): (\S+)", out).group(1)
    reg = Registry.load(path)
    assert reg.entities["factory-a"].attrs == {
        "industry_code": "C2614",
        "value_added_10k_cny": 8000,
    }
    assert reg.entities["factory-a"].name == "甲厂"
    assert reg.entities["line-a1"].attrs["baseline_start"] == "2025-01-01"
    stored = reg.devices["meter-a1"].password_hash
    assert mosquitto_hash_matches(password, stored)
    assert password not in path.read_text()  # only the hash is stored
    assert len(password) >= 20


def test_cli_password_from_stdin_and_rotation(reg_file: Path) -> None:
    code, out, _ = cli(
        reg_file,
        "add-device",
        "soil-cs2",
        "--entity",
        "orchard-cs1",
        "--role",
        "soil_sensor",
        "--password",
        "-",
        stdin="field pass 1\n",
    )
    assert code == 0 and "field pass 1" not in out
    assert mosquitto_hash_matches(
        "field pass 1", Registry.load(reg_file).devices["soil-cs2"].password_hash
    )
    assert cli(reg_file, "set-password", "soil-cs2", "--password", "rotated-pass")[0] == 0
    h = Registry.load(reg_file).devices["soil-cs2"].password_hash
    assert mosquitto_hash_matches("rotated-pass", h) and not mosquitto_hash_matches(
        "field pass 1", h
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add-entity", "o2", "--kind", "orchard", "--attr", "county=常山县"], "needs 'area_mu'"),
        (["add-entity", "f2", "--kind", "farm"], "invalid choice: 'farm'"),
        (
            ["add-entity", "l2", "--kind", "line", "--parent", "nope"],
            "parent 'nope' is not registered",
        ),
        (["add-entity", "factory-a", "--kind", "factory"], "exists already"),
        (["add-entity", "f2", "--kind", "factory", "--attr", "oops"], "write KEY=VALUE"),
        (["add-entity", "f2", "--kind", "factory", "--attr", "kind=line"], "use the option"),
        (
            ["add-device", "m9", "--entity", "ghost", "--role", "gas_meter"],
            "'ghost' is not registered",
        ),
        (
            [
                "add-device",
                "m9",
                "--entity",
                "line-a1",
                "--role",
                "gas_meter",
                "--password",
                "short",
            ],
            "at least 8",
        ),
        (
            [
                "add-device",
                "m9",
                "--entity",
                "line-a1",
                "--role",
                "gas_meter",
                "--password",
                "abcdefgh",
                "--generate-password",
            ],
            "not allowed with argument",
        ),
        (["set-password", "ghost", "--generate-password"], "'ghost' is not registered"),
        (["set-password", "meter-a1"], "one of the arguments --password --generate-password"),
        (["export", "--passwd", "p"], "the following arguments are required: --acl"),
        ([], "the following arguments are required: command"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(
    reg_file: Path, argv: list[str], message: str
) -> None:
    before = reg_file.read_bytes()
    code, out, err = cli(reg_file, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "shown once" not in out  # no password is shown for a refused device
    assert reg_file.read_bytes() == before


def test_cli_list_table_and_json(reg_file: Path) -> None:
    code, out, _ = cli(reg_file, "list")
    assert code == 0
    assert re.search(r"^line-a1\s+line\s+factory-a\s+-\s+baseline_start=2025-01-01", out, re.M)
    assert re.search(r"^meter-a1\s+line-a1\s+electricity_meter\s+set$", out, re.M)
    assert re.search(r"^soil-cs1\s+orchard-cs1\s+soil_sensor\s+none$", out, re.M)
    assert out.rstrip().endswith("4 entities, 2 devices")
    code, out, _ = cli(reg_file, "list", "--json")
    doc = json.loads(out)
    assert [e["id"] for e in doc["entities"]] == [
        "factory-a",
        "line-a1",
        "orchard-cs1",
        "forest-kh",
    ]
    assert [(d["id"], d["has_password"]) for d in doc["devices"]] == [
        ("meter-a1", True),
        ("soil-cs1", False),
    ]
    assert "$7$" not in out


def test_cli_check(reg_file: Path, tmp_path: Path) -> None:
    assert cli(reg_file, "check") == (0, f"{reg_file}: ok (4 entities, 2 devices)\n", "")
    bad = tmp_path / "bad.toml"
    bad.write_text(REGISTRY_TOML.replace('"2025-12-31"', '"2024-12-31"'))
    code, _, err = cli(bad, "check")
    assert code == 2 and "must be before baseline_end" in err and str(bad) in err
    assert cli(tmp_path / "missing.toml", "check")[0] == 2


def test_cli_export_writes_both_files(reg_file: Path, tmp_path: Path) -> None:
    pw, acl = tmp_path / "out" / "passwd", tmp_path / "out" / "acl"
    code, out, err = cli(
        reg_file,
        "export",
        "--passwd",
        str(pw),
        "--acl",
        str(acl),
        "--gateway-password",
        "gw-password",
        "--simulator-user",
        "sim",
        "--simulator-password",
        "sim-password",
    )
    assert code == 0 and "reload mosquitto" in out
    assert "1 devices have no password and cannot connect: soil-cs1" in err
    users = dict(line.split(":", 1) for line in pw.read_text().splitlines())
    assert set(users) == {"meter-a1", "gateway", "sim"}
    assert mosquitto_hash_matches("gw-password", users["gateway"])
    assert mosquitto_hash_matches("sim-password", users["sim"])
    assert stat.S_IMODE(pw.stat().st_mode) == 0o600
    assert "user sim\ntopic write tanzhang/v1/#" in acl.read_text()
    assert "topic write tanzhang/v1/line-a1/meter-a1/#" in acl.read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "export needs --gateway-password"),
        (["--gateway-password-hash", "nope"], "not a mosquitto $7$ hash"),
        (
            ["--gateway-user", "meter-a1", "--gateway-password", "abcdefgh"],
            "has the id of a device",
        ),
        (["--no-gateway", "--simulator-user", "sim"], "--simulator-user needs"),
        (["--no-gateway", "--simulator-password", "abcdefgh"], "needs --simulator-user"),
        (["--no-gateway", "--passwd-mode", "rw"], "not an octal mode"),
    ],
)
def test_cli_export_refusals(
    reg_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    pw = tmp_path / "passwd"
    code, _, err = cli(
        reg_file, "export", "--passwd", str(pw), "--acl", str(tmp_path / "acl"), *extra
    )
    assert code == 2 and message in err
    assert not pw.exists()


def test_cli_export_gateway_hash_and_no_gateway(reg_file: Path, tmp_path: Path) -> None:
    h = mosquitto_hash("from-a-vault")
    pw = tmp_path / "passwd"
    args = ["export", "--passwd", str(pw), "--acl", str(tmp_path / "acl")]
    assert cli(reg_file, *args, "--gateway-password-hash", h, "--passwd-mode", "640")[0] == 0
    assert f"gateway:{h}" in pw.read_text()
    assert stat.S_IMODE(pw.stat().st_mode) == 0o640
    assert cli(reg_file, *args, "--no-gateway")[0] == 0
    assert "gateway:" not in pw.read_text()


def test_parse_attrs_keeps_toml_types() -> None:
    assert parse_attrs(
        ["a=35.5", "b=true", "c=常山县", "d=2025-01-01", "e='quoted'", "f=C2614"]
    ) == {
        "a": 35.5,
        "b": True,
        "c": "常山县",
        "d": __import__("datetime").date(2025, 1, 1),
        "e": "quoted",
        "f": "C2614",
    }


def test_cli_export_monitor_user_and_owner(reg_file: Path, tmp_path: Path) -> None:
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    code, _, err = cli(reg_file, "export", "--passwd", str(pw), "--acl", str(acl),
                       "--no-gateway", "--monitor-user", "monitor", "--monitor-password",
                       "monitor-pass", "--passwd-owner", f"{os.getuid()}:{os.getgid()}")  # fmt: skip
    assert code == 0, err
    users = dict(line.split(":", 1) for line in pw.read_text().splitlines())
    assert mosquitto_hash_matches("monitor-pass", users["monitor"])
    assert (pw.stat().st_uid, pw.stat().st_gid) == (os.getuid(), os.getgid())
    assert (
        "user monitor\ntopic read tanzhang/dead-letter/#\ntopic read tanzhang/v1/+/+/status\n"
        in acl.read_text()
    )
    for bad, message in (
        (["--passwd-owner", "mosquitto"], "give numeric UID[:GID]"),
        (["--monitor-user", "gateway", "--monitor-password", "abcdefgh"], "a user name of its own"),
        (["--monitor-password", "abcdefgh"], "--monitor-password needs --monitor-user"),
    ):
        code, _, err = cli(reg_file, "export", "--passwd", str(tmp_path / "p2"), "--acl",
                           str(tmp_path / "a2"), "--gateway-password", "gw-password", *bad)  # fmt: skip
        assert code == 2 and message in err, (bad, err)
        assert not (tmp_path / "p2").exists()


def test_cli_remove_device_and_entity(reg_file: Path) -> None:
    code, _, err = cli(reg_file, "remove-entity", "orchard-cs1")
    assert code == 2 and "still has devices or children: soil-cs1" in err
    assert cli(reg_file, "remove-entity", "factory-a")[2].endswith("line-a1\n")
    assert cli(reg_file, "remove-device", "soil-cs1")[0] == 0
    assert cli(reg_file, "remove-entity", "orchard-cs1")[0] == 0
    reg = Registry.load(reg_file)
    assert "soil-cs1" not in reg.devices and "orchard-cs1" not in reg.entities
    assert cli(reg_file, "remove-device", "soil-cs1")[0] == 2
    assert cli(reg_file, "remove-entity", "nowhere")[0] == 2


# -- docs/registry.md cannot drift from the code ----------------------------------------------

REGISTRY_MD = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def test_registry_doc_example_file_is_valid() -> None:
    text = REGISTRY_MD.read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    example = example.replace('"$7$101$...$..."', f'"{mosquitto_hash("x" * 8)}"')
    reg = Registry.from_dict(tomllib.loads(example))
    assert {e.kind for e in reg.entities.values()} == set(ENTITY_KINDS)
    assert reg.entity_of("meter-a1") == "line-a1"


def test_registry_doc_lists_every_attribute_role_and_command() -> None:
    text = REGISTRY_MD.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, re.M))
    assert set(ATTR_SPECS) <= rows
    assert set(DEVICE_ROLES) <= rows
    for kind, required in REQUIRED_ATTRS.items():
        for attr in required:
            row = re.search(rf"^\| `{attr}` \|.*$", text, re.M).group(0)
            assert kind in row.split("|")[4], (kind, attr, row)  # the "required" column
    for command in (
        "list",
        "add-entity",
        "add-device",
        "set-password",
        "remove-device",
        "remove-entity",
        "export",
        "check",
    ):
        assert f"tanzhang registry {command}" in text
