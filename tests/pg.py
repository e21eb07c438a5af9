"""A real PostgreSQL server for tests, in a temporary folder on a free loopback port.

Uses the Debian ``postgresql`` package's binaries (``/usr/lib/postgresql/<major>/bin``; the
folder can be set with ``TANZHANG_PG_BINDIR``). ``initdb`` refuses to run as root, so when the
tests run as root the data folder is handed to the ``postgres`` system user and the server
runs as that user (``runuser -u postgres --``). Authentication is ``trust`` on 127.0.0.1
only; durability is switched off (``fsync=off``), which is fine for a throw-away cluster.

    with postgres_server() as pg:
        url = pg.create_database("t1")   # postgresql+psycopg://postgres@127.0.0.1:PORT/t1
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PG_MAJOR = 15
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server did not start."""


def _bindir() -> Path:
    return Path(os.environ.get("TANZHANG_PG_BINDIR", f"/usr/lib/postgresql/{PG_MAJOR}/bin"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    port: int
    datadir: Path
    host: str = "127.0.0.1"
    _counter: list[int] = field(default_factory=lambda: [0])

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of a database on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        if name is None:
            self._counter[0] += 1
            name = f"test_{self._counter[0]}"
        conninfo = f"host={self.host} port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _runner() -> list[str]:
    """Prefix that runs a command as the postgres user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no 'postgres' user to run the server as; "
            "install the Debian package postgresql (it creates the user) or run as non-root"
        ) from None
    return ["runuser", "-u", SUPERUSER, "--"]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise PostgresUnavailable(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL cluster; stop it and delete its files afterwards.

    Raises
    ------
    PostgresUnavailable
        When the binaries are missing (install ``postgresql-15``) or the server won't start.
    """
    bindir = _bindir()
    if not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found in {bindir}: install them with "
            f"'apt-get install -y postgresql-{PG_MAJOR}' (CI does this), or set "
            "TANZHANG_PG_BINDIR to the folder holding initdb and pg_ctl"
        )
    as_pg = _runner()
    root = Path(tempfile.mkdtemp(prefix="tanzhang-pg-"))
    datadir, sockdir, log = root / "data", root / "sock", root / "server.log"
    sockdir.mkdir()
    if as_pg:
        os.chmod(root, 0o755)
        pw = pwd.getpwnam(SUPERUSER)
        for p in (root, sockdir):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    started = False
    try:
        _run(
            [
                *as_pg,
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            "initdb",
        )
        for attempt in range(3):
            port = _free_port()
            opts = (
                f"-p {port} -c listen_addresses=127.0.0.1 -k {sockdir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=50"
            )
            proc = subprocess.run(
                [*as_pg, str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log)]
                + ["-o", opts, "-w", "-t", "60", "start"],
                capture_output=True,
                text=True,
                timeout=90,
            )
            if proc.returncode == 0:
                started = True
                break
            if attempt == 2:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise PostgresUnavailable(
                    f"pg_ctl start failed: {proc.stdout}\n{proc.stderr}\n{tail}"
                )
        yield PostgresServer(port=port, datadir=datadir)
    finally:
        if started:
            subprocess.run(
                [*as_pg, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate"]
                + ["-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)
