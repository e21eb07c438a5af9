"""HTTP routes of the carbon credit report: JSON, printable page, PDF, public key, verify.

Who may read an entity's report is one dependency, :data:`ReportReaderDep`
(:func:`report_reader`): the admin, the operator and the entity's own account holder (as the
other account routes, :func:`api.deps.ensure_visible`), and a ``lender`` key only with a
valid consent of that entity at the current time, read from the database on every request
and logged granted or refused (:mod:`access.consent`; grants: :mod:`api.routes.consent`).
``/v1/reports/public-key`` and ``/v1/reports/verify`` are public: a lender needs no key.
The reports are built, signed and verified by :class:`reports.service.ReportService`
(:data:`api.deps.ReportsDep`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from access import consent
from access.roles import Principal
from api.deps import (
    LookupDep,
    ReportsDep,
    SessionDep,
    authenticate_lender_too,
    ensure_visible,
)
from api.errors import AUTH_ERRORS, ApiError, error_responses
from api.params import EntityId
from reports import signing
from reports.credit_report import DEFAULT_YEARS, MAX_YEARS
from reports.page import HEADERS, render_page
from reports.pdf import html_to_pdf

router = APIRouter(prefix="/v1", responses=AUTH_ERRORS)

#: roles that may read a report of an entity they can see (and ``lender``, by consent)
READER_ROLES = ("admin", "operator", "account_holder")


def _lender_check(request: Request, principal: Principal, entity_id: str) -> str:
    with request.app.state.sessions() as session:
        _, reason = consent.lender_may_read(session, principal, entity_id, request.url.path)
    return reason


async def report_reader(
    entity_id: EntityId,
    request: Request,
    principal: Annotated[Principal, Depends(authenticate_lender_too)],
    lookup: LookupDep,
) -> Principal:
    """The caller, if it may read ``entity_id``'s credit report (403 otherwise).

    A lender key needs a consent of ``entity_id`` valid now; the database is asked on each
    request (a revocation works at once) and the attempt is logged. A lender is told 403
    for an unknown entity too, so that it cannot probe which entities exist.
    """
    if principal.is_lender:
        reason = await run_in_threadpool(_lender_check, request, principal, entity_id)
        if reason:
            raise ApiError(
                403,
                "consent_required",
                f"{principal.describe()} may not read the credit report of {entity_id!r}: "
                f"{reason.replace('_', ' ')} (the entity grants its lender access)",
            )
        return principal
    if principal.role not in READER_ROLES:
        raise ApiError(
            403,
            "role_not_allowed",
            f"credit reports are read by {', '.join(READER_ROLES)}; "
            f"{principal.describe()} may not read one",
        )
    # the lookup may read the accounts database: not on the event loop
    await run_in_threadpool(ensure_visible, principal, entity_id, lookup)
    return principal


ReportReaderDep = Annotated[Principal, Depends(report_reader)]
Years = Annotated[
    int, Query(ge=1, le=MAX_YEARS, description="whole calendar years before this one")
]
Lang = Annotated[Literal["zh", "en"], Query(description="language of the page")]


#: :class:`reports.signing.SigningKeyError` and :class:`reports.pdf.PdfUnavailable` are
#: answered 503 ``signing_key_unavailable`` / ``pdf_unavailable`` (``api.errors.DOMAIN_ERRORS``)
_503: dict[int | str, dict[str, Any]] = {
    503: {"description": "the signing key or the PDF printer is unavailable (reason given)"}
}


@router.get(
    "/accounts/{entity_id}/credit-report",
    tags=["reports"],
    summary="Carbon credit report (碳征信报告), signed: figures, rating, data quality, methods",
    responses={**error_responses(404), **_503},
)
def credit_report(
    entity_id: EntityId, _: ReportReaderDep, reports: ReportsDep, session: SessionDep,
    years: Years = DEFAULT_YEARS, lang: Lang = "zh",
) -> Any:  # fmt: skip
    return reports.signed(session, entity_id, years=years, lang=lang)


@router.get(
    "/accounts/{entity_id}/credit-report.html",
    tags=["reports"],
    summary="Carbon credit report as a printable page (zh / en)",
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "a page"},
        **error_responses(404),
        **_503,
    },
)
def credit_report_page(
    entity_id: EntityId, _: ReportReaderDep, reports: ReportsDep, session: SessionDep,
    years: Years = DEFAULT_YEARS, lang: Lang = "zh",
) -> Response:  # fmt: skip
    report = reports.signed(session, entity_id, years=years, lang=lang)
    return HTMLResponse(render_page(report, lang), headers=HEADERS)


@router.get(
    "/accounts/{entity_id}/credit-report.pdf",
    tags=["reports"],
    summary="Carbon credit report as PDF (printed from the page by chromium)",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "a PDF"},
        **error_responses(404),
        **_503,
    },  # fmt: skip
)
def credit_report_pdf(
    entity_id: EntityId, _: ReportReaderDep, reports: ReportsDep, session: SessionDep,
    years: Years = DEFAULT_YEARS, lang: Lang = "zh",
) -> Response:  # fmt: skip
    report = reports.signed(session, entity_id, years=years, lang=lang)
    pdf = html_to_pdf(render_page(report, lang))
    digest = report["verification"]["digest"]
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{entity_id}-credit-report.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Report-Digest": digest,
        },
    )


@router.get(
    "/reports/public-key",
    tags=["reports"],
    summary="The programme's Ed25519 public key that signs credit reports (public)",
    responses=_503,
)
def public_key(reports: ReportsDep) -> Any:
    pub = reports.signing_key().public_key()
    return {
        "algorithm": signing.ALGORITHM,
        "key_id": signing.key_id(pub),
        "public_key": signing.public_key_b64(pub),
        "pem": signing.public_key_pem(pub),
    }


@router.post(
    "/reports/verify",
    tags=["reports"],
    summary="Verify a credit report: authentic, and restated after it was issued? (public)",
    responses=_503,
)
def verify(
    reports: ReportsDep, session: SessionDep, report: Annotated[dict[str, Any], Body()]
) -> Any:
    return reports.verify(session, report)
