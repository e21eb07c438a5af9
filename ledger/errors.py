"""Named errors of the accounts database and of the services built on it.

Every error carries a message a person can act on: what was asked, what was found, and what
to do next. The ledger's own derive from :class:`AccountsError`, so an API layer can map the
family to HTTP answers (``UnknownAccount`` → 404, ``InsufficientBalance`` /
``IdempotencyConflict`` → 409, ``InvalidStatement`` / ``InvalidPeriod`` → 422). The services
(labels, savings, EMC, …) raise :class:`ServiceError` subclasses, each with a ``kind``
(``not_found``, ``conflict``, ``invalid``, ``unavailable``) that the API maps to a status and
a stable ``code`` it answers with (``api.errors``).
"""

from __future__ import annotations

from sitetime.calendar import InvalidPeriodError
from telemetry.errors import SERVICE_ERROR_KINDS as SERVICE_ERROR_KINDS
from telemetry.errors import ServiceError as ServiceError


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


# -- answers of the services -----------------------------------------------------------------
# The one base of every service's named errors (ServiceError, SERVICE_ERROR_KINDS) lives in
# the lowest service layer, telemetry.errors; imported above and re-exported for the ledger's.


class UnknownEntity(ServiceError):
    """The entity is not in the registry (or is not what the service needs)."""

    kind, code = "not_found", "entity_not_found"


class NoStatement(ServiceError):
    """No statement of the period kind has been closed for the account."""

    kind, code = "not_found", "no_statement"


class NotLabelable(ServiceError):
    """A posted statement that the accounting engine did not compute (no breakdown)."""

    kind, code = "conflict", "statement_not_labelable"


class FactorSetUnavailable(ServiceError):
    """The factor set a statement names cannot be loaded."""

    kind, code = "conflict", "factor_set_unavailable"


class DataUnavailable(ServiceError):
    """The telemetry store cannot be read."""

    kind, code = "unavailable", "store_unavailable"


class BaselineUnavailable(ServiceError):
    """A line has no usable savings baseline; ``code`` says why: ``no_baseline_period``,
    ``insufficient_baseline_data`` or ``baseline_model_not_qualified``."""

    kind, code = "conflict", "baseline_unavailable"


class NoEmcContract(ServiceError):
    """The line has no energy-management contract in the registry."""

    kind, code = "not_found", "no_emc_contract"


class EmcUnavailable(ServiceError):
    """An EMC contract that cannot be valued (yet); ``code`` says why:
    ``invalid_emc_contract``, ``emc_not_started`` or ``no_emc_savings_yet``."""

    kind, code = "conflict", "emc_unavailable"
