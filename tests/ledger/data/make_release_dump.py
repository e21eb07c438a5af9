"""Fill an accounts database with the code of release 0.1.0 (commit b89bb27), for the dumps
``accounts_release_0_1_0.sql`` (SQLite) and ``accounts_release_0_1_0.pg.sql`` (PostgreSQL)
that tests/ledger/test_migrations.py upgrades.

Run it with that release's code on the path, not this checkout's (the package was called
``accounts`` then)::

    mkdir /tmp/prev && git archive b89bb27 | tar -x -C /tmp/prev
    PYTHONPATH=/tmp/prev python tests/ledger/data/make_release_dump.py sqlite:////tmp/a.db
    PYTHONPATH=/tmp/prev python tests/ledger/data/make_release_dump.py \
        postgresql+psycopg://postgres@127.0.0.1:PORT/prev

then dump the SQLite file with ``sqlite3.Connection.iterdump`` and the PostgreSQL database
with ``pg_dump --no-owner --no-privileges``. The clock is fixed and the keys are the ones
below, so the content does not depend on when it was made.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

#: the operator key stored in the dump (a test key, in no real database)
OPERATOR_KEY = "tzk_0a1b2c3d_release-0-1-0-operator-key-for-migration-tests"
#: the key of the lender "Changshan Rural Bank"
LENDER_KEY = "tzk_4e5f6a7b_release-0-1-0-lender-key-for-migration-tests-x"
LENDER = "Changshan Rural Bank"
NOW = datetime(2025, 11, 5, 8, 0, tzinfo=UTC)
ENTITIES = [
    {"id": "factory-a", "kind": "factory", "name": "Factory A"},
    {"id": "line-a1", "kind": "line", "parent": "factory-a"},
    {"id": "orchard-1", "kind": "orchard", "name": "胡柚园 1"},
]
FACTOR_SET = {
    "name": "cn-grid-2023",
    "version": "1",
    "digest": "9" * 64,
    "sources": [{"title": "MEE 2023 grid emission factor", "value": 0.5703}],
}


def main(url: str) -> None:
    from accounts.db import create_schema, make_engine, make_session_factory
    from accounts.periods import Period
    from accounts.posting import post_statement
    from accounts.redemption import redeem
    from accounts.registry_sync import ensure_accounts

    import access.keys
    from access.consent import grant, lender_may_read
    from access.keys import create_key, principal_of, register_key
    from access.models import create_schema as create_access_schema
    from sitetime.clock import FixedClock, use_clock

    day = Period(datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 11, 2, tzinfo=UTC), "day")
    engine = make_engine(url)
    create_schema(engine)
    create_access_schema(engine)
    with use_clock(FixedClock(NOW)), make_session_factory(engine)() as s:
        ensure_accounts(s, ENTITIES)
        post_statement(
            s, "orchard-1", day, {"emissions_t": 0.5, "removals_t": 5.25,
                                  "factor_set": FACTOR_SET}, reason="scheduled close",
        )  # fmt: skip
        # a restatement: the first version's entries are reversed, the new ones posted
        post_statement(
            s, "orchard-1", day, {"emissions_t": 0.5, "removals_t": 6.0,
                                  "factor_set": FACTOR_SET}, reason="late reading",
        )  # fmt: skip
        post_statement(s, "line-a1", day, {"emissions_t": 3.2, "removals_t": 0.0}, reason="close")
        redeem(s, "orchard-1", 1.5, key="voucher-1", reference="depot 7")
        operator = register_key(s, OPERATOR_KEY, role="operator", name="ops")
        access.keys.generate_key = lambda: (LENDER_KEY, LENDER_KEY.split("_")[1])
        lender_row, _ = create_key(s, role="lender", name=LENDER)
        grant(
            s,
            entity_id="orchard-1",
            lender=LENDER,
            purpose="working-capital loan review",
            valid_from=None,
            valid_until=datetime(2026, 11, 5, tzinfo=UTC),
            by=principal_of(operator),
        )
        lender_may_read(s, principal_of(lender_row), "orchard-1", "/v1/reports/orchard-1")
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
