"""Build the benchmark's data: a registry of 10,000 entities, their accounts with a year of
monthly statements, and API keys (one admin, 200 account holders).

``python -m bench.api.setup_db DATA_DIR [--accounts N] [--months M]``; idempotent (a
finished build leaves ``keys.json`` and is reused).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from access.keys import create_key
from ledger.book import ensure_accounts
from ledger.db import make_engine, upgrade
from ledger.periods import Period
from ledger.posting import post_statements
from telemetry.registry import Entity, Registry

FACTOR_SET = {"name": "cn-mee-2023", "version": "1.0.0"}


def entity_ids(n: int) -> list[str]:
    """1 factory in 10, the rest orchards: ``factory-00000``, ``orchard-00001``, ..."""
    return [f"{'factory' if i % 10 == 0 else 'orchard'}-{i:05d}" for i in range(n)]


def build(data_dir: Path, *, n_accounts: int = 10_000, months: int = 12) -> dict:
    """Create everything under ``data_dir``; return the keys document."""
    keys_path = data_dir / "keys.json"
    if keys_path.exists():
        return json.loads(keys_path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    ids = entity_ids(n_accounts)
    registry = Registry(
        [
            Entity(e, "factory")
            if e.startswith("factory")
            else Entity(e, "orchard", attrs={"area_mu": 50.0, "county": "changshan"})
            for e in ids
        ]
    )
    registry.save(data_dir / "registry.toml")
    engine = make_engine(f"sqlite:///{data_dir / 'accounts.sqlite3'}")
    upgrade(engine)
    t0 = time.perf_counter()
    with Session(engine) as session:
        ensure_accounts(session, registry.entities.values(), booking_period="month")
        periods = [
            Period.containing("month", datetime(2025, m + 1, 1, tzinfo=UTC)) for m in range(months)
        ]
        batch = []
        for i, eid in enumerate(ids):
            for m, p in enumerate(periods):
                emis = 1.0 + (i % 7) * 0.1 + m * 0.01
                rem = 1.5 if eid.startswith("orchard") else 0.0
                batch.append(
                    (eid, p, {"emissions_t": emis, "removals_t": rem, "factor_set": FACTOR_SET})
                )
            if len(batch) >= 6000:
                post_statements(session, batch, reason="benchmark")
                batch = []
        if batch:
            post_statements(session, batch, reason="benchmark")
        admin = create_key(session, role="admin", name="bench")[1]
        holders = {}
        for eid in ids[1 : 1 + 200 * 10 : 10][:200]:
            holders[eid] = create_key(session, role="account_holder", entities=[eid])[1]
    engine.dispose()
    doc = {
        "admin": admin,
        "holders": holders,
        "entities": ids,
        "months": months,
        "build_s": round(time.perf_counter() - t0, 1),
    }
    keys_path.write_text(json.dumps(doc))
    return doc


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data_dir", type=Path)
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--months", type=int, default=12)
    a = p.parse_args()
    doc = build(a.data_dir, n_accounts=a.accounts, months=a.months)
    print(f"built {len(doc['entities'])} accounts in {doc['build_s']} s")


if __name__ == "__main__":
    main()
