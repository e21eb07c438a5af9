"""The one error type routes raise: an HTTP status, a machine-readable code and a message.

``install(app)`` (called by ``tanzhang.app``) turns it, request validation problems and
the services' named errors into ``{"error": {"code": ..., "message": ...}}``: the errors of
:data:`DOMAIN_ERRORS` by class, and every :class:`telemetry.errors.ServiceError` (the base
of the ledger's and telemetry's service errors) by its ``kind`` (:data:`SERVICE_STATUS`)
with its own ``code``, ``message`` and ``details``.
Services never raise :class:`ApiError`; routes and dependencies do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import errors as acc
from reports.pdf import PdfUnavailable
from reports.signing import SigningKeyError
from sitetime.calendar import InvalidPeriodError
from telemetry.errors import ServiceError
from telemetry.store import StoreError, StoreUnavailable

log = logging.getLogger("tanzhang.api")


class ApiError(Exception):
    """An error answer: ``status`` (4xx), ``code`` (snake_case, stable) and ``message``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(
        404, f"{what}_not_found", f"{what} {ident!r} does not exist or is not visible to this key"
    )


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. `entity_not_allowed`")
    message: str = Field(description="what went wrong and what to do about it")
    details: Any | None = Field(None, description="per-field problems, when there are several")


class ErrorPublic(BaseModel):
    """The body of every 4xx (and 5xx) answer."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses (all share :class:`ErrorPublic`)."""
    text = {
        400: "Bad request",
        401: "Missing, unknown or revoked API key",
        403: "The key's role or entities do not allow this request",
        404: "Not found, or not visible to this key",
        409: "Conflict with the current state (balance, idempotency key)",
        422: "Invalid parameters or body",
        503: "A backing service (store, broker) is unavailable",
    }
    return {s: {"model": ErrorPublic, "description": text.get(s, "Error")} for s in statuses}


#: what every authenticated route can answer besides its success
AUTH_ERRORS = error_responses(401, 403, 422)


#: errors of the services and what the API answers for each (status, code); the most
#: specific first (Starlette picks the handler of the nearest class in the exception's MRO)
DOMAIN_ERRORS: list[tuple[type[Exception], int, str]] = [
    (acc.UnknownAccount, 404, "account_not_found"),
    (acc.InsufficientBalance, 409, "insufficient_balance"),
    (acc.IdempotencyConflict, 409, "idempotency_conflict"),
    (acc.InvalidPeriod, 422, "invalid_period"),
    (InvalidPeriodError, 422, "invalid_period"),
    (acc.InvalidAmount, 422, "invalid_amount"),
    (acc.InvalidStatement, 422, "invalid_statement"),
    (acc.AccountsError, 400, "accounts_error"),
    (SigningKeyError, 503, "signing_key_unavailable"),
    (PdfUnavailable, 503, "pdf_unavailable"),
]

#: HTTP status of each kind of :class:`telemetry.errors.ServiceError`
SERVICE_STATUS: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "unavailable": 503,
}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def error_json(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = body.pop("headers", None)
    return JSONResponse({"error": jsonable_encoder(body)}, status_code=status, headers=headers)


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_json(
            exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return error_json(422, "invalid_request", _validation_message(errors), details=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allow = _allowed_methods(request, (exc.headers or {}).get("Allow"))
            return error_json(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {', '.join(allow)}",
                headers={"Allow": ", ".join(allow)},
            )
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            return error_json(422, "invalid_json", "the request body is not valid JSON")
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route: see /docs for the routes of this API"
        return error_json(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        # any route whose service reads the telemetry store (records, savings, the live
        # factory page): a store that is down is a 503 that says so, never a 500
        if isinstance(exc, StoreUnavailable):
            return error_json(
                503, "store_unavailable", f"the telemetry store is unavailable: {exc}"
            )
        return error_json(503, "store_error", f"the telemetry store failed: {exc}")

    for exc_type, status, code in DOMAIN_ERRORS:
        app.add_exception_handler(exc_type, _fixed(status, code))

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return error_json(
            SERVICE_STATUS.get(exc.kind, 400), exc.code, exc.message, details=exc.details
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, "internal_error", "an unexpected error; it was logged")


def _allowed_methods(request: Request, fallback: str | None) -> list[str]:
    """Every method the OpenAPI schema documents for this path (Starlette's own ``Allow``
    lists only the first matching route's); ``fallback`` for undocumented paths."""
    table = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for template, ops in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{pattern}$"), sorted(m.upper() for m in ops)))
        request.app.state.allow_table = table
    for regex, methods in table:
        if regex.match(request.url.path):
            return methods
    return [m.strip() for m in (fallback or "").split(",") if m.strip()]


def _fixed(status: int, code: str) -> Callable[[Request, Exception], Any]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return error_json(status, code, str(exc))

    return handler
