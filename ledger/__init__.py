"""ledger: the relational accounts database (the system of record), the closing jobs and their schedule.

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
=======
=====================  ===========================================================
module                 holds
=====================  ===========================================================
``db``                 engine (SQLite file or PostgreSQL), sessions,
                       :func:`~ledger.db.write_transaction`, :func:`~ledger.db.upgrade`
``migrations``         Alembic migrations of the accounts database (``versions/``)
``models``             tables: account, posted_statement, ledger_entry, redemption,
                       factor_set
``periods``            hour / day / month / year periods as UTC intervals
``registry_sync``      accounts for the registry's entities
``posting``            posting statements: idempotent, restatements, batches
``balances``           balance of an account at a date (and in one query)
``book``               the public face: posting, balances, statements, audit trail
``redemption``         the Changshan exchange (never overdraws, idempotent by key)
``closing``            telemetry store → accounting statements → ledger; catch-up
``scheduler``          APScheduler jobs (hourly, daily)
``cli``                ``tanzhang close``
``errors``             named errors, of the ledger and of the services
``accounts_query``     what a caller may list (a plain scope), listings, latest
                       statements (service of the API)
``label_service``      orchard labels, history, what-if (service)
``benchmark_service``  factory benchmarking (service)
``savings_service``    line savings against baselines: ``SavingsService`` (service)
``emc_service``        EMC savings in money: ``EmcService`` (service)
``factory_today``      a factory's figures today so far (service of the live page)
=====================  ===========================================================

See docs/ledger.md. ``ledger`` may import ``accounting`` (pure computation) and
``telemetry`` (the stores), never the reverse; it imports nothing from ``api``,
``access``, ``dashboards`` or ``tanzhang``.
"""
