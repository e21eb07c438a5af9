"""Signed credit reports, as a service the ``/v1`` report routes call: :class:`ReportService`.

It holds what a report needs between requests — the programme's signing key (loaded once,
on first use: :func:`reports.signing.load_signing_key`), the registry, the telemetry store
and the savings and EMC services (their cached baselines) — and builds
(:func:`reports.credit_report.build_report`), signs and verifies reports with the caller's
accounts-database session. ``tanzhang.app.create_app`` makes one per app
(``app.state.reports``).

Errors: :class:`reports.signing.SigningKeyError` when the key is missing or unreadable (the
API answers 503 ``signing_key_unavailable``), and the ledger's
:class:`~ledger.errors.UnknownAccount`.
"""

from __future__ import annotations

import threading
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from ledger.emc_service import EmcService
from ledger.savings_service import SavingsService
from reports import signing
from reports.credit_report import DEFAULT_YEARS, build_report
from reports.verify import verify_report


class ReportService:
    """Credit reports of one programme (its key, registry, store and savings services)."""

    def __init__(
        self,
        settings: Any,
        *,
        registry: Any = None,
        store: Any = None,
        savings: SavingsService | None = None,
        emc: EmcService | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.store = store
        self.savings = savings
        self.emc = emc
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    def signing_key(self) -> Ed25519PrivateKey:
        """The programme's private key, loaded once (raises
        :class:`~reports.signing.SigningKeyError` while it cannot be loaded)."""
        key = self._key
        if key is not None:
            return key
        with self._lock:
            if self._key is None:
                self._key = signing.load_signing_key(self.settings)
            return self._key

    def signed(
        self, session: Session, entity_id: str, *, years: int = DEFAULT_YEARS, lang: str = "zh"
    ) -> dict[str, Any]:
        """The signed report of ``entity_id`` over the last ``years`` whole calendar years."""
        key = self.signing_key()
        report = build_report(
            session,
            entity_id,
            registry=self.registry,
            store=self.store,
            savings=self.savings,
            emc=self.emc,
            years=years,
            lang=lang,
        )
        return signing.sign_report(report, key)

    def verify(self, session: Session | None, report: Any) -> dict[str, Any]:
        """:func:`reports.verify.verify_report` against the programme's own public key."""
        return verify_report(report, self.signing_key().public_key(), session)
