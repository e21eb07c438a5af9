"""Migrations of the accounts database (Alembic, :mod:`ledger.migrations`), on SQLite and on a
real PostgreSQL server.

* An empty database is upgraded to the newest revision, and its schema is the models'
  (``compare_metadata`` finds nothing): this fails when a model changes without a revision.
* A database made by release 0.1.0 (the dumps in ``data/``, made by that release's own code:
  see ``data/make_release_dump.py``) is taken over and upgraded, rows intact; so is an older
  one, from before lenders, development-only keys and keys scoped to the account.
* Upgrading twice does nothing; processes upgrading together take turns.
* ``tanzhang db upgrade | current | revision`` and ``tanzhang db --help`` (no database).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from access.consent import lender_may_read
from access.keys import find_key, hash_key, principal_of
from access.models import DEMO_KEY_NAME, ApiKey
from ledger import migrations
from ledger.book import balance
from ledger.db import make_engine, upgrade
from ledger.models import Base, Redemption
from ledger.redemption import redeem_once
from sitetime.clock import use_clock
from tanzhang import db_cli
from tanzhang.cli import main as tanzhang
from tanzhang.db_cli import accounts_metadata
from tests.ledger.conftest import BACKENDS
from tests.pg import PostgresServer, _bindir

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
from make_release_dump import LENDER, LENDER_KEY, OPERATOR_KEY  # noqa: E402

sys.path.remove(str(DATA))


def _schema_differences(engine: Engine) -> list:
    """What Alembic's autogenerate would write to make the database match the models."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, accounts_metadata())


def _empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.db'}"
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(_empty_url(request.param, request, tmp_path))
    yield engine
    engine.dispose()


