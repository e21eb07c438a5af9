"""Consent grants to lenders, and the log of lenders' report accesses.

An entity (its account holder, or an admin or operator on its behalf) grants a named lender
access to its credit report for a purpose and a period; every key of that lender then reads
the report while the grant is valid (``valid_from <= now < valid_until``, not revoked).
:func:`lender_may_read` decides it from the database on every request (no cache: a
revocation stops access at the next request) and logs the attempt, granted or refused, in
``report_access``, which the entity lists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from access.models import Lender, ReportAccess, ReportConsent
from access.roles import Principal
from sitetime import clock


class ConsentError(ValueError):
    """A grant that cannot be made as asked; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def find_lender(session: Session, name: str) -> Lender | None:
    return session.scalars(select(Lender).where(Lender.name == name.strip())).first()


def grant(
    session: Session,
    *,
    entity_id: str,
    lender: str,
    purpose: str,
    valid_from: datetime | None,
    valid_until: datetime,
    by: Principal,
) -> ReportConsent:
    """Store a grant of ``entity_id``'s report to the lender named ``lender`` (committed)."""
    now = clock.now()
    row = find_lender(session, lender)
    if row is None:
        raise ConsentError(
            "lender_not_found",
            f"no lender is called {lender!r}: an admin makes its key with "
            f'`tanzhang keys create --role lender --name "<lender>"`',
        )
    purpose = purpose.strip()
    if not purpose:
        raise ConsentError("purpose_required", "say what the lender may read the report for")
    start = valid_from or now
    if valid_until <= start:
        raise ConsentError("invalid_period", "valid_until must be after valid_from")
    if valid_until <= now:
        raise ConsentError("invalid_period", "valid_until is in the past")
    consent = ReportConsent(
        entity_id=entity_id,
        lender_id=row.id,
        purpose=purpose,
        valid_from=start,
        valid_until=valid_until,
        granted_at=now,
        granted_by_key_id=by.key_id,
    )
    session.add(consent)
    session.commit()
    return consent


def consents(session: Session, entity_id: str) -> list[ReportConsent]:
    stmt = select(ReportConsent).where(ReportConsent.entity_id == entity_id)
    return list(session.scalars(stmt.order_by(ReportConsent.id)))


def revoke(
    session: Session, entity_id: str, consent_id: int, by: Principal
) -> ReportConsent | None:
    """Revoke a grant of ``entity_id`` now (idempotent: keeps the first revocation); None
    when the entity has no such grant."""
    row = session.get(ReportConsent, consent_id)
    if row is None or row.entity_id != entity_id:
        return None
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        row.revoked_by_key_id = by.key_id
        session.commit()
    return row


def lender_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Lender.id, Lender.name).where(Lender.id.in_(sorted(ids))))
    return {i: n for i, n in rows}


def lender_may_read(
    session: Session, principal: Principal, entity_id: str, path: str
) -> tuple[ReportConsent | None, str]:
    """The valid grant that lets lender key ``principal`` read ``entity_id``'s report now,
    and "" — or None and the reason it may not; the attempt is logged either way."""
    now = clock.now()
    found: ReportConsent | None = None
    reason = "no_consent"
    if principal.lender_id is None:
        reason = "key_has_no_lender"
    else:
        stmt = select(ReportConsent).where(
            ReportConsent.entity_id == entity_id,
            ReportConsent.lender_id == principal.lender_id,
        )
        grants = list(session.scalars(stmt.order_by(ReportConsent.valid_until.desc())))
        found = next((g for g in grants if g.valid_at(now)), None)
        if found is None and grants:
            states = {g.status_at(now) for g in grants}
            for state, why in (
                ("not_yet_valid", "consent_not_yet_valid"),
                ("expired", "consent_expired"),
                ("revoked", "consent_revoked"),
            ):
                if state in states:
                    reason = why
    session.add(
        ReportAccess(
            at=now,
            entity_id=entity_id,
            lender_id=principal.lender_id,
            key_id=principal.key_id,
            granted=found is not None,
            consent_id=found.id if found else None,
            path=path[:300],
            reason="" if found else reason,
        )
    )
    session.commit()
    return found, ("" if found else reason)


def accesses(
    session: Session, entity_id: str, *, limit: int, offset: int = 0
) -> tuple[int, list[ReportAccess]]:
    """Lender accesses to ``entity_id``'s report, newest first, and how many there are."""
    where = ReportAccess.entity_id == entity_id
    total = session.scalar(select(func.count()).select_from(ReportAccess).where(where)) or 0
    stmt = select(ReportAccess).where(where).order_by(ReportAccess.id.desc())
    return total, list(session.scalars(stmt.limit(limit).offset(offset)))
