"""reports: the carbon credit report (碳征信报告) an entity shows a lender, signed and
verifiable.

===================  ===========================================================
module               holds
===================  ===========================================================
``credit_report``    the report's content, built from the ledger, the statements,
                     the savings service and the registry (figures equal the ledger's)
``signing``          canonical JSON, SHA-256 digest, Ed25519 key (load / generate in
                     development only), signature
``verify``           authenticity and restated-after-issue check (CLI and endpoint)
``page``             the printable HTML page (zh / en)
``pdf``              the PDF, printed from that page by Debian's chromium
``service``          :class:`~reports.service.ReportService`: the signing key (loaded
                     once) and the savings services; builds, signs, verifies
``cli``              ``tanzhang report verify FILE``
===================  ===========================================================

The HTTP routes are :mod:`api.routes.reports`; who may read a report is the dependency
:data:`api.routes.reports.ReportReaderDep`. ``reports`` may import ``ledger``,
``accounting``, ``access`` and ``telemetry``, never ``api``; nothing imports it but ``api``,
the composition root and the CLI.
"""