def _load_release_dump(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database made by release 0.1.0: its dump loaded as a restore would (sqlite3 for the
    SQLite dump, psql for pg_dump's)."""
    if backend == "sqlite":
        path = tmp_path / "accounts.db"
        con = sqlite3.connect(path)
        con.executescript((DATA / "accounts_release_0_1_0.sql").read_text())
        con.close()
        return f"sqlite:///{path}"
    pg: PostgresServer = request.getfixturevalue("pg_server")
    url = pg.create_database()
    subprocess.run(
        [str(_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.host,
         "-p", str(pg.port), "-U", "postgres", "-d", sa.make_url(url).database,
         "-f", str(DATA / "accounts_release_0_1_0.pg.sql")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return url


@pytest.fixture(params=BACKENDS)
def release_0_1_0(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(_load_release_dump(request.param, request, tmp_path))
    yield engine
    engine.dispose()


def test_one_head_and_a_linear_history() -> None:
    """Two revisions written on two branches, unmerged, would leave two heads: the upgrade
    would not know where to go."""
    assert len(migrations.heads()) == 1
    revisions = list(migrations.script_directory().walk_revisions())
    assert [r.revision for r in revisions][-1] == "0001"  # the baseline is the root
    for r in revisions:
        assert r.down_revision is None or isinstance(r.down_revision, str), r  # no merges yet
        assert r.module.__file__.split("/")[-1].startswith(f"{r.revision}_")


def test_empty_database_is_created_at_head_and_matches_the_models(empty: Engine) -> None:
    """The schema the migrations make is the models' schema. When this fails after a model
    change, write the revision: ``tanzhang db revision -m "what changed"``."""
    assert migrations.state(empty).describe().startswith("empty")
    done = upgrade(empty)
    assert (done.before, done.after, done.unversioned_tables) == (None, migrations.head(), False)
    assert done.describe() == f"created at {migrations.head()} (head)"
    assert migrations.state(empty).revision == migrations.head()
    assert _schema_differences(empty) == []
    again = upgrade(empty)
    assert not again.changed and again.describe().endswith("nothing to do")


def test_release_0_1_0_database_is_upgraded_with_its_rows(release_0_1_0: Engine) -> None:
    engine = release_0_1_0
    before = migrations.state(engine)
    assert before.revision is None and before.unversioned_tables
    with Session(engine) as s:
        balance_before = balance(s, "orchard-1")

    done = upgrade(engine)
    assert done.unversioned_tables and done.after == migrations.head()
    assert migrations.state(engine).describe() == f"{migrations.head()} (head)"
    assert _schema_differences(engine) == []
    assert not upgrade(engine).changed

    with Session(engine) as s:
        # the ledger: orchard-1 booked 6.0 - 0.5 after a restatement, then redeemed 1.5
        b = balance(s, "orchard-1")
        assert b == balance_before
        assert (b.net_t, b.redeemed_t, b.available_t) == (5.5, 1.5, 4.0)
        assert balance(s, "line-a1").net_t == -3.2
        # the keys still authenticate, the lender's still belongs to its bank
        operator = find_key(s, OPERATOR_KEY)
        assert operator is not None and operator.role == "operator"
        assert not operator.development_only and operator.lender_id is None
        lender = find_key(s, LENDER_KEY)
        assert lender is not None and lender.role == "lender" and lender.lender_id is not None
        # the consent still lets the bank read the report while it is valid
        with use_clock(datetime(2026, 1, 10, tzinfo=UTC)):
            grant, reason = lender_may_read(s, principal_of(lender), "orchard-1", "/v1/x")
        assert grant is not None and grant.purpose == "working-capital loan review"
        assert reason == "" and grant.lender_id == lender.lender_id
        # a redemption is idempotent by (account, key): the same key gives the old one back
        first = s.scalars(sa.select(Redemption)).one()
        again = redeem_once(s, "orchard-1", 1.5, key="voucher-1")
        assert not again.created and again.redemption.id == first.id
        new = redeem_once(s, "orchard-1", 1.0, key="voucher-2")
        assert new.created and new.redemption.id > first.id  # sequences carried over
        assert balance(s, "orchard-1").redeemed_t == 2.5
        with pytest.raises(IntegrityError):  # the database, not the code, refuses a reuse
            s.execute(
                Redemption.__table__.insert(),
                {"account_id": first.account_id, "key": "voucher-1", "amount_t": 1.0,
                 "ratio": 1.0, "fertiliser_amount": 1.0, "fertiliser_unit": "t"},
            )  # fmt: skip
        s.rollback()
        assert {r.name for r in s.scalars(sa.select(ApiKey))} == {"ops", LENDER}


def _older_schema() -> sa.MetaData:
    """The schema before lenders, development-only keys and keys scoped to the account: the
    baseline's ledger tables, ``redemption`` with its key unique overall, ``api_key``
    without ``development_only`` and ``lender_id``, no lender and report tables."""
    baseline = migrations.script_directory().get_revision("0001").module.baseline()
    md = sa.MetaData()
    for name in ("account", "factor_set", "posted_statement", "ledger_entry"):
        baseline.tables[name].to_metadata(md)
    utc = sa.DateTime(timezone=True)
    sa.Table(
        "redemption", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False, index=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
        sa.Column("amount_t", sa.BigInteger, nullable=False),
        sa.Column("ratio", sa.Float, nullable=False),
        sa.Column("fertiliser_amount", sa.Float, nullable=False),
        sa.Column("fertiliser_unit", sa.String(32), nullable=False),
        sa.Column("reference", sa.Text),
        sa.Column("created_at", utc, nullable=False),
    )  # fmt: skip
    sa.Table(
        "api_key", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("entities", sa.JSON, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True, index=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("revoked_at", utc),
    )  # fmt: skip
    return md


@pytest.mark.parametrize("backend", BACKENDS)
def test_older_database_is_taken_over(backend: str, request, tmp_path) -> None:
    """What create_schema used to add in place, revision 0001 adds: the missing tables,
    ``api_key.lender_id``, ``api_key.development_only`` (the demo key marked) and keys
    unique per account."""
    engine = make_engine(_empty_url(backend, request, tmp_path))
    old = _older_schema()
    old.create_all(engine)
    demo, ops = "tzk_00000001_" + "d" * 40, "tzk_00000002_" + "o" * 40
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for name, key in ((DEMO_KEY_NAME, demo), ("ops", ops)):
            conn.execute(
                old.tables["api_key"].insert(),
                {"name": name, "role": "operator", "entities": [], "prefix": key[4:12],
                 "key_hash": hash_key(key), "created_at": now},
            )  # fmt: skip
        conn.execute(
            old.tables["account"].insert(),
            [{"entity_id": e, "kind": "orchard", "booking_period": "day", "created_at": now,
              "updated_at": now} for e in ("orchard-1", "orchard-2")],
        )  # fmt: skip
        red = {"key": "k-1", "amount_t": 0, "ratio": 1.0, "fertiliser_amount": 0.0,
               "fertiliser_unit": "t", "created_at": now}  # fmt: skip
        conn.execute(old.tables["redemption"].insert(), {**red, "account_id": 1})
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(old.tables["redemption"].insert(), {**red, "account_id": 2})

    done = upgrade(engine)
    assert done.unversioned_tables and done.after == migrations.head()
    assert _schema_differences(engine) == []
    with Session(engine) as s:
        assert find_key(s, demo).development_only
        assert not find_key(s, ops).development_only and find_key(s, ops).lender_id is None
        s.execute(Redemption.__table__.insert(), {**red, "account_id": 2})  # now allowed
        s.commit()
        assert s.scalar(sa.select(sa.func.count()).select_from(Redemption)) == 2
    engine.dispose()


_UPGRADE = """
import sys
from ledger.db import make_engine, upgrade
engine = make_engine(sys.argv[1])
print(upgrade(engine).changed)
"""


@pytest.mark.parametrize("dump", [False, True], ids=["empty", "release_0_1_0"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_starting_together_take_turns(backend: str, dump: bool, request, tmp_path):
    """The API and the scheduler start on one database: one process upgrades, the others
    wait for it and find nothing to do."""
    if dump:
        url = _load_release_dump(backend, request, tmp_path)
    else:
        url = _empty_url(backend, request, tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE, url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["False", "False", "True"]
    engine = make_engine(url)
    assert migrations.state(engine).revision == migrations.head()
    assert _schema_differences(engine) == []
    engine.dispose()


# --- tanzhang db ---------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Settings from a clean environment: the data folder ``tmp_path/data``."""
    import os

    for name in list(os.environ):
        if name.startswith("TANZHANG_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TANZHANG_DATA_DIR", str(data))
    return data


def test_db_upgrade_and_current(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = migrations.head()
    db = env / "accounts.db"
    assert tanzhang(["db", "current"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("no database yet (`tanzhang db upgrade` creates it)")
    assert not db.exists()
    assert tanzhang(["db", "upgrade"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"sqlite:///{db.resolve()}: created at {head} (head)"]
    assert tanzhang(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"at {head} (head), nothing to do")
    assert tanzhang(["db", "current"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"sqlite:///{db.resolve()}: {head} (head)"]


def test_db_upgrade_takes_over_a_release_0_1_0_database(env: Path, capsys) -> None:
    head = migrations.head()
    con = sqlite3.connect(env / "accounts.db")
    con.executescript((DATA / "accounts_release_0_1_0.sql").read_text())
    con.close()
    assert tanzhang(["db", "current"]) == 0
    assert "no revision: tables made before migrations" in capsys.readouterr().out
    assert tanzhang(["db", "upgrade"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith(f"took over the tables made before migrations, upgraded to {head} (head)")


def test_db_errors_are_one_line(env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TANZHANG_DATA_DIR", str(env / "missing"))
    assert tanzhang(["db", "upgrade"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "does not exist" in captured.err
    assert "Traceback" not in captured.err

    # a database upgraded by a newer release: refused, not "downgraded" or overwritten
    monkeypatch.setenv("TANZHANG_DATA_DIR", str(env))
    engine = make_engine(f"sqlite:///{env / 'accounts.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    assert tanzhang(["db", "current"]) == 0
    assert "9999, unknown to this code" in capsys.readouterr().out
    assert tanzhang(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "9999" in err and "newer" in err

    # an unreachable server
    monkeypatch.setenv("TANZHANG_DATABASE_URL", "postgresql+psycopg://nobody:pw@127.0.0.1:1/x")
    assert tanzhang(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pw" not in err


def test_db_help_needs_no_database(env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TANZHANG_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert tanzhang(["db", "--help"]) == 0
    out = capsys.readouterr().out
    assert "upgrade" in out and "current" in out and "revision" in out
    assert tanzhang(["db", "upgrade", "--help"]) == 0
    assert tanzhang(["db"]) == 2  # a command is required
    assert not any(env.iterdir())


def test_db_revision_with_no_model_change_writes_nothing(env: Path, capsys) -> None:
    assert tanzhang(["db", "revision", "-m", "nothing"]) == 2
    err = capsys.readouterr().err
    assert "models match revision" in err and len(err.strip().splitlines()) == 1
    # a database given with --url is compared as it is, never upgraded for the occasion
    empty = env / "other.db"
    assert tanzhang(["db", "revision", "-m", "x", "--url", f"sqlite:///{empty}"]) == 2
    err = capsys.readouterr().err
    assert "not at the newest revision" in err and len(err.strip().splitlines()) == 1
    engine = make_engine(f"sqlite:///{empty}")
    assert migrations.state(engine).revision is None
    engine.dispose()


def test_db_revision_writes_the_change_of_a_model(env, tmp_path, monkeypatch, capsys) -> None:
    """A model change (a column added here to a copy of the metadata) becomes revision 0002
    in a copy of the migrations folder; it spells out the types, imports no model, and a
    database upgraded with it matches the changed models."""
    scripts = tmp_path / "migrations"
    shutil.copytree(
        migrations.SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__")
    )
    changed = sa.MetaData()
    for table in accounts_metadata().sorted_tables:
        table.to_metadata(changed)
    tonnes = Base.metadata.tables["posted_statement"].c.emissions_t.type  # ledger.models.Tonnes
    changed.tables["account"].append_column(sa.Column("note", tonnes, nullable=True))
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", scripts)
    monkeypatch.setattr(db_cli, "accounts_metadata", lambda: changed)

    assert tanzhang(["db", "revision", "-m", "account note"]) == 0
    out = capsys.readouterr().out
    written = scripts / "versions" / "0002_account_note.py"
    assert out.startswith(f"wrote {written}")
    source = written.read_text()
    assert "down_revision: str | Sequence[str] | None = '0001'" in source.replace('"', "'")
    assert "batch_alter_table('account'" in source.replace('"', "'")
    assert "sa.Column('note', sa.BigInteger(), nullable=True)" in source.replace('"', "'")
    assert "import ledger" not in source and "ledger.models.Tonnes(" not in source
    assert migrations.heads() == ("0002",)

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert upgrade(engine).after == "0002"
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, changed) == []
    engine.dispose()
