"""Named errors of the accounts database.

Every error carries a message a person can act on: what was asked, what was found, and what
to do next. All derive from :class:`AccountsError`, so an API layer can map the family to
HTTP answers (``UnknownAccount`` → 404, ``InsufficientBalance`` / ``IdempotencyConflict`` →
409, ``InvalidStatement`` / ``InvalidPeriod`` → 422).
"""

from __future__ import annotations

from sitetime.calendar import InvalidPeriodError


class AccountsError(Exception):
    """Base class of every error raised by :mod:`accounts`."""


class UnknownAccount(AccountsError, LookupError):
    """No account exists for the entity id."""

    def __init__(self, entity_id: str) -> None:
        self.entity_id = entity_id
        super().__init__(
            f"no account for entity {entity_id!r}: add the entity to the registry and run "
            "ensure_accounts() (the scheduler does this at start), or check the spelling"
        )


class InsufficientBalance(AccountsError):
    """A redemption asked for more than the account has available."""

    def __init__(self, entity_id: str, requested_t: float, available_t: float) -> None:
        self.entity_id = entity_id
        self.requested_t = requested_t
        self.available_t = available_t
        super().__init__(
            f"entity {entity_id!r} cannot redeem {requested_t:.6f} t CO2e: only "
            f"{available_t:.6f} t CO2e of net fixed carbon is available; redeem at most that "
            "amount, or wait until further periods are closed"
        )


class IdempotencyConflict(AccountsError):
    """An idempotency key was reused for a different request."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        super().__init__(
            f"idempotency key {key!r} was already used for a different redemption ({detail}); "
            "use a new key for a new request, or resend the original request unchanged"
        )


class InvalidStatement(AccountsError, ValueError):
    """A statement to post lacks a figure, or a figure is not a finite number."""


class InvalidPeriod(AccountsError, InvalidPeriodError):
    """A period kind or boundary is not one the ledger knows."""


class InvalidAmount(AccountsError, ValueError):
    """An amount is not a positive finite number of tonnes."""


class InvalidEntity(AccountsError, ValueError):
    """An entity handed to ``ensure_accounts`` lacks an id or kind, or names an unknown parent."""


def database_problem(url: str, exc: BaseException) -> str:
    """One line on why the accounts database at ``url`` cannot be used, its password masked:
    the driver's own first line (``connection refused``, ``password authentication failed``)
    without SQLAlchemy's statement and background link."""
    from telemetry.redact import redact_url

    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"cannot open the accounts database {redact_url(url)}: {reason[0] if reason else exc!r}"
