"""The one error type routes raise: an HTTP status, a machine-readable code and a message.

``tanzhang.app`` turns it into ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
