"""ledger: the relational accounts database (the system of record), the closing jobs and their schedule.

===================  ===========================================================
module               holds
===================  ===========================================================
``db``               engine (SQLite file or PostgreSQL), sessions,
                     :func:`~ledger.db.write_transaction`, :func:`~ledger.db.upgrade`
``migrations``       Alembic migrations of the accounts database (``versions/``)
``models``           tables: account, posted_statement, ledger_entry, redemption,
                     factor_set
``periods``          hour / day / month / year periods as UTC intervals
``registry_sync``    accounts for the registry's entities
``posting``          posting statements: idempotent, restatements, batches
``balances``         balance of an account at a date
``ledger``           the public face: posting, balances, statements, audit trail
``redemption``       the Changshan exchange (never overdraws, idempotent by key)
``closing``          telemetry store → accounting statements → ledger; catch-up
``scheduler``        APScheduler jobs (hourly, daily)
``cli``              ``tanzhang close``
``errors``           named errors
===================  ===========================================================

See docs/ledger.md. ``ledger`` may import ``accounting`` (pure computation) and
``telemetry`` (the stores), never the reverse.
"""
