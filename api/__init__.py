"""api: the one HTTP layer of tanzhang (FastAPI).

=================  ================================================================
module             holds
=================  ================================================================
``deps``           dependencies: the caller's key and role, what it may list
                   (``ScopeDep``), the entity of the path it may see (``VisibleEntity``,
                   ``VisibleAccount``, ``VisibleOrchard``, ``VisibleLine``), sessions,
                   store, registry, the service objects (``SavingsDep``, ``EmcDep``,
                   ``ReportsDep``)
``errors``         :class:`~api.errors.ApiError`, the error body, the mapping of the
                   services' named errors to HTTP answers (``DOMAIN_ERRORS``,
                   ``SERVICE_STATUS``)
``params``         query parameters (dates, windows, limits, ids)
``schemas``        request and response models (pydantic)
``ops``            health, gateway health and Prometheus metrics
``routes/``        one router per concern; each parses, authorises, calls one service
                   and shapes the answer
=================  ================================================================

``api`` may import the services (``ledger``, ``reports``, ``access``, ``telemetry``,
``accounting``); nothing below it imports ``api``. ``tanzhang.app`` lists the routers.
"""
