"""HTTP routes of consent: an entity grants a lender its credit report, lists and revokes
grants, and lists every lender access (granted or refused).

Each route is for the entity's account holder, an admin or an operator (programme staff
acting on the entity's behalf); other roles get 403 ``role_not_allowed``, a key that cannot
see the entity 403 ``entity_not_allowed`` (:data:`api.deps.VisibleEntity`, as the account
routes) and lender keys 403 (``api.deps.authenticate``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from access import consent
from access.models import ReportAccess, ReportConsent
from access.roles import Principal
from api.deps import SessionDep, VisibleEntity, require_roles
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import Limit, Offset
from api.schemas import AccessList, AccessPublic, ConsentIn, ConsentList, ConsentPublic
from sitetime import clock

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS, tags=["consent"])

#: roles that manage an entity's consents and read its access log (within what they see)
CONSENT_ROLES = ("admin", "operator", "account_holder")
_Manager = Annotated[Principal, Depends(require_roles(*CONSENT_ROLES))]


def _consent_public(row: ReportConsent, names: dict[int, str], now: datetime) -> ConsentPublic:
    return ConsentPublic(
        id=row.id,
        entity_id=row.entity_id,
        lender_id=row.lender_id,
        lender=names.get(row.lender_id, ""),
        purpose=row.purpose,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        granted_at=row.granted_at,
        granted_by_key_id=row.granted_by_key_id,
        revoked_at=row.revoked_at,
        revoked_by_key_id=row.revoked_by_key_id,
        status=row.status_at(now),
    )


def _access_public(row: ReportAccess, names: dict[int, str]) -> AccessPublic:
    return AccessPublic(
        id=row.id,
        at=row.at,
        entity_id=row.entity_id,
        lender_id=row.lender_id,
        lender=names.get(row.lender_id) if row.lender_id is not None else None,
        key_id=row.key_id,
        granted=row.granted,
        consent_id=row.consent_id,
        path=row.path,
        reason=row.reason,
    )


@router.post(
    "/accounts/{entity_id}/consents",
    status_code=201,
    summary="Grant a lender the entity's credit report for a purpose and a period",
    responses=error_responses(404),
)
def create_consent(
    principal: _Manager,
    entity_id: VisibleEntity,
    body: ConsentIn,
    session: SessionDep,
) -> ConsentPublic:
    try:
        row = consent.grant(
            session,
            entity_id=entity_id,
            lender=body.lender,
            purpose=body.purpose,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            by=principal,
        )
    except consent.ConsentError as exc:
        raise ApiError(404 if exc.code == "lender_not_found" else 422, exc.code, str(exc)) from None
    return _consent_public(row, consent.lender_names(session, {row.lender_id}), clock.now())


@router.get(
    "/accounts/{entity_id}/consents",
    summary="The entity's consent grants to lenders (all, with their status now)",
    responses=error_responses(404),
)
def list_consents(_: _Manager, entity_id: VisibleEntity, session: SessionDep) -> ConsentList:
    rows = consent.consents(session, entity_id)
    names = consent.lender_names(session, {r.lender_id for r in rows})
    now = clock.now()
    return ConsentList(items=[_consent_public(r, names, now) for r in rows], total=len(rows))


async def _consent_id(consent_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> int:
    return consent_id  # a dependency, so that OpenAPI lists it after entity_id


@router.delete(
    "/accounts/{entity_id}/consents/{consent_id}",
    summary="Revoke a grant: the lender's next request is refused",
    responses=error_responses(404),
)
def revoke_consent(
    principal: _Manager,
    entity_id: VisibleEntity,
    consent_id: Annotated[int, Depends(_consent_id)],
    session: SessionDep,
) -> ConsentPublic:
    row = consent.revoke(session, entity_id, consent_id, principal)
    if row is None:
        raise ApiError(
            404, "consent_not_found", f"entity {entity_id!r} has no consent {consent_id}"
        )
    return _consent_public(row, consent.lender_names(session, {row.lender_id}), clock.now())


@router.get(
    "/accounts/{entity_id}/report-accesses",
    summary="Every lender request for the entity's credit report, granted or refused",
    responses=error_responses(404),
)
def list_report_accesses(
    _: _Manager,
    entity_id: VisibleEntity,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AccessList:
    total, rows = consent.accesses(session, entity_id, limit=limit, offset=offset)
    names = consent.lender_names(session, {r.lender_id for r in rows if r.lender_id is not None})
    return AccessList(
        items=[_access_public(r, names) for r in rows], limit=limit, offset=offset, total=total
    )
