"""``tanzhang COMMAND ... --help`` prints its usage and exits 0 without opening anything.

The commands are read from the top-level argparse parser and each command's subcommands from
its own usage line (``{list,replay} ...``), so a new command or subcommand is covered without
editing this file. Each ``--help`` runs as its own process with no ``TANZHANG_*`` setting but
an empty data folder, in an empty working folder: it must not open (and so create) an
accounts database, a telemetry store, a spool or a key there, nor talk to a broker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tanzhang.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
#: how argparse shows a subcommand choice in a usage line
SUBCOMMANDS = re.compile(r"\{([\w,-]+)\}\s+\.\.\.")


def _commands() -> list[str]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return list(action.choices)


def _help(path: list[str], data: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANZHANG_")}
    env |= {"TANZHANG_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tanzhang.cli", *path, "--help"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_command_is_found() -> None:
    assert {"gateway", "api", "scheduler", "close", "rejects", "keys"} <= set(_commands())


@pytest.mark.parametrize("command", _commands())
def test_help_opens_nothing(command: str, tmp_path: Path) -> None:
    data, cwd = tmp_path / "data", tmp_path / "cwd"
    data.mkdir()
    cwd.mkdir()
    todo, done = [[command]], []
    while todo:
        path = todo.pop(0)
        shown = " ".join(path)
        run = _help(path, data, cwd)
        assert run.returncode == 0, (
            f"tanzhang {shown} --help exited {run.returncode}:\n{run.stderr}"
        )
        assert run.stdout.startswith(f"usage: tanzhang {shown}"), run.stdout[:500]
        assert run.stderr == "", f"tanzhang {shown} --help wrote to stderr:\n{run.stderr}"
        made = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
        assert made == ["cwd", "data"], f"tanzhang {shown} --help made files: {made}"
        usage = run.stdout.split("\n\n")[0]
        for group in SUBCOMMANDS.findall(usage):
            todo += [[*path, sub] for sub in group.split(",")]
        done.append(shown)
    assert done[0] == command
